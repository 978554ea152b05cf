"""A Shopify shop as a real local server: the Admin REST orders listing as the reference records it
(`status` open unless asked for any, `updated_at_min` inclusive, `order=updated_at asc`, `limit` at most
250, the next page by the Link header's opaque `page_info` URL, which refuses filters beside it; a leaky
bucket answered with 429 and a float Retry-After; errors as {"errors": ...})."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from live_http import Seen

ORDERS_PATH = "/admin/api/2025-10/orders.json"
TOKEN = "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"
ALLOWED_WITH_PAGE_INFO = {"page_info", "limit", "fields"}
THROTTLED = (
    "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."
)


class Shop:
    def __init__(self, *, throttle_every: int = 0, retry_after: str = "1.0") -> None:
        self.orders: dict[int, dict[str, Any]] = {}
        self.throttle_every, self.retry_after = throttle_every, retry_after
        self.requests = self.throttled = 0
        self.snapshots: list[list[dict[str, Any]]] = []
        self.asked: list[dict[str, str]] = []

    def handle(self, seen: Seen) -> tuple[Any, ...]:
        if seen.headers.get("x-shopify-access-token") != TOKEN:
            return 401, {
                "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
            }
        if seen.path != ORDERS_PATH:
            return 404, {"errors": "Not Found"}
        self.requests += 1
        used = f"{self.requests % 40}/40"
        if self.throttle_every and self.requests % self.throttle_every == 0:
            self.throttled += 1
            body = {"errors": THROTTLED}
            return 429, body, [("Retry-After", self.retry_after), ("X-Shopify-Shop-Api-Call-Limit", "40/40")]
        self.asked.append(seen.query)
        limit = int(seen.query.get("limit", 50))
        if limit > 250:
            return 400, {"errors": {"limit": ["must be less than or equal to 250"]}}
        if "page_info" in seen.query:
            extra = sorted(set(seen.query) - ALLOWED_WITH_PAGE_INFO)
            if extra:
                return 400, {
                    "errors": {"page_info": [f"Invalid value: {extra[0]} cannot be passed with page_info"]}
                }
            snapshot, offset = json.loads(base64.urlsafe_b64decode(seen.query["page_info"]))
            rows = self.snapshots[snapshot]
        else:
            rows = self.select(seen.query)
            self.snapshots.append(rows)
            snapshot, offset = len(self.snapshots) - 1, 0
        page = rows[offset : offset + limit]
        links = []
        host = f"http://{seen.headers['host']}{ORDERS_PATH}"
        if offset + limit < len(rows):
            token = base64.urlsafe_b64encode(json.dumps([snapshot, offset + limit]).encode()).decode()
            links.append(f'<{host}?limit={limit}&page_info={token}>; rel="next"')
        if offset:
            token = base64.urlsafe_b64encode(json.dumps([snapshot, max(0, offset - limit)]).encode()).decode()
            links.insert(0, f'<{host}?limit={limit}&page_info={token}>; rel="previous"')
        headers = [("X-Shopify-Shop-Api-Call-Limit", used)]
        if links:
            headers.append(("Link", ", ".join(links)))
        return 200, {"orders": page}, headers

    def select(self, query: dict[str, str]) -> list[dict[str, Any]]:
        rows = list(self.orders.values())
        status = query.get("status", "open")
        if status == "open":
            rows = [r for r in rows if r["closed_at"] is None and r["cancelled_at"] is None]
        if "updated_at_min" in query:
            since = datetime.fromisoformat(query["updated_at_min"].replace("Z", "+00:00"))
            rows = [r for r in rows if datetime.fromisoformat(r["updated_at"]) >= since]
        if query.get("order") == "updated_at asc":
            rows.sort(key=lambda r: (datetime.fromisoformat(r["updated_at"]), r["id"]))
        else:
            rows.sort(key=lambda r: r["id"], reverse=True)  # newest first, Shopify's default
        return rows


def shopify_order(
    name: str, fulfillment_status: str | None, updated: datetime, serial: int, *, shipped: str | None = None
) -> dict[str, Any]:
    """An Order as Admin REST writes it: int64 id, `name` as the shop writes it ("#1001" by default, a
    prefix of the shop's own otherwise), money as strings, times with their offset (`-05:00`), a null
    fulfillment_status for an unfulfilled order, fulfilments embedded."""
    order_id = 450789469000 + serial
    fulfillments = []
    if fulfillment_status in ("partial", "fulfilled"):
        fulfillments.append(
            {
                "id": 255858046000 + serial,
                "order_id": order_id,
                "status": "success",
                "created_at": updated.isoformat(),
                "updated_at": updated.isoformat(),
                "tracking_company": "SF Express",
                "tracking_number": f"SF{serial:010d}",
                "tracking_numbers": [f"SF{serial:010d}"],
                "shipment_status": shipped,
                "line_items": [{"id": 466157049, "quantity": 1 if fulfillment_status == "partial" else 2}],
            }
        )
    return {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": name,
        "order_number": serial,
        "email": "bob.norman@mail.example.com",
        "financial_status": "paid",
        "fulfillment_status": fulfillment_status,
        "cancelled_at": None,
        "cancel_reason": None,
        "closed_at": None,
        "created_at": updated.isoformat(),
        "updated_at": updated.isoformat(),
        "total_price": "199.00",
        "currency": "USD",
        "line_items": [{"id": 466157049, "quantity": 2, "price": "99.50", "fulfillable_quantity": 2}],
        "fulfillments": fulfillments,
    }
