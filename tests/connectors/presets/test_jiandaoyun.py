"""Polling a Jiandaoyun form against a v5 data/list that answers as the real one (tests/connectors/
jiandaoyun_api.py): keyset pages by `data_id`, the updateTime window, the company's widgets mapped in
YAML (order number, single-select status, amount), widget values of every shape (an address object, a
number), the 400 code 8303 throttle retried, a refused key failing without showing it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import respx
from connectors.presets.jiandaoyun_api import APP, BASE, ENTRY, LIST, FakeJiandaoyun, row

from orderbridge.connectors.base import Batch, SourceError
from orderbridge.connectors.presets.jiandaoyun import preset
from orderbridge.connectors.rest.connector import RestConnector
from orderbridge.connectors.rest.settings import RestSettings
from orderbridge.mapping.model import Dimension
from orderbridge.mapping.status import map_statuses


def block(**more: Any) -> dict[str, Any]:
    return {
        "type": "rest",
        "base_url": BASE,
        "auth": {"type": "bearer", "token": more.pop("key", "jdy-key-0001")},
        "retry": {"attempts": 3, "initial_wait": "0s", "max_wait": "1s"},
        "budget": preset.budget_block(),
        "list": preset.listing(APP, ENTRY, page_size=2, conditions=[]),
        "cursor": preset.cursor_block(),
        "order_id": {"field": "order_no"},
        "fields": {"record_id": "_id", "updated": "updateTime", "order_amount": "amount"},
        "status": {
            "dimension": "fulfillment",
            "field": "order_status",
            "map": {"已下单": "placed", "备货中": "preparing", "已发货": "shipped"},
        },
        **more,
    }


def poll(api: FakeJiandaoyun, cursor: dict[str, Any] | None = None, **more: Any) -> tuple[list[Batch], Any]:
    settings = RestSettings.model_validate(block(**more))
    with respx.mock() as router:
        router.post(LIST).mock(side_effect=api)
        batches = list(RestConnector("forms", settings).poll(cursor, threading.Event()))
    return batches, next((b.cursor for b in reversed(batches) if b.cursor is not None), cursor)


def test_rows_are_read_by_keyset_pages_with_the_companys_widgets() -> None:
    """Five rows over pages of two, each page asking after the last `_id`; the order number, status
    and amount come from the widgets named in the YAML; updateTime's `Z` is UTC; an address widget (an
    object) is carried in the raw record without disturbing anything."""
    now = datetime.now(UTC).replace(microsecond=0)
    api = FakeJiandaoyun()
    api.put(*(row(n, "备货中" if n % 2 else "已发货", now - timedelta(hours=n)) for n in range(1, 6)))
    batches, cursor = poll(api)
    records = [r for b in batches for r in b.records]
    assert sorted(r.order_ref or "" for r in records) == [f"DD{n:06d}" for n in range(1, 6)]
    assert [body.get("data_id") for body in api.requests] == [
        None,
        "6818417bca66cb3cc2120002",
        "6818417bca66cb3cc2120004",
    ]
    first = next(r for r in records if r.order_ref == "DD000001")
    assert first.record_id == "6818417bca66cb3cc2120001"
    assert first.status_at == now - timedelta(hours=1)
    assert str(first.amounts.order) == "1130.5"
    assert first.raw["ship_to"]["city"] == "长沙市"
    tables = RestSettings.model_validate(block()).status
    assert map_statuses(tables, first.native_status)[Dimension.fulfillment].status == "preparing"
    assert cursor is not None and datetime.fromisoformat(cursor["value"]) <= datetime.now(UTC)


def test_a_word_the_company_never_mapped_is_unmapped() -> None:
    """A new option added to the status widget (已作废) is reported, not guessed."""
    api = FakeJiandaoyun()
    api.put(row(1, "已作废", datetime.now(UTC) - timedelta(hours=1)))
    batches, _ = poll(api)
    tables = RestSettings.model_validate(block()).status
    found = map_statuses(tables, batches[0].records[0].native_status)
    assert found[Dimension.fulfillment].status == "unmapped"


def test_the_8303_throttle_is_retried_and_the_poll_goes_on() -> None:
    """HTTP 400 with code 8303 (超出请求频率限制) is Jiandaoyun's throttle: waited for, not a failure."""
    api = FakeJiandaoyun()
    api.put(row(1, "已发货", datetime.now(UTC) - timedelta(hours=1)))
    api.throttle_next = 2
    batches, _ = poll(api)
    assert [r.order_ref for b in batches for r in b.records] == ["DD000001"]


def test_a_refused_key_fails_without_showing_it() -> None:
    """A wrong API key is HTTP 401 with Jiandaoyun's code and message; the key is never shown."""
    api = FakeJiandaoyun()
    with pytest.raises(SourceError) as caught:
        poll(api, key="jdy-wrong-key-9999")
    assert "401" in str(caught.value) and "jdy-wrong-key-9999" not in str(caught.value)


def test_a_row_without_an_update_time_is_quarantined_and_the_page_goes_on() -> None:
    """A row whose updateTime is null (an import gone wrong) cannot place the cursor: it alone is
    quarantined."""
    api = FakeJiandaoyun()
    moment = datetime.now(UTC) - timedelta(hours=1)
    bad = row(2, "已发货", moment)
    api.put(row(1, "已发货", moment), bad, row(3, "已发货", moment))
    original = api.__call__

    def answer(request: Any) -> Any:
        response = original(request)
        rows = response.json()["data"]
        for item in rows:
            if item["_id"] == bad["_id"]:
                item["updateTime"] = None
        return type(response)(200, json={"data": rows})

    settings = RestSettings.model_validate(block())
    with respx.mock() as router:
        router.post(LIST).mock(side_effect=answer)
        batches = list(RestConnector("forms", settings).poll(None, threading.Event()))
    assert sorted(r.order_ref or "" for b in batches for r in b.records) == ["DD000001", "DD000003"]
    problems = [p for b in batches for p in b.problems]
    assert len(problems) == 1 and "updateTime" in problems[0].reason
