"""What polling a Jiandaoyun form means as a REST listing: `POST /api/v5/app/entry/data/list`, keyset by
`data_id` (rows always come sorted by `_id`), the `updateTime` window fixed before the scan so that rows
changing while it runs are read by the next poll, and the request rate Jiandaoyun allows."""

from __future__ import annotations

from typing import Any

LIST = "/api/v5/app/entry/data/list"
# updateTime as Jiandaoyun writes it: UTC with milliseconds (the filter takes the same text).
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.000Z"
PER_SECOND = 30  # data/list's own limit (the company's is 50 for every API together)


def listing(
    app_id: str, entry_id: str, *, page_size: int, conditions: list[dict[str, Any]]
) -> dict[str, Any]:
    window = {"field": "updateTime", "type": "datetime", "method": "range", "value": ["{cursor}", "{until}"]}
    return {
        "path": LIST,
        "method": "POST",
        "body": {
            "app_id": app_id,
            "entry_id": entry_id,
            "filter": {"rel": "and", "cond": [window, *conditions]},
        },
        "records": "data",
        "paging": {
            "style": "keyset",
            "param": "data_id",
            "field": "_id",
            "size_param": "limit",
            "size": page_size,
            "param_in": "body",
        },
    }


def cursor_block(overlap: str = "5m") -> dict[str, Any]:
    return {
        "type": "window",
        "field": "updateTime",
        "overlap": overlap,
        "format": TIME_FORMAT,
        "timezone": "UTC",
    }


def budget_block() -> dict[str, Any]:
    return {"per_second": PER_SECOND}
