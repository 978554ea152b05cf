"""A Fxiaoke open API for respx, answering as the documented one does: the corpAccessToken service,
and /cgi/crm/v2/data/query taking the token, corpId and currentOpenUserId in the JSON body with
`data.search_query_info` (limit at most 100, offset a multiple of limit and at most 10000, filters on
`last_modified_time` in epoch ms, orders), answering `{"errorCode": 0, "data": {"dataList", "total",
"offset", "limit"}}`; every error is an HTTP 200 with errorCode (20016 token expired, 30002 quota)."""

from __future__ import annotations

import json
from typing import Any

import httpx

BASE = "https://open.fxiaoke.com"
TOKEN = f"{BASE}/cgi/corpAccessToken/get/V2"
QUERY = f"{BASE}/cgi/crm/v2/data/query"


def failed(code: int, message: str) -> httpx.Response:
    return httpx.Response(200, json={"errorCode": code, "errorMessage": message, "traceId": "E-fs-7f3a"})


class FakeFxiaoke:
    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.queries: list[dict[str, Any]] = []
        self.tokens = 0
        self.valid: set[str] = set()
        self.quota_gone = False

    def put(self, *orders: dict[str, Any]) -> None:
        for order in orders:
            self.orders[order["_id"]] = order

    def token(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body.get("appSecret") != "fx-secret-9f8e7d6c":
            return failed(10006, "appSecret无效")
        self.tokens += 1
        value = f"corp-token-{self.tokens}"
        self.valid = {value}
        return httpx.Response(
            200,
            json={
                "errorCode": 0,
                "errorMessage": "success",
                "corpAccessToken": value,
                "corpId": "FSCID_7A1B2C",
                "expiresIn": 7200,
            },
        )

    def query(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body.get("corpAccessToken") not in self.valid:
            return failed(20016, "corpAccessToken已过期")
        if self.quota_gone:
            return failed(30002, "当日调用次数已用完")
        info = body["data"]["search_query_info"]
        self.queries.append(info)
        limit, offset = int(info["limit"]), int(info.get("offset", 0))
        if limit > 100 or offset % limit or offset > 10000:
            return failed(1, f"offset {offset} / limit {limit} not allowed")
        chosen = list(self.orders.values())
        for flt in info.get("filters", []):
            if flt["field_name"] == "last_modified_time" and flt["operator"] == "GTE":
                chosen = [o for o in chosen if o["last_modified_time"] >= flt["field_values"][0]]
        chosen.sort(key=lambda o: (o["last_modified_time"], o["_id"]))
        page = chosen[offset : offset + limit]
        data = {"dataList": page, "total": len(chosen), "offset": offset, "limit": limit}
        return httpx.Response(200, json={"errorCode": 0, "errorMessage": "OK", "data": data})


def sales_order(number: int, modified_ms: int, life: str = "normal", **more: Any) -> dict[str, Any]:
    return {
        "_id": f"65f0c1d2e3a4b5c6d7e8{number:04x}",
        "name": f"20240101-{number:06d}",
        "account_id": "65a0c1d2e3a4b5c6d7e80001",
        "life_status": life,
        "lock_status": "0",
        "order_amount": "1130.00",
        "object_describe_api_name": "SalesOrderObj",
        "version": "3",
        "create_time": modified_ms - 3600_000,
        "last_modified_time": modified_ms,
        **more,
    }
