"""The Zoho CRM preset (`type: zoho`) against a local Zoho tenant: the conformance suite, and its own
checks on Zoho's shapes (OAuth refresh, If-Modified-Since and 304, errors in a 200)."""

from __future__ import annotations

from typing import Any, ClassVar

from connectors.conformance import MYSTERY, PICKING, SHIPPED, ApiSource, ApiSuite, Order, StartServer
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
