"""What a `type: fxiaoke` block means as a REST listing: `POST /cgi/crm/v2/data/query` on SalesOrderObj,
filtered and sorted by `last_modified_time` (epoch milliseconds), paged by offset and limit inside
`data.search_query_info` (offsets multiples of the limit, at most 10000: the listing restarts from its
cursor instead of going deeper), errors in an HTTP 200 by `errorCode`, 100 calls per 20 seconds."""

from __future__ import annotations

from typing import Any

QUERY = "/cgi/crm/v2/data/query"
INFO = "data.search_query_info"
PER_SECOND = 5  # 100 calls / 20 s per interface


def listing(object_name: str, *, page_size: int, filters: list[dict[str, Any]]) -> dict[str, Any]:
    changed = {"field_name": "last_modified_time", "field_values": ["{cursor}"], "operator": "GTE"}
    return {
        "path": QUERY,
        "method": "POST",
        "body": {
            "data": {
                "dataObjectApiName": object_name,
                "find_explicit_total_num": True,
                "search_query_info": {
                    "filters": [changed, *filters],
                    "orders": [{"fieldName": "last_modified_time", "isAsc": True}],
                },
            }
        },
        "records": "data.dataList",
        "paging": {
            "style": "offset",
            "param": f"{INFO}.offset",
            "size_param": f"{INFO}.limit",
            "size": page_size,
            "param_in": "body",
            "overlap": 0,
        },
    }


def cursor_block(overlap: str = "5m") -> dict[str, Any]:
    return {"field": "last_modified_time", "sorted": True, "overlap": overlap, "format": "epoch_ms"}


def errors_block(retry_codes: list[int]) -> list[dict[str, Any]]:
    return [
        {"type": "body", "field": "errorCode", "ok": [0], "message": "errorMessage", "retry": retry_codes}
    ]


def budget_block() -> dict[str, Any]:
    return {"per_second": PER_SECOND}
