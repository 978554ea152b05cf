"""The Zoho CRM preset (`type: zoho`) against a local Zoho tenant: the conformance suite, and its own
checks on Zoho's shapes (OAuth refresh, If-Modified-Since and 304, errors in a 200)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
from connectors.conformance import MYSTERY, PICKING, SHIPPED, ApiSource, ApiSuite, Order, StartServer, orders
from connectors.presets.bulk import CHANGES, COUNT, sync_then_changes
from connectors.presets.zoho_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    TOKEN_PATH,
    ZohoTenant,
    error,
    sales_order,
)
from live_http import Seen

from orderbridge.connectors import registry
from orderbridge.connectors.base import SourceError
from orderbridge.connectors.presets.zoho.settings import ZohoSettings
from orderbridge.storage.db import Store

KOLKATA = ZoneInfo("Asia/Kolkata")
WORDS = {PICKING: "In Picking", SHIPPED: "Delivered", MYSTERY: "Awaiting Courier"}


class ZohoSource(ApiSource):
    connector_type = "zoho"
    minimal: ClassVar[dict[str, Any]] = {
        "type": "zoho",
        "base_url": "https://www.zohoapis.com",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
    }
    misspelled = ("page_sise", "page_size")
    expected: ClassVar[dict[str, str]] = {PICKING: "preparing", SHIPPED: "delivered"}
    bad_reason = "Grand_Total"
    vendor_error_text = "invalid query formed"
    rereads_at_cursor = True  # the overlap re-reads the last minute before the saved cursor

    def __init__(self, server: StartServer) -> None:
        self.tenant = ZohoTenant()
        super().__init__(server)

    def block(self) -> dict[str, Any]:
        return {
            **self.minimal,
            "base_url": self.url,
            "accounts_url": f"{self.url}{TOKEN_PATH}",
            "page_size": 2,
            # the company's own word, on top of the preset's table
            "status": {"dimension": "fulfillment", "field": "Status", "map": {"In Picking": "preparing"}},
        }

    def publish(self, new: list[Order]) -> None:
        for order in new:
            serial = int(order.number.removeprefix("SO-"))
            record = sales_order(order.number, WORDS[order.status], order.updated, serial)
            if order.bad:
                record["Grand_Total"] = "1,250"  # text where Zoho writes a number: ambiguous
            self.tenant.orders[record["id"]] = record

    def listing(self, seen: Seen) -> bool:
        return seen.path != TOKEN_PATH

    def answer(self, seen: Seen) -> tuple[Any, ...]:
        return self.tenant.handle(seen)

    def vendor_error(self) -> tuple[Any, ...]:
        return (200, error("INVALID_QUERY", "invalid query formed", {"reason": "the field is not available"}))

    def throttle(self, retry_after: int) -> tuple[Any, ...]:
        body = error("TOO_MANY_REQUESTS", "The maximum number of concurrent calls allowed has been exceeded")
        return (429, body, [("Retry-After", str(retry_after))])


class TestZohoConformance(ApiSuite):
    source_class = ZohoSource


# -- Zoho's own behaviour -------------------------------------------------------------------------------


def zoho_block(url: str, **more: Any) -> dict[str, Any]:
    return {
        **ZohoSource.minimal,
        "base_url": url,
        "accounts_url": f"{url}{TOKEN_PATH}",
        "retry": {"initial_wait": "0.05s"},
        **more,
    }


def publish_to(tenant: ZohoTenant) -> Callable[[list[Order]], None]:
    def publish(new: list[Order]) -> None:
        for order in new:
            serial = int(order.number.removeprefix("SO-"))
            record = sales_order(order.number, WORDS[order.status], order.updated, serial)
            tenant.orders[record["id"]] = record

    return publish


def test_a_thousand_orders_sync_across_pages_then_only_the_changed_ones(
    store: Store, live_server: Any
) -> None:
    """Against a tenant that pages 200 at a time, filters by If-Modified-Since, refuses plain page
    numbers past 2,000 records, throttles every 4th request and expires tokens: 1,000 orders stored once
    each, then the 37 changed ones and nothing else."""
    tenant = ZohoTenant(token_uses=3, throttle_every=4)
    server = live_server(tenant.handle)
    settings = ZohoSettings.model_validate(zoho_block(server.url))
    first, second, _ = sync_then_changes(store, settings, publish_to(tenant))
    assert first.records == COUNT and tenant.throttled > 0 and len(tenant.issued) > 1
    assert second.records <= CHANGES + 1  # the changed ones, and the overlap's one at the cursor
    since = [s for s in tenant.asked_since if s is not None]
    assert since and all(datetime.fromisoformat(s) for s in since)


def test_nothing_modified_is_a_304_and_an_empty_module_a_204(live_server: Any) -> None:
    """Zoho answers 204 while the module is empty and 304 when nothing changed since the cursor: both
    are an empty, successful poll that keeps the cursor where it was."""
    tenant = ZohoTenant()
    server = live_server(tenant.handle)
    settings = ZohoSettings.model_validate(zoho_block(server.url))
    assert polled(settings, None) == ([], {"value": "2000-01-01T00:00:00+00:00"})
    assert tenant.answered == [204]
    publish_to(tenant)(orders(1, 2))
    saved = {"value": "2026-11-21T00:00:00+00:00"}  # a poll after both orders changed
    assert polled(settings, saved) == ([], saved)
    assert tenant.answered[-1] == 304
    assert tenant.asked_since[-1] == "2026-11-20T23:59:00+00:00"  # the saved cursor less the overlap


def test_zoho_records_keep_their_offsets_ids_and_nulls(live_server: Any) -> None:
    """Modified_Time with +05:30 is that instant; the 19-digit id is the record id (as text); a null
    Purchase_Order is no external reference; Grand_Total is the amount."""
    tenant = ZohoTenant()
    server = live_server(tenant.handle)
    record = sales_order("SO-7", "Approved", datetime(2026, 11, 20, 9, 30, tzinfo=KOLKATA), 7)
    record["Purchase_Order"] = "PO-88"
    tenant.orders[record["id"]] = record
    other = sales_order("SO-8", "Created", datetime(2026, 11, 20, 9, 31, tzinfo=KOLKATA), 8)
    tenant.orders[other["id"]] = other
    found, _ = polled(ZohoSettings.model_validate(zoho_block(server.url)), None)
    by_ref = {r.order_ref: r for r in found}
    assert by_ref["SO-7"].record_id == "5843017000000000007"
    assert by_ref["SO-7"].status_at == datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
    assert by_ref["SO-7"].external_ref == "PO-88" and by_ref["SO-8"].external_ref is None
    assert by_ref["SO-7"].amounts.order == Decimal("1250.5")
    assert by_ref["SO-7"].native_status == {"Status": "Approved"}


def test_wrong_credentials_fail_the_poll_without_showing_them(live_server: Any) -> None:
    """A refresh token the accounts server refuses fails the poll, saying so, never quoting a secret."""
    tenant = ZohoTenant()
    server = live_server(tenant.handle)
    settings = ZohoSettings.model_validate(zoho_block(server.url, refresh_token="1000.revoked.token"))
    with pytest.raises(SourceError) as failed:
        polled(settings, None)
    message = str(failed.value)
    assert "token" in message.lower()
    assert "1000.revoked.token" not in message and CLIENT_SECRET not in message


def polled(settings: ZohoSettings, cursor: dict[str, Any] | None) -> tuple[list[Any], dict[str, Any] | None]:
    connector = registry.create("crm", settings)
    try:
        batches = list(connector.poll(cursor, threading.Event()))
    finally:
        connector.close()
    committed = [b.cursor for b in batches if b.cursor is not None]
    return [r for b in batches for r in b.records], committed[-1] if committed else None


def test_a_mass_update_beyond_2000_records_needs_page_tokens(live_server: Any) -> None:
    """2,100 orders changed in the same second fill more than Zoho's 2,000 records of plain page
    numbers: with `paging: page` the poll fails with Zoho's error, never skipping any; with
    `paging: page_token` it reads them all."""
    tenant = ZohoTenant()
    server = live_server(tenant.handle)
    moment = datetime(2026, 11, 20, 9, 30, tzinfo=KOLKATA)
    for serial in range(1, 2101):
        record = sales_order(f"SO-{serial}", "Approved", moment, serial)
        tenant.orders[record["id"]] = record
    with pytest.raises(SourceError, match=r"DISCRETE_PAGINATION_LIMIT_EXCEEDED|2000 records"):
        polled(ZohoSettings.model_validate(zoho_block(server.url)), None)
    found, cursor = polled(ZohoSettings.model_validate(zoho_block(server.url, paging="page_token")), None)
    assert len({r.order_ref for r in found}) == 2100
    assert cursor == {"value": moment.isoformat()}
