"""The `window` cursor on a listing sorted by its key, not by its change time (Jiandaoyun's data/list,
keyset by `data_id`): the window's upper end is fixed before the first page, so rows that change while
the scan runs are read by the next poll, even those behind the position the scan had reached."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import respx
from connectors.presets.jiandaoyun_api import APP, BASE, ENTRY, LIST, FakeJiandaoyun, row, stamp
from pydantic import ValidationError

from orderbridge.connectors.base import Batch
from orderbridge.connectors.rest.connector import RestConnector
from orderbridge.connectors.rest.settings import RestSettings


def block(cursor_type: str) -> dict[str, Any]:
    cond = [{"field": "updateTime", "type": "datetime", "method": "range", "value": ["{cursor}", "{until}"]}]
    if cursor_type != "window":
        cond[0]["value"] = ["{cursor}"]
        cond[0]["method"] = "gt"
    return {
        "type": "rest",
        "base_url": BASE,
        "auth": {"type": "bearer", "token": "jdy-key-0001"},
        "list": {
            "path": "/api/v5/app/entry/data/list",
            "method": "POST",
            "body": {"app_id": APP, "entry_id": ENTRY, "filter": {"rel": "and", "cond": cond}},
            "records": "data",
            "paging": {
                "style": "keyset",
                "param": "data_id",
                "field": "_id",
                "size_param": "limit",
                "size": 2,
                "param_in": "body",
            },
        },
        "cursor": {
            "type": cursor_type,
            "field": "updateTime",
            "overlap": "5m",
            "format": "%Y-%m-%dT%H:%M:%S.000Z",
            "timezone": "UTC",
        },
        "order_id": {"field": "order_no"},
        "fields": {"record_id": "_id", "updated": "updateTime"},
        "status": {
            "dimension": "fulfillment",
            "field": "order_status",
            "map": {"备货中": "preparing", "已发货": "shipped"},
        },
    }


def poll(settings: RestSettings, cursor: dict[str, Any] | None) -> tuple[list[Batch], dict[str, Any] | None]:
    batches = list(RestConnector("shop", settings).poll(cursor, threading.Event()))
    saved = next((b.cursor for b in reversed(batches) if b.cursor is not None), cursor)
    return batches, saved


def read(batches: list[Batch]) -> list[tuple[str | None, str | None]]:
    return [(r.order_ref, r.native_status.get("order_status")) for b in batches for r in b.records]


@pytest.mark.parametrize("cursor_type", ["window", "timestamp"])
def test_rows_changed_during_the_scan_are_read_next_time_only_with_a_window(cursor_type: str) -> None:
    """Page 1 is read; then row 1 (already passed) ships, and row 4 (ahead) is stamped ten minutes
    later (a slow scan, or a clock ahead). With a window fixed before the scan, neither counts in it and
    the next poll reads row 1's shipment; with a plain timestamp the scan reads row 4's change, moves
    the cursor past row 1's, and row 1's shipment is lost."""
    now = datetime.now(UTC)
    api = FakeJiandaoyun()
    api.put(*(row(n, "备货中", now - timedelta(hours=2, minutes=n)) for n in range(1, 6)))

    def change(answered: int) -> None:
        if answered == 1:
            moment = datetime.now(UTC)
            api.put(row(1, "已发货", moment), row(4, "已发货", moment + timedelta(minutes=10)))

    api.between = change
    settings = RestSettings.model_validate(block(cursor_type))
    with respx.mock(assert_all_called=True) as router:
        router.post(LIST).mock(side_effect=api)
        first, cursor = poll(settings, None)
        api.between = None
        time.sleep(1.05 - datetime.now(UTC).microsecond / 1e6)  # the window is written to the second
        second, later = poll(settings, cursor)
    assert ("DD000001", "已发货") not in read(first)
    if cursor_type == "timestamp":
        assert ("DD000004", "已发货") in read(first)
        assert ("DD000001", "已发货") not in read(second)  # the loss the window prevents
        return
    assert ("DD000004", "已发货") not in read(first)
    assert ("DD000001", "已发货") in read(second)
    uppers = {body["filter"]["cond"][0]["value"][1] for body in api.requests[:3]}
    assert len(uppers) == 1  # every page of the first scan asked for the same window
    assert later is not None and datetime.fromisoformat(later["value"]) <= datetime.now(UTC)


def test_the_whole_window_commits_its_upper_end_even_when_nothing_changed() -> None:
    """An empty window moves the cursor to its upper end (so the next window starts there, minus
    the overlap), never past it; the first request carries the overlap-shifted cursor."""
    api = FakeJiandaoyun()
    settings = RestSettings.model_validate(block("window"))
    before = datetime.now(UTC)
    with respx.mock() as router:
        router.post(LIST).mock(side_effect=api)
        batches, cursor = poll(settings, {"value": stamp(before - timedelta(days=1))})
    assert cursor is not None
    assert before.replace(microsecond=0) <= datetime.fromisoformat(cursor["value"]) <= datetime.now(UTC)
    assert cursor["value"] == api.requests[0]["filter"]["cond"][0]["value"][1].replace(".000Z", "+00:00")
    asked_from = api.requests[0]["filter"]["cond"][0]["value"][0]
    assert asked_from == (before - timedelta(days=1, minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert batches[-1].records == []


def test_until_without_a_window_cursor_is_refused() -> None:
    """`{until}` is filled only by a window cursor; elsewhere it would be sent as it is."""
    bad = block("window")
    bad["cursor"]["type"] = "timestamp"
    with pytest.raises(ValidationError, match="only a `cursor` of type window"):
        RestSettings.model_validate(bad)
