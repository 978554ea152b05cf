"""The SAP Business One preset (`type: sap_b1`) against a local Service Layer: the conformance suite,
and its own checks on SAP's shapes — the session cookie without a Path and a new login on 401 code
301, OData v3 and v4 envelopes, UpdateDate (a date) with or without UpdateTime, the composite document
status, deliveries and invoices attached through their lines' BaseEntry."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from connectors.conformance import (
    MYSTERY,
    PICKING,
    SHANGHAI,
    SHIPPED,
    START,
    ApiSource,
    ApiSuite,
    Order,
    StartServer,
)
from connectors.presets.docs_pages import page_configuration
from connectors.presets.sap_b1_server import COMPANY, PASSWORD, USER, ServiceLayer, error
from live_http import Seen

from orderbridge.connectors import registry
from orderbridge.connectors.base import Batch, SourceError
from orderbridge.connectors.presets.sap_b1.settings import SapB1Settings
from orderbridge.mapping.model import UNMAPPED, Dimension
from orderbridge.mapping.status import map_statuses

FIXTURES = Path(__file__).parents[2] / "fixtures" / "sapb1"
CREDENTIALS = {"company_db": COMPANY, "username": USER, "password": PASSWORD}
# PICKING: an open order; SHIPPED: a closed one; MYSTERY: a status SAP does not have.
STATES = {PICKING: "bost_Open", SHIPPED: "bost_Close", MYSTERY: "bost_Paused"}


def document(entry: int, number: Any, state: str, when: str, **more: Any) -> dict[str, Any]:
    day, _, time = when.partition(" ")
    return {
        "odata.etag": f'W/"{entry:040X}"',
        "DocEntry": entry,
        "DocNum": number,
        "NumAtCard": None,
        "CardCode": "C20000",
        "DocTotal": 1180.5,
        "DocCurrency": "CNY",
        "DocumentStatus": state,
        "Cancelled": "tNO",
        "UpdateDate": day,
        "UpdateTime": time,
        **more,
    }


class SapB1Source(ApiSource):
    connector_type = "sap_b1"
    minimal: ClassVar[dict[str, Any]] = {
        "type": "sap_b1",
        "base_url": "https://b1.example.com:50000/b1s/v1",
        **CREDENTIALS,
    }
    misspelled = ("page_sise", "page_size")
    expected: ClassVar[dict[str, str]] = {PICKING: "approved", SHIPPED: "closed"}
    bad_reason = "UpdateTime"
    vendor_error_text = "Invalid filter"
    rereads_at_cursor = True  # UpdateTime ge: the saved second is asked again

    def __init__(self, server: StartServer) -> None:
        self.layer = ServiceLayer()
        super().__init__(server)

    def block(self) -> dict[str, Any]:
        return {**self.minimal, "base_url": f"{self.url}/b1s/v1", "timezone": "Asia/Shanghai", "page_size": 2}

    def publish(self, new: list[Order]) -> None:
        for order in new:
            local = order.updated.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
            entry = int(order.number.removeprefix("SO-"))
            made = document(entry, order.number, STATES[order.status], local)
            if order.bad:
                made["UpdateTime"] = "25:61:00"
            self.layer.add("Orders", made)

    def listing(self, seen: Seen) -> bool:
        return not seen.path.endswith("/Login")

    def answer(self, seen: Seen) -> tuple[Any, ...]:
        return self.layer.handle(seen)

    def vendor_error(self) -> tuple[Any, ...]:
        return (400, error(-1000, "Invalid filter: UpdateDate ge '2026-11-20'"))


class TestSapB1Conformance(ApiSuite):
    source_class = SapB1Source


# --- its own shapes ----------------------------------------------------------------------------------


@pytest.fixture
def sap(live_server: StartServer) -> Iterator[SapB1Source]:
    yield SapB1Source(live_server)


def settings(**more: Any) -> SapB1Settings:
    return SapB1Settings.model_validate({**SapB1Source.minimal, **more})


def poll(source: SapB1Source, cursor: dict[str, Any] | None = None, **more: Any) -> list[Batch]:
    connector = registry.create("erp", SapB1Settings.model_validate({**source.block(), **more}))
    try:
        return list(connector.poll(cursor, threading.Event()))
    finally:
        connector.close()


def recorded(name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))["value"]
    return found


def test_document_status_is_cancelled_first_then_closed_or_open() -> None:
    """A cancelled order is closed too: Cancelled tYES is cancelled whatever DocumentStatus says; then
    bost_Close is closed, bost_Open approved; anything else unmapped with both fields shown."""
    tables = settings().status
    orders = {o["DocNum"]: o for o in recorded("orders-v1-1.json") + recorded("orders-v1-2.json")}
    found = {n: map_statuses(tables, o)[Dimension.fulfillment].status for n, o in orders.items()}
    assert found == {1412: "approved", 1415: "cancelled", 1409: "closed"}
    odd = map_statuses(tables, {"DocumentStatus": "bost_Delivered", "Cancelled": "tNO"})[
        Dimension.fulfillment
    ]
    assert odd.status == UNMAPPED and odd.native == "Cancelled=tNO, DocumentStatus=bost_Delivered"


def test_recorded_orders_read_with_numbers_as_numbers_and_null_references(sap: SapB1Source) -> None:
    """The recorded v1 page: DocNum and DocEntry are JSON numbers, NumAtCard null is no reference, the
    change time is UpdateDate's date at UpdateTime in the server's zone."""
    for order in recorded("orders-v1-1.json") + recorded("orders-v1-2.json"):
        sap.layer.add("Orders", order)
    found = {r.order_ref: r for b in poll(sap, children=[]) for r in b.records}
    assert set(found) == {"1412", "1415", "1409"}
    assert found["1412"].external_ref == "PO-55" and found["1415"].external_ref is None
    assert found["1412"].record_id == "412" and str(found["1412"].amounts.order) == "1180.5"
    assert found["1412"].status_at is not None
    assert found["1412"].status_at.isoformat() == "2024-05-02T14:35:10+08:00"


def test_the_session_is_logged_in_again_when_it_times_out(sap: SapB1Source) -> None:
    """B1SESSION (set without a Path) and ROUTEID go back on every request; when the session has timed
    out (401, code 301) the preset logs in again and the request is repeated."""
    sap.publish([Order("SO-1", PICKING, START, 1)])
    poll(sap, children=[])
    sap.layer.time_out()
    batches = poll(sap, children=[])
    assert [r.order_ref for b in batches for r in b.records] == ["SO-1"]
    assert sap.layer.logins == 2
    cookies = [s.headers.get("cookie", "") for s in sap.server.seen if s.path.endswith("/Orders")]
    assert all(c.startswith("B1SESSION=") and "ROUTEID=.node1" in c for c in cookies)


def test_a_wrong_password_fails_naming_the_login_without_it(sap: SapB1Source) -> None:
    """SAP's refusal of the login fails the poll at once with its message, never the password."""
    with pytest.raises(SourceError) as failure:
        poll(sap, password="wrong-b1-password")
    message = str(failure.value)
    assert "login" in message and "Fail to get DB Credentials" in message
    assert "wrong-b1-password" not in message and PASSWORD not in message


def test_without_update_time_the_filter_is_by_date_a_day_back(sap: SapB1Source) -> None:
    """`time_field: null` (a Service Layer without UpdateTime): the filter is `UpdateDate ge`, one day
    before the saved date, and change times are dates."""
    for entry, day in ((1, "2024-05-01"), (2, "2024-05-03")):
        made = document(entry, entry, "bost_Open", f"{day} 00:00:00")
        del made["UpdateTime"]
        sap.layer.add("Orders", made)
    first = poll(sap, children=[], time_field=None)
    cursor = first[-1].cursor
    assert cursor is not None
    poll(sap, cursor, children=[], time_field=None)
    asked = [q["$filter"] for name, q in sap.layer.asked if name == "Orders"]
    assert asked[0] == "UpdateDate ge '1970-01-01'" and asked[-1] == "UpdateDate ge '2024-05-02'"
    assert all("UpdateTime" not in q.get("$select", "") for _, q in sap.layer.asked)


def test_with_update_time_the_filter_asks_from_date_and_time(sap: SapB1Source) -> None:
    """With UpdateTime the filter asks from the saved date and time, five minutes back."""
    sap.layer.add("Orders", document(1, 1, "bost_Open", "2024-05-02 14:35:10"))
    cursor = poll(sap, children=[])[-1].cursor
    poll(sap, cursor, children=[])
    last = [q["$filter"] for name, q in sap.layer.asked if name == "Orders"][-1]
    assert last == "UpdateDate gt '2024-05-02' or (UpdateDate eq '2024-05-02' and UpdateTime ge '14:30:10')"


def test_odata_v4_envelope_and_next_link(live_server: StartServer) -> None:
    """/b1s/v2: @odata.context and @odata.nextLink, dates written with a Z that is not UTC; read from a
    base_url ending in /b1s/v2 without saying so."""
    source = SapB1Source(live_server)
    source.layer = ServiceLayer(v4=True)
    for entry in range(1, 6):
        source.layer.add(
            "Orders", document(entry, entry, "bost_Open", f"2024-05-0{entry}T00:00:00Z 09:00:00")
        )
    block = {**source.block(), "base_url": f"{source.url}/b1s/v2"}
    connector = registry.create("erp", SapB1Settings.model_validate({**block, "children": []}))
    batches = list(connector.poll(None, threading.Event()))
    connector.close()
    records = [r for b in batches for r in b.records]
    assert [r.order_ref for r in records] == ["1", "2", "3", "4", "5"]
    assert (
        records[0].status_at is not None and records[0].status_at.isoformat() == "2024-05-01T09:00:00+08:00"
    )
    assert settings(base_url="https://b1:50000/b1s/v2").warnings() == []


def test_deliveries_and_invoices_attach_through_their_lines(sap: SapB1Source) -> None:
    """A delivery or invoice names no order in its header: its first line's BaseEntry is the order's
    DocEntry, a link both sides carry. Deliveries ship (a cancelled one says nothing); invoices are
    invoiced, partly paid by PaidToDate, paid when closed, voided when cancelled. An invoice copied from
    a delivery (BaseType 15) names the delivery: that is why invoices are read only when asked for."""
    sap.layer.add("Orders", document(412, 1412, "bost_Open", "2024-05-02 14:35:10"))
    line = [{"LineNum": 0, "BaseType": 17, "BaseEntry": 412, "BaseLine": 0}]
    sap.layer.add("DeliveryNotes", document(77, 3077, "bost_Open", "2024-05-02 15:00:00", DocumentLines=line))
    sap.layer.add(
        "DeliveryNotes",
        document(78, 3078, "bost_Close", "2024-05-02 15:10:00", Cancelled="tYES", DocumentLines=line),
    )
    for invoice in recorded("invoices-v1.json"):
        sap.layer.add("Invoices", invoice)
    batches = poll(sap, children=["deliveries", "invoices"])
    orders = [r for b in batches if b.system is None for r in b.records]
    assert orders[0].links == {"sap_order_entry": "412"}
    tables = {b.system: b.settings.status for b in batches if b.system and b.settings}
    children: dict[str, list[Any]] = {}
    for batch in batches:
        if batch.system:
            children.setdefault(batch.system, []).extend(batch.records)
    deliveries = children["erp.deliveries"]
    assert [r.links for r in deliveries] == [{"sap_order_entry": "412"}] * 2
    shipped = [map_statuses(tables["erp.deliveries"], r.native_status) for r in deliveries]
    assert [s[Dimension.fulfillment].status if s else None for s in shipped] == ["shipped", None]
    invoices = children["erp.invoices"]
    billing = [
        map_statuses(tables["erp.invoices"], r.native_status)[Dimension.billing].status for r in invoices
    ]
    assert billing == ["invoiced", "partially_paid", "paid"]
    assert [r.links.get("sap_order_entry") for r in invoices] == ["412", "301", None]
    cancelled = {"Cancelled": "tYES", "DocumentStatus": "bost_Close", "PaidToDate": "0"}
    assert map_statuses(tables["erp.invoices"], cancelled)[Dimension.billing].status == "voided"
    assert set(settings().streams("erp")) == {"erp", "erp.deliveries"}  # invoices only when asked


def test_the_docs_page_configuration_loads_in_fifteen_lines() -> None:
    """The YAML on docs/connectors/sap_b1.md is accepted as written (secrets from the environment)
    and fits in fifteen lines."""
    config = page_configuration("sap_b1.md")
    assert isinstance(config.systems["erp"], SapB1Settings)
