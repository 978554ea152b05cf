"""A YonSuite tenant as a real local server, behaving as the documented answers: getAccessToken checks
appKey, a recent millisecond timestamp and Base64(HmacSHA256(appSecret, "appKey…timestamp…")) and
answers {code: "00000", data: {access_token, expire}}; the sales-order list needs access_token in the
query (code 310036 in a 200 for an unknown or expired one), reads pageIndex/pageSize/simpleVOs/
queryOrders from the JSON body, and answers {code: "200", message, data: {pageIndex, pageSize,
recordCount, pageCount, recordList}}; ids are long numbers, money text, times local without a zone."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from live_http import Seen

TOKEN_PATH = "/iuap-api-auth/open-auth/selfAppAuth/base/v1/getAccessToken"
LIST_PATH = "/iuap-api-gateway/yonbip/sd/voucherorder/list"
APP_KEY, APP_SECRET = "4c1e9a7b0d2f", "ys-secret-88a0c3"


def answer(code: str, message: str, data: Any = None) -> dict[str, Any]:
    return {"code": code, "message": message, **({"data": data} if data is not None else {})}


class YonSuiteTenant:
    def __init__(self) -> None:
        self.orders: dict[int, dict[str, Any]] = {}
        self.tokens: list[str] = []
        self.bodies: list[dict[str, Any]] = []

    def handle(self, seen: Seen) -> tuple[Any, ...]:
        if seen.path == TOKEN_PATH:
            return self.token(seen.query)
        if seen.path != LIST_PATH:
            return 404, {"code": "404", "message": "api not found"}
        if seen.query.get("access_token") not in self.tokens:
            return 200, answer("310036", "非法token")
        return self.listing(seen.json())

    def token(self, query: dict[str, str]) -> tuple[Any, ...]:
        stamp = query.get("timestamp", "")
        message = f"appKey{query.get('appKey')}timestamp{stamp}".encode()
        expected = base64.b64encode(hmac.new(APP_SECRET.encode(), message, hashlib.sha256).digest()).decode()
        fresh = stamp.isdigit() and abs(time.time() * 1000 - int(stamp)) < 300_000
        if (
            query.get("appKey") != APP_KEY
            or not fresh
            or not hmac.compare_digest(expected, query.get("signature", ""))
        ):
            return 200, answer("1008", "签名错误")
        token = f"yon-tok-{len(self.tokens) + 1:04d}"
        self.tokens.append(token)
        return 200, answer("00000", "成功！", {"access_token": token, "expire": 7200})

    def listing(self, body: dict[str, Any]) -> tuple[Any, ...]:
        self.bodies.append(body)
        index, size = int(body.get("pageIndex", 1)), int(body.get("pageSize", 10))
        if size > 500:
            return 200, answer("999", "pageSize 不能超过500")
        rows = list(self.orders.values())
        for condition in body.get("simpleVOs", []):
            if condition.get("field") == "pubts" and condition.get("op") == "gt":
                rows = [r for r in rows if r["pubts"] > condition["value1"]]
        if body.get("queryOrders"):
            rows.sort(key=lambda r: (r["pubts"], r["id"]))
        chosen = rows[(index - 1) * size : index * size]
        data = {
            "pageIndex": index,
            "pageSize": size,
            "recordCount": len(rows),
            "pageCount": (len(rows) + size - 1) // size,
            "beginPageIndex": 1,
            "endPageIndex": max(1, (len(rows) + size - 1) // size),
            "recordList": chosen,
        }
        return 200, answer("200", "操作成功", data)
