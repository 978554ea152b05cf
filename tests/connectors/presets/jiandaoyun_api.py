"""A Jiandaoyun v5 data/list API for respx, answering as the real one does: POST JSON with app_id,
entry_id, limit (at most 100), data_id (keyset: rows after that `_id`, always sorted by `_id`) and a
filter whose `updateTime` conditions (`range` inclusive, `gt`) are honoured; `{"data": [rows]}`.
Rows look like the recorded ones: a 24-hex `_id`, `appId`, `entryId`, widget values by alias (an
address as an object), `updateTime` in UTC with milliseconds and `Z`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

BASE = "https://api.jiandaoyun.com"
LIST = f"{BASE}/api/v5/app/entry/data/list"
APP, ENTRY = "67fb6672450241050858e140", "680a510711e47823ae1f678f"


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def row(number: int, status: str, updated: datetime, amount: Any = 1130.5) -> dict[str, Any]:
    return {
        "_id": f"6818417bca66cb3cc212{number:04x}",
        "order_no": f"DD{number:06d}",
        "order_status": status,
        "amount": amount,
        "ship_to": {"province": "湖南省", "city": "长沙市", "district": "浏阳市", "detail": ""},
        "flowState": 1,
        "createTime": stamp(updated),
        "updateTime": stamp(updated),
        "appId": APP,
        "entryId": ENTRY,
    }


class FakeJiandaoyun:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.between: Callable[[int], None] | None = None  # called after the n-th answer
        self.throttle_next = 0  # answer 400 code 8303 this many times first

    def put(self, *rows: dict[str, Any]) -> None:
        for item in rows:
            self.rows[item["_id"]] = item

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.throttle_next:
            self.throttle_next -= 1
            return httpx.Response(400, json={"code": 8303, "msg": "超出请求频率限制"})
        body = json.loads(request.content)
        self.requests.append(body)
        if request.headers.get("Authorization") != "Bearer jdy-key-0001":
            return httpx.Response(401, json={"code": 1, "msg": "invalid api key"})
        limit = min(int(body.get("limit", 10)), 100)
        after = body.get("data_id")
        chosen = [r for _, r in sorted(self.rows.items()) if after is None or r["_id"] > after]
        chosen = [r for r in chosen if _matches(r, body.get("filter"))][:limit]
        answer = httpx.Response(200, json={"data": [dict(r) for r in chosen]})
        if self.between is not None:
            self.between(len(self.requests))
        return answer


def _matches(item: dict[str, Any], filter_: Any) -> bool:
    if not filter_:
        return True
    results = []
    for cond in filter_.get("cond", []):
        if cond["field"] != "updateTime":
            results.append(True)
            continue
        value = parse(item["updateTime"])
        bounds = [parse(v) if isinstance(v, str) and v else None for v in cond["value"]]
        if cond["method"] == "range":
            low, high = [*bounds, None, None][:2]
            results.append((low is None or value >= low) and (high is None or value <= high))
        elif cond["method"] == "gt":
            results.append(value > bounds[0] if bounds[0] else True)
        else:
            raise AssertionError(f"method {cond['method']} not in this fake")
    return all(results) if filter_.get("rel", "and") == "and" else any(results)
