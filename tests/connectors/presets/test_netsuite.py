"""The NetSuite preset (`type: netsuite`) against a local NetSuite account: the conformance suite, and
its own checks on NetSuite's shapes — token-based auth signed over each page's own query, SuiteQL rows
of text with null columns left out and zone-less times, the status letters on two dimensions, item
fulfilments and invoices as child documents."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
from connectors.conformance import (
    MYSTERY,
    PICKING,
    SHANGHAI,
    SHIPPED,
    ApiSource,
    ApiSuite,
    Order,
    StartServer,
)
from connectors.presets.docs_pages import page_configuration
from connectors.presets.netsuite_server import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    TOKEN_ID,
    TOKEN_SECRET,
    NetSuiteAccount,
    problem,
)
from live_http import Seen
from pydantic import ValidationError

from orderbridge.config.loader import parse_config
from orderbridge.connectors import registry
from orderbridge.connectors.base import Batch, SourceError, build_record
from orderbridge.connectors.presets.netsuite.settings import NetSuiteSettings
from orderbridge.connectors.probe import probe
from orderbridge.mapping.model import UNMAPPED, Dimension
from orderbridge.mapping.status import map_statuses

FIXTURES = Path(__file__).parents[2] / "fixtures" / "netsuite"
LETTERS = {PICKING: "D", SHIPPED: "F", MYSTERY: "X"}
CREDENTIALS = {
    "consumer_key": CONSUMER_KEY,
    "consumer_secret": CONSUMER_SECRET,
    "token_id": TOKEN_ID,
    "token_secret": TOKEN_SECRET,
}
HOSTED = "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest"


def local_time(order: Order) -> str:
    return order.updated.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


class NetSuiteSource(ApiSource):
    connector_type = "netsuite"
    minimal: ClassVar[dict[str, Any]] = {"type": "netsuite", "base_url": HOSTED, **CREDENTIALS}
    misspelled = ("page_sise", "page_size")
    bad_reason = "foreigntotal"
    vendor_error_text = "Invalid search query"
    rereads_at_cursor = True  # the filter is inclusive (>=) and the overlap re-reads five minutes

    def __init__(self, server: StartServer) -> None:
        self.account = NetSuiteAccount()
        super().__init__(server)

    def block(self) -> dict[str, Any]:
        return {
            **self.minimal,
            "base_url": f"{self.url}/services/rest",
            "account_id": "1234567-sb1",  # written as in the host: the realm is made of it
            "timezone": "Asia/Shanghai",
            "page_size": 2,
        }

    def publish(self, new: list[Order]) -> None:
        for order in new:
            serial = order.number.removeprefix("SO-")
            self.account.add(
                "SalesOrd",
                {
                    "id": str(8800 + int(serial)),
                    "tranid": order.number,
                    "otherrefnum": None,
                    "status": LETTERS[order.status],
                    "status_text": "",
                    "lastmodified": local_time(order),
                    "foreigntotal": "1,250" if order.bad else "1250.00",
                    "currency": "USD",
                },
            )

    def answer(self, seen: Seen) -> tuple[Any, ...]:
        return self.account.handle(seen)

    def vendor_error(self) -> tuple[Any, ...]:
        return (
            400,
            problem(
                400, "INVALID_PARAMETER", "Invalid search query. Detailed unprocessed description follows."
            ),
        )

    def throttle(self, retry_after: int) -> tuple[Any, ...]:
        body = problem(
            429, "CONCURRENCY_LIMIT_EXCEEDED", "Concurrent request limit exceeded. Request blocked."
        )
        return (429, body, [("Retry-After", str(retry_after))])


class TestNetSuiteConformance(ApiSuite):
    source_class = NetSuiteSource


# --- its own shapes ----------------------------------------------------------------------------------


@pytest.fixture
def account(live_server: StartServer) -> Iterator[NetSuiteSource]:
    yield NetSuiteSource(live_server)


def recorded(name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))["items"]
    return [{k: v for k, v in item.items() if k != "links"} for item in items]


def poll(source: NetSuiteSource, **more: Any) -> list[Batch]:
    settings = NetSuiteSettings.model_validate({**source.block(), **more})
    connector = registry.create("erp", settings)
    try:
        return list(connector.poll(None, threading.Event()))
    finally:
        connector.close()


def settings(**more: Any) -> NetSuiteSettings:
    return NetSuiteSettings.model_validate({**NetSuiteSource.minimal, **more})


def test_recorded_rows_keep_their_traps_apart() -> None:
    """Rows as SuiteQL writes them: money as text (-0.00 included), an absent otherrefnum (a null
    column is left out) read as no reference, a zone-less time in the account user's zone, and a
    letter nobody knows reported unmapped."""
    source_settings = settings(timezone="America/Los_Angeles")
    records = {}
    for item in recorded("suiteql-orders-1.json") + recorded("suiteql-orders-2.json"):
        records[item["tranid"]] = build_record("erp", item, source_settings.rest())
    assert records["SO10234"].external_ref == "PO-7781" and records["SO10235"].external_ref is None
    assert records["SO10235"].amounts.order == Decimal("89.9")
    assert (
        records["SO10201"].amounts.order == Decimal("-0.00") and records["SO10201"].amounts.currency == "EUR"
    )
    la = ZoneInfo("America/Los_Angeles")
    assert records["SO10234"].status_at is not None and records["SO10234"].status_at.tzinfo == la
    assert records["SO10234"].status_at.isoformat() == "2024-05-01T10:00:00-07:00"
    mapped = {n: map_statuses(source_settings.status, r.native_status) for n, r in records.items()}
    assert mapped["SO10241"][Dimension.fulfillment].status == UNMAPPED
    assert mapped["SO10241"][Dimension.billing].status == UNMAPPED
    assert (
        mapped["SO10240"][Dimension.fulfillment].status == "cancelled"
        and Dimension.billing not in mapped["SO10240"]
    )


@pytest.mark.parametrize(
    ("letter", "fulfillment", "billing"),
    [
        ("A", "placed", "unbilled"),
        ("B", "approved", "unbilled"),
        ("C", "cancelled", None),
        ("D", "preparing", "unbilled"),
        ("E", "preparing", "unbilled"),
        ("F", "shipped", "unbilled"),
        ("G", "shipped", "invoiced"),
        ("H", "closed", None),
    ],
)
def test_sales_order_letters_in_the_wsdl_order(letter: str, fulfillment: str, billing: str | None) -> None:
    """The SalesOrderOrderStatus letters on both dimensions (F is pending billing: shipped, not yet
    invoiced); a cancelled or closed order says nothing about billing."""
    found = map_statuses(settings().status, {"status": letter})
    assert found[Dimension.fulfillment].status == fulfillment
    assert (found[Dimension.billing].status if Dimension.billing in found else None) == billing


def test_a_company_word_goes_on_top_of_the_letters() -> None:
    """A company's own status column (an extra SuiteQL column) maps on top of the preset's table."""
    custom = settings(
        columns=["t.custbody_wms_state AS wms_state"],
        status={"dimension": "fulfillment", "field": "wms_state", "map": {"PACKED": "ready_to_ship"}},
    )
    assert "t.custbody_wms_state AS wms_state" in custom.rest().list.body["q"]
    found = map_statuses(custom.status, {"wms_state": "PACKED", "status": "B"})
    assert found[Dimension.fulfillment].status == "ready_to_ship"
    assert map_statuses(custom.status, {"status": "B"})[Dimension.fulfillment].status == "approved"


def test_children_attach_to_their_order_by_its_tranid(account: NetSuiteSource) -> None:
    """Item fulfilments and invoices are read from their own queries and cursors; each names its sales
    order by the order's tranid (joined through createdfrom), so it attaches to that order."""
    account.account.add(
        "SalesOrd", {"id": "8812", "tranid": "SO10234", "status": "B", "lastmodified": "2024-05-01 10:00:00"}
    )
    for row in recorded("suiteql-fulfillments.json"):
        account.account.add("ItemShip", row)
    account.account.add(
        "CustInvc",
        {
            "id": "9950",
            "tranid": "INV7001",
            "status": "A",
            "order_tranid": "SO10234",
            "lastmodified": "2024-05-01 11:00:00",
            "foreigntotal": "1250.00",
            "currency": "USD",
        },
    )
    batches = poll(account)
    children = {
        b.system: [(r.parent_ref, r.native_status["status"]) for r in b.records] for b in batches if b.system
    }
    assert children == {
        "erp.fulfillments": [("SO10235", "C"), ("SO10234", "B")],
        "erp.invoices": [("SO10234", "A")],
    }
    by_system = {b.system: b.settings for b in batches if b.system}
    fulfilment = by_system["erp.fulfillments"]
    assert fulfilment is not None
    assert map_statuses(fulfilment.status, {"status": "B"})[Dimension.fulfillment].status == "ready_to_ship"
    invoices = by_system["erp.invoices"]
    assert invoices is not None
    assert map_statuses(invoices.status, {"status": "B"})[Dimension.billing].status == "paid"
    kinds = {kind for kind, _, _ in account.account.queries}
    assert kinds == {"SalesOrd", "ItemShip", "CustInvc"}


def test_children_can_be_left_out(account: NetSuiteSource) -> None:
    """`children: [fulfillments]` reads no invoices; the systems of the block say so too."""
    poll(account, children=["fulfillments"])
    assert {kind for kind, _, _ in account.account.queries} == {"SalesOrd", "ItemShip"}
    assert set(settings(children=["fulfillments"]).streams("erp")) == {"erp", "erp.fulfillments"}


def test_every_page_is_signed_over_its_own_limit_and_offset(account: NetSuiteSource) -> None:
    """Three pages of two rows: each request carries its own limit/offset in the signature (the local
    account refuses a signature made for another URL), the realm, and Prefer: transient."""
    for n in range(1, 6):
        account.account.add(
            "SalesOrd",
            {"id": str(n), "tranid": f"SO-{n}", "status": "B", "lastmodified": f"2024-05-01 10:0{n}:00"},
        )
    batches = poll(account, children=[])
    assert sorted(r.order_ref or "" for b in batches for r in b.records) == [f"SO-{n}" for n in range(1, 6)]
    listing = [s for s in account.server.seen if s.json()["q"].find("'SalesOrd'") > 0]
    assert len(listing) >= 3
    assert all('realm="1234567_SB1"' in s.headers["authorization"] for s in listing)
    assert len({s.headers["authorization"] for s in listing}) == len(listing)


def test_a_refused_token_fails_with_netsuite_detail_and_no_credential(live_server: StartServer) -> None:
    """INVALID_LOGIN (a revoked token, a wrong secret) fails the poll at once, with NetSuite's detail,
    and none of the four credentials."""
    source = NetSuiteSource(live_server)
    with pytest.raises(SourceError) as failure:
        poll(source, token_secret="not-the-token-secret")
    message = str(failure.value)
    assert "HTTP 401" in message and "Invalid login attempt" in message
    for secret in (*CREDENTIALS.values(), "not-the-token-secret"):
        assert secret not in message


def test_account_id_comes_from_the_host_or_must_be_given() -> None:
    """The realm is the account id in capitals with an underscore, read from the host when base_url
    is NetSuite's; another host (a proxy, a test server) needs account_id."""
    assert settings().account_id == "1234567_SB1"
    assert (
        settings(base_url="https://1234567.suitetalk.api.netsuite.com/services/rest").account_id == "1234567"
    )
    with pytest.raises(ValidationError, match="give `account_id`"):
        settings(base_url="https://erp-proxy.example.com/services/rest")
    assert (
        settings(base_url="https://erp-proxy.example.com/x", account_id="7654321").rest().auth.realm
        == "7654321"
    )


def test_a_column_that_is_not_a_select_item_is_refused() -> None:
    """Extra columns go into the query: anything that could end or quote it is refused at start."""
    with pytest.raises(ValidationError, match="not a select item"):
        settings(columns=["t.id; DELETE"])


def test_check_config_warns_about_the_time_zone_until_it_is_set() -> None:
    """NetSuite writes times in its user's zone without saying which: check-config says so until the
    block sets `timezone`."""
    config = parse_config(json.dumps({"systems": {"erp": NetSuiteSource.minimal}}))
    assert any(w.startswith("timezone:") for w in config.systems["erp"].warnings())
    set_zone = parse_config(json.dumps({"systems": {"erp": {**NetSuiteSource.minimal, "timezone": "UTC"}}}))
    assert set_zone.systems["erp"].warnings() == []


def test_the_docs_page_configuration_loads_in_fifteen_lines() -> None:
    """The YAML on docs/connectors/netsuite.md is accepted as written (secrets from the environment)
    and fits in fifteen lines."""
    config = page_configuration("netsuite.md")
    block = config.systems["erp"]
    assert isinstance(block, NetSuiteSettings) and block.account_id == "1234567_SB1"
    assert block.warnings() == []


def test_probe_reads_one_signed_page_and_names_an_unmapped_letter(account: NetSuiteSource) -> None:
    """`orderbridge probe` on a working set-up: one SuiteQL page read through the signing, every field
    path found except the PO the rows leave out, the letter nobody knows named, and no credential in
    what it shows."""
    for row in recorded("suiteql-orders-1.json") + recorded("suiteql-orders-2.json"):
        account.account.add("SalesOrd", row)
    report = probe("erp", NetSuiteSettings.model_validate({**account.block(), "page_size": 5}))
    assert report.error is None and report.records == 5
    assert "suiteql" in report.source and TOKEN_SECRET not in report.source
    statuses = {s.dimension: s.unmapped for s in report.statuses}
    assert statuses["fulfillment"] == {"X": 1} and statuses["billing"] == {"X": 1}
    found = {f.path: f.found for f in report.fields}
    assert found["tranid"] == 5 and found["lastmodified"] == 5 and found["otherrefnum"] == 2
