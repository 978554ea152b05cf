"""A fake Medusa v2 shop for connector tests: GET /admin/orders with `fields`, `updated_at[$gte]`
(inclusive), `order`, `offset`/`limit` (50 by default), answering {orders, count, offset, limit};
a secret API key as basic auth (`sk_...` as it is, or base64 of `sk_...:`), or the JWT of
POST /auth/user/emailpass; errors as {type, message} with their status."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parents[2] / "fixtures" / "medusa"
API_KEY = "sk_5f1c9e7a3b2d4c6e8f0a1b3c5d7e9f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b3d"
EMAIL, PASSWORD, JWT = (
    "ops@shop.example.com",
    "medusa-pw-4410",
    "eyJhbGciOiJIUzI1NiJ9.eyJhY3Rvcl9pZCI6InVzZXJfMDEifQ.c2ln",
)


def fixture(name: str) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))["orders"]
    return orders


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class FakeMedusa:
    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.asked: list[dict[str, str]] = []

    def put(self, *orders: dict[str, Any]) -> None:
        for order in orders:
            self.orders[order["id"]] = dict(order)

    def authorised(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        if scheme == "Basic":
            plain = token if token.startswith("sk_") else base64.b64decode(token).decode()
            return plain.removesuffix(":") == API_KEY
        return scheme == "Bearer" and token == JWT

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> tuple[int, Any]:
        if (method, path) == ("POST", "/auth/user/emailpass"):
            if json.loads(body) == {"email": EMAIL, "password": PASSWORD}:
                return 200, {"token": JWT}
            return 401, {"type": "unauthorized", "message": "Invalid email or password"}
        if not self.authorised(headers.get("authorization", "")):
            return 401, {"type": "unauthorized", "message": "Unauthorized"}
        if path != "/admin/orders":
            return 404, {"type": "not_found", "message": f"Route {path} not found"}
        self.asked.append(dict(query))
        found = list(self.orders.values())
        if "updated_at[$gte]" in query:
            since = _moment(query["updated_at[$gte]"])
            found = [o for o in found if _moment(o["updated_at"]) >= since]
        if query.get("order") == "updated_at":
            found.sort(key=lambda o: (_moment(o["updated_at"]), o["id"]))
        else:
            found.sort(key=lambda o: _moment(o["created_at"]), reverse=True)
        fields = query.get("fields", "").split(",") if query.get("fields") else None
        offset, limit = int(query.get("offset", 0)), int(query.get("limit", 50))
        page = [{f: o[f] for f in fields if f in o} if fields else o for o in found[offset : offset + limit]]
        return 200, {"orders": page, "count": len(found), "offset": offset, "limit": limit}
