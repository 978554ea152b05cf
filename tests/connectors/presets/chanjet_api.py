"""A Chanjet T+ voucher list for respx, in the shape an integrator who probed the live API recorded:
POST /tplus/api/v2/SaleOrderOpenApi/FindVoucherList with headers appKey/appSecret/openToken and
{"pageIndex": 0-based, "pageSize", "selectFields": "SaleOrder.ID,…", "paramDic": {…}}; the answer is
columnar, counts as text: {"code": "0", "message": "ok", "data": {"TotalCount": "7", "TotalPageNum":
"4", "Columns": [names], "Rows": [[values]]}}. This tenant filters by `UpdateDateBegin`
("yyyy-MM-dd HH:mm:ss", inclusive) on its `UpdateTime` column; rows come by ID."""

from __future__ import annotations

import json
from typing import Any

import httpx

BASE = "https://openapi.chanjet.com"
LIST = f"{BASE}/tplus/api/v2/SaleOrderOpenApi/FindVoucherList"
HEADERS = {"appkey": "cj-app-key-01", "appsecret": "cj-app-secret-02", "opentoken": "cj-open-token-03"}


class FakeChanjet:
    def __init__(self) -> None:
        self.vouchers: dict[int, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []

    def put(self, *vouchers: dict[str, Any]) -> None:
        for voucher in vouchers:
            self.vouchers[voucher["ID"]] = voucher

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if any(request.headers.get(k) != v for k, v in HEADERS.items()):
            return httpx.Response(200, json={"code": "EXSV0003", "message": "openToken无效", "data": None})
        body = json.loads(request.content)
        self.requests.append(body)
        columns = [f.removeprefix("SaleOrder.") for f in body["selectFields"].split(",")]
        since = (body.get("paramDic") or {}).get("UpdateDateBegin")
        chosen = [v for _, v in sorted(self.vouchers.items()) if since is None or v["UpdateTime"] >= since]
        index, size = int(body["pageIndex"]), int(body["pageSize"])
        page = chosen[index * size : (index + 1) * size]
        data = {
            "TotalCount": str(len(chosen)),
            "TotalPageNum": str(-(-len(chosen) // size)),
            "Columns": columns,
            "Rows": [[v.get(c) for c in columns] for v in page],
        }
        return httpx.Response(200, json={"code": "0", "message": "ok", "data": data})


def voucher(number: int, state: str, updated: str) -> dict[str, Any]:
    return {
        "ID": number,
        "Code": f"SO-2024-{number:04d}",
        "VoucherDate": updated[:10],
        "ExternalCode": f"PO-{number}",
        "VoucherState": state,
        "UpdateTime": updated,
    }
