"""The Yonyou U8 preset (`type: yonyou_u8`) against a local enterprise behind the OpenAPI platform: the
conformance suite (with `changed_since: datetime`), and its own checks — the token and account
parameters on every call, errors inside a 200, the closer / fhstatus / state composite, and the
undocumented timestamp filter left off (every order read) until the block says how to use it."""

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
    ApiSource,
    ApiSuite,
    Order,
    StartServer,
)
from connectors.presets.docs_pages import page_configuration
from connectors.presets.yonyou_u8_server import APP_KEY, APP_SECRET, FROM_ACCOUNT, TO_ACCOUNT, U8Enterprise
from live_http import Seen

from orderbridge.connectors import registry
from orderbridge.connectors.base import Batch, SourceError
from orderbridge.connectors.presets.yonyou_u8.settings import YonyouU8Settings
from orderbridge.mapping.model import UNMAPPED, Dimension
from orderbridge.mapping.status import map_statuses

FIXTURES = Path(__file__).parents[2] / "fixtures" / "yonyou"
CREDENTIALS = {
    "from_account": FROM_ACCOUNT,
    "to_account": TO_ACCOUNT,
    "app_key": APP_KEY,
    "app_secret": APP_SECRET,
}
STATES = {PICKING: ("Approved", "1"), SHIPPED: ("Approved", "2"), MYSTERY: ("作废", "0")}


class U8Source(ApiSource):
    connector_type = "yonyou_u8"
    minimal: ClassVar[dict[str, Any]] = {
        "type": "yonyou_u8",
        "base_url": "https://api.yonyouup.com",
        **CREDENTIALS,
    }
    misspelled = ("page_sise", "page_size")
    bad_reason = "timestamp"
    vendor_error_text = "数据源连接失败"
    rereads_at_cursor = True  # timestamp_begin is inclusive, and the overlap re-reads five minutes

    def __init__(self, server: StartServer) -> None:
        self.enterprise = U8Enterprise()
        super().__init__(server)

    def block(self) -> dict[str, Any]:
        return {**self.minimal, "base_url": self.url, "page_size": 2, "changed_since": "datetime"}

    def publish(self, new: list[Order]) -> None:
        for order in new:
            state, shipped = STATES[order.status]
            when = order.updated.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
            self.enterprise.orders[order.number] = {
                "code": order.number,
                "date": when[:10],
                "state": state,
                "fhstatus": shipped,
                "custcode": "010001",
                "cusname": "华东贸易",
                "closer": None,
                "timestamp": "yesterday" if order.bad else when,
            }

    def listing(self, seen: Seen) -> bool:
        return seen.path != "/system/token"

    def answer(self, seen: Seen) -> tuple[Any, ...]:
        return self.enterprise.handle(seen)

    def vendor_error(self) -> tuple[Any, ...]:
        return (200, {"errcode": "90001", "errmsg": "数据源连接失败"})


class TestU8Conformance(ApiSuite):
    source_class = U8Source


# --- its own shapes ----------------------------------------------------------------------------------


@pytest.fixture
def u8(live_server: StartServer) -> Iterator[U8Source]:
    yield U8Source(live_server)


def poll(source: U8Source, cursor: dict[str, Any] | None = None, **more: Any) -> list[Batch]:
    connector = registry.create("erp", YonyouU8Settings.model_validate({**source.block(), **more}))
    try:
        return list(connector.poll(cursor, threading.Event()))
    finally:
        connector.close()


def recorded() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads((FIXTURES / "u8-saleorderlist.json").read_text(encoding="utf-8"))[
        "saleorderlist"
    ]
    return rows


def test_closer_wins_then_shipping_then_state() -> None:
    """A named closer is closed whatever the rest says; otherwise fhstatus 2/1 is shipped/preparing;
    with nothing shipped the state says approved or placed; an empty or null closer is none."""
    tables = YonyouU8Settings.model_validate(U8Source.minimal).status
    found = {r["code"]: map_statuses(tables, r)[Dimension.fulfillment].status for r in recorded()}
    assert found == {"0000000118": "preparing", "0000000119": "placed", "0000000097": "closed"}
    assert (
        map_statuses(tables, {"state": "Changing", "fhstatus": 0, "closer": ""})[Dimension.fulfillment].status
        == "approved"
    )
    assert map_statuses(tables, {"state": "作废", "fhstatus": "0"})[Dimension.fulfillment].status == UNMAPPED


def test_without_changed_since_every_poll_reads_every_order(u8: U8Source) -> None:
    """The default: timestamp_begin is never sent (its meaning is undocumented), each poll reads the
    whole list by page, and check-config says why."""
    for row in recorded():
        u8.enterprise.orders[row["code"]] = row
    first = poll(u8, changed_since="none")
    again = poll(u8, first[-1].cursor, changed_since="none")
    assert sorted(r.order_ref or "" for b in again for r in b.records) == [
        "0000000097",
        "0000000118",
        "0000000119",
    ]
    assert all("timestamp_begin" not in q for q in u8.enterprise.asked)
    warnings = YonyouU8Settings.model_validate(U8Source.minimal).warnings()
    assert [w.split(":")[0] for w in warnings] == ["changed_since", "status"]


def test_every_call_carries_the_token_and_both_accounts(u8: U8Source) -> None:
    """One token for the poll; each page asks with from_account, to_account, app_key and token."""
    for row in recorded():
        u8.enterprise.orders[row["code"]] = row
    poll(u8, changed_since="none")
    assert len(u8.enterprise.tokens) == 1 and len(u8.enterprise.asked) == 2
    for query in u8.enterprise.asked:
        assert (query["from_account"], query["to_account"], query["app_key"], query["token"]) == (
            FROM_ACCOUNT,
            TO_ACCOUNT,
            APP_KEY,
            "u8-tok-001",
        )


def test_row_version_mode_sends_the_highest_version_read(u8: U8Source) -> None:
    """`changed_since: row_version`: the next poll asks timestamp_begin from the highest row version
    read (U8 writes it in hex)."""
    for row in recorded():
        u8.enterprise.orders[row["code"]] = row
    first = poll(u8, changed_since="row_version")
    cursor = first[-1].cursor
    assert cursor is not None and cursor["value"] == int("A1B2E1", 16)


def test_a_refused_token_request_fails_without_the_secret(u8: U8Source) -> None:
    """A wrong app secret: the token request's errcode fails the poll, the secret never shown."""
    with pytest.raises(SourceError) as failure:
        poll(u8, app_secret="wrong-u8-secret")
    assert "U8 token" in str(failure.value) and "wrong-u8-secret" not in str(failure.value)


def test_the_docs_page_configuration_loads_in_fifteen_lines() -> None:
    """The YAML on docs/connectors/yonyou_u8.md is accepted as written and fits in fifteen lines."""
    config = page_configuration("yonyou_u8.md")
    assert isinstance(config.systems["erp"], YonyouU8Settings)
