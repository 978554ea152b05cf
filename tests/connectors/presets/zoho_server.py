"""A Zoho CRM tenant as a real local server: the accounts server's token endpoint and the Sales_Orders
listing, behaving as the reference records (If-Modified-Since strictly after, 304 when nothing changed,
204 for an empty module, page/per_page at most 200, plain `page` only up to 2,000 records, the
`{data, info}` envelope, `{code, details, message, status: error}` errors)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from live_http import Seen

TOKEN_PATH = "/oauth/v2/token"
LIST_PATH = "/crm/v8/Sales_Orders"
CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN = "1000.7Y2QBKD5L0CRM", "9f3c1d2e4b5a6c7d8e9f", "1000.a1b2c3.d4e5f6"


def error(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "details": details or {}, "message": message, "status": "error"}


class ZohoTenant:
    def __init__(self, *, token_uses: int = 1000, throttle_every: int = 0) -> None:
        self.orders: dict[str, dict[str, Any]] = {}  # by id
        self.issued: list[str] = []
        self.uses: dict[str, int] = {}
        self.token_uses = token_uses  # a token is refused (expired) after this many requests
        self.throttle_every = throttle_every  # every n-th listing request is refused with 429
        self.requests = 0
        self.throttled = 0
        self.asked_since: list[str | None] = []
        self.answered: list[int] = []  # statuses of the listing's answers

    def handle(self, seen: Seen) -> tuple[Any, ...]:
        if seen.path == TOKEN_PATH:
            return self.token(seen)
        if seen.path != LIST_PATH:
            return 404, error(
                "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one"
            )
        token = seen.headers.get("authorization", "").removeprefix("Zoho-oauthtoken ")
        if token not in self.issued or self.uses[token] >= self.token_uses:
            return 401, error("INVALID_TOKEN", "invalid oauth token")
        self.uses[token] += 1
        self.requests += 1
        if self.throttle_every and self.requests % self.throttle_every == 0:
            self.throttled += 1
            return 429, error(
                "TOO_MANY_REQUESTS", "The maximum number of concurrent calls allowed has been exceeded"
            )
        answer = self.listing(seen)
        self.answered.append(answer[0])
        return answer

    def token(self, seen: Seen) -> tuple[Any, ...]:
        form = dict(parse_qsl(seen.body.decode()))
        credentials = (form.get("client_id"), form.get("client_secret"), form.get("refresh_token"))
        if (
            credentials != (CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN)
            or form.get("grant_type") != "refresh_token"
        ):
            return 200, {"error": "invalid_client"}  # the accounts server says so in a 200
        token = f"1000.{len(self.issued) + 1:04d}.access"
        self.issued.append(token)
        self.uses[token] = 0
        return 200, {
            "access_token": token,
            "scope": "ZohoCRM.modules.sales_orders.READ",
            "api_domain": "https://www.zohoapis.com",
            "token_type": "Bearer",
            "expires_in": 3600,
        }

    def listing(self, seen: Seen) -> tuple[Any, ...]:
        query = seen.query
        if "fields" not in query:
            return 400, error(
                "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param": "fields"}
            )
        per_page, page = int(query.get("per_page", 200)), int(query.get("page", 1))
        if per_page > 200:
            return 400, error("INVALID_DATA", "invalid data", {"param": "per_page", "maximum_length": 200})
        if page * per_page > 2000 and "page_token" not in query:
            return 400, error(
                "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                "Cannot fetch more than 2000 records without page_token",
            )
        since_text = seen.headers.get("if-modified-since")
        self.asked_since.append(since_text)
        if not self.orders:
            return (204, None)
        rows = list(self.orders.values())
        if since_text is not None:
            since = datetime.fromisoformat(since_text)
            rows = [r for r in rows if datetime.fromisoformat(r["Modified_Time"]) > since]
            if not rows:
                return (304, None)
        if query.get("sort_by") == "Modified_Time":
            rows.sort(key=lambda r: (datetime.fromisoformat(r["Modified_Time"]), r["id"]))
        start = (
            int(query["page_token"].removeprefix("tok-")) if "page_token" in query else (page - 1) * per_page
        )
        chunk = rows[start : start + per_page]
        more = start + per_page < len(rows)
        wanted = set(query["fields"].split(","))
        data = [{k: v for k, v in r.items() if k in wanted or k == "id"} for r in chunk]
        info = {
            "per_page": per_page,
            "next_page_token": f"tok-{start + per_page}" if more else None,
            "count": len(data),
            "sort_by": query.get("sort_by", "id"),
            "page": page,
            "previous_page_token": None,
            "page_token_expiry": (datetime(2026, 11, 21) + timedelta(days=1)).isoformat(),
            "sort_order": query.get("sort_order", "desc"),
            "more_records": more,
        }
        return 200, {"data": data, "info": info}


def sales_order(number: str, status: str, modified: datetime, serial: int) -> dict[str, Any]:
    """One Sales_Orders record as Zoho writes it: a 19-digit id as text, times with their offset,
    lookups as {name, id}, and null for what is empty."""
    return {
        "id": f"5843017000{serial:09d}",
        "SO_Number": number,
        "Subject": f"Order {number}",
        "Status": status,
        "Modified_Time": modified.isoformat(timespec="seconds"),
        "Grand_Total": 1250.5,
        "Currency": "CNY",
        "Purchase_Order": None,
        "Account_Name": {"name": "Hangzhou Lianyun Trading", "id": "5843017000000389001"},
        "$approval_state": "approved",
    }
