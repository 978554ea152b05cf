"""A U8 enterprise behind Yonyou's OpenAPI platform as a real local server, behaving as the reference
records: GET /system/token?from_account&app_key&app_secret answers {errcode: "0", token: {id}}; the
sales-order list needs from_account, to_account, app_key and a token issued for them, pages by
page_index (from 1) and rows_per_page, and answers {errcode, errmsg, page_index, rows_per_page,
row_count, page_count, saleorderlist} with its numbers as text; errors are a non-zero errcode inside an
HTTP 200. `timestamp_begin`, when given, keeps the orders whose `timestamp` is at or after it."""

from __future__ import annotations

from typing import Any

from live_http import Seen

FROM_ACCOUNT, TO_ACCOUNT = "dev_acme", "acme_u8"
APP_KEY, APP_SECRET = "opa6b1f0e2d4", "u8-secret-d41c9e"


class U8Enterprise:
    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.tokens: list[str] = []
        self.asked: list[dict[str, str]] = []

    def handle(self, seen: Seen) -> tuple[Any, ...]:
        query = seen.query
        if seen.path == "/system/token":
            if (query.get("from_account"), query.get("app_key"), query.get("app_secret")) != (
                FROM_ACCOUNT,
                APP_KEY,
                APP_SECRET,
            ):
                return 200, {"errcode": "20001", "errmsg": "app_key或app_secret不正确"}
            token = f"u8-tok-{len(self.tokens) + 1:03d}"
            self.tokens.append(token)
            return 200, {"errcode": "0", "errmsg": "", "token": {"id": token, "expiresIn": 7200}}
        if seen.path != "/api/saleorderlist/batch_get":
            return 200, {"errcode": "40004", "errmsg": "接口不存在"}
        accounts = (query.get("from_account"), query.get("to_account"), query.get("app_key"))
        if accounts != (FROM_ACCOUNT, TO_ACCOUNT, APP_KEY) or query.get("token") not in self.tokens:
            return 200, {"errcode": "30001", "errmsg": "token无效或已过期"}
        self.asked.append(dict(query))
        rows = sorted(self.orders.values(), key=lambda r: r["code"])
        if "timestamp_begin" in query:
            rows = [r for r in rows if r["timestamp"] >= query["timestamp_begin"]]
        index, size = int(query.get("page_index", "1")), int(query.get("rows_per_page", "20"))
        chosen = rows[(index - 1) * size : index * size]
        return 200, {
            "errcode": "0",
            "errmsg": "",
            "page_index": str(index),
            "rows_per_page": str(size),
            "row_count": str(len(rows)),
            "page_count": str((len(rows) + size - 1) // size),
            "saleorderlist": chosen,
        }
