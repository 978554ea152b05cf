"""Hostile records among good ones, through the real REST connector into each real store: each bad
record is quarantined with its place and a reason, the rest of the page is stored, the cursor moves on,
and the next poll is not blocked. The same records give the same result on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import respx
from sqlalchemy import select

from orderbridge.config.loader import load_config
from orderbridge.connectors.base import ConnectorContext
from orderbridge.scheduler.sync import sync_system
from orderbridge.storage import cursors, quarantine
from orderbridge.storage.db import Store
from orderbridge.storage.tables import observations

CONFIG = """
store: {{url: "{store_url}"}}
systems:
  wms:
    type: rest
    base_url: https://wms.example.com/api
    auth: {{bearer: "tok-hostile-1"}}
    list: {{path: /orders, params: {{updated_after: "{{cursor}}"}}, records: data}}
    cursor: {{field: updated_at, overlap: 1m}}
    retry: {{attempts: 1}}
    order_id: {{field: order_ref, strip_prefix: [XSDD], pattern: '^(\\d+)$', format: 'SO-{{0:0>6}}'}}
    fields: {{record_id: wms_id, updated: updated_at, external_ref: po}}
    status: {{dimension: fulfillment, map: {{PICKING: preparing, SHIPPED: shipped}}}}
"""


def record(wms_id: str, minute: int, **fields: Any) -> str:
    """One record as JSON text; values in `fields` are JSON text already (so a test can send what
    Python's json module would never write: lone surrogates, NaN)."""
    body = {
        "wms_id": json.dumps(wms_id),
        "order_ref": json.dumps(f"XSDD{minute:06d}"),
        "status": '"PICKING"',
        "updated_at": json.dumps(f"2026-11-22T01:{minute:02d}:00Z"),
        **fields,
    }
    return "{" + ", ".join(f'"{key}": {value}' for key, value in body.items()) + "}"


HOSTILE = {
    "OB-date": record("OB-date", 2, updated_at='"2025年13月45日"'),
    "OB-epoch": record("OB-epoch", 3, updated_at="1e20"),
    "OB-surrogate": record("OB-surrogate", 4, customer='"Zh\\ud800ang"'),
    "OB-nul": record("OB-nul", 5, customer='"a\\u0000b"'),
    "OB-long": record("OB-long", 6, order_ref=json.dumps("XSDD" + "7" * 300)),
    "OB-nan": record("OB-nan", 7, amount="NaN"),
    "OB-object": record("OB-object", 8, po='{"ref": "PO-1"}'),
    "x" * 300: record("x" * 300, 9),
}
GOOD = {
    "OB-1": record("OB-1", 1),
    "OB-null-status": record("OB-null-status", 10, status="null"),
    "OB-list-status": record("OB-list-status", 11, status='["PICKING", "PACKED"]'),
    "OB-last": record("OB-last", 12, status='"SHIPPED"'),
}


def page() -> bytes:
    items = [
        GOOD["OB-1"],
        *HOSTILE.values(),
        *(GOOD[k] for k in ("OB-null-status", "OB-list-status", "OB-last")),
    ]
    return ('{"data": [' + ", ".join(items) + "]}").encode()


def test_hostile_records_are_quarantined_and_the_rest_stored_the_same_on_both_stores(
    tmp_path: Path, store_url: str
) -> None:
    """A date that does not exist, an epoch beyond year 9999, a lone surrogate, a NUL character, an
    order number of 300 characters, NaN, an object where a reference belongs and a record id of 300
    characters: each is quarantined with where it was and why; the good records of the same page are
    stored, the cursor advances past all of them, and a second poll of the same page is not blocked."""
    (tmp_path / "orderbridge.yaml").write_text(CONFIG.format(store_url=store_url), encoding="utf-8")
    loaded = load_config(tmp_path / "orderbridge.yaml")
    settings = loaded.config.systems["wms"]
    store = Store(store_url)
    router = respx.mock(assert_all_called=True)
    router.get("https://wms.example.com/api/orders").respond(
        content=page(), headers={"Content-Type": "application/json"}
    )
    try:
        with router:
            first = sync_system(store, "wms", settings, ConnectorContext(base_dir=tmp_path))
            second = sync_system(store, "wms", settings, ConnectorContext(base_dir=tmp_path))
        with store.engine.connect() as conn:
            stored = {row.record_id: row for row in conn.execute(select(observations))}
            bad = quarantine.listing(conn, "wms")
            cursor = cursors.load(conn, "wms")
    finally:
        store.close()
    assert set(stored) == set(GOOD)
    assert (first.records, first.new, first.quarantined, second.new, second.quarantined) == (9, 4, 8, 0, 8)
    assert cursor == {"value": "2026-11-22T01:12:00+00:00"}
    reasons = {str(q.raw.get("wms_id"))[:12]: q for q in bad}
    assert set(reasons) == {key[:12] for key in HOSTILE}
    assert all(q.times_seen == 2 for q in bad)
    assert all(q.location.startswith("page 1") for q in bad)
    expected = {
        "OB-date": "2025年13月45日",
        "OB-epoch": "out of the range of dates",
        "OB-surrogate": "lone surrogate",
        "OB-nul": "NUL character",
        "OB-long": "at most 255",
        "OB-nan": "NaN",
        "OB-object": "holds an object",
        "x" * 12: "at most 255",
    }
    for key, words in expected.items():
        assert words in reasons[key].reason, (key, reasons[key].reason)
    assert "'customer'" in reasons["OB-surrogate"].reason and "'customer'" in reasons["OB-nul"].reason
    # what quarantine keeps of them is readable back, with the unstorable characters replaced
    assert reasons["OB-surrogate"].raw["customer"] == "Zh\ufffdang"
    assert reasons["OB-nul"].raw["customer"] == "a\ufffdb"
    assert reasons["OB-nan"].raw["amount"] == "nan"  # kept as text
    # a null status is kept and shown as unmapped with no native word; a list status as its JSON
    assert stored["OB-null-status"].statuses["fulfillment"] == {
        "status": "unmapped",
        "native": None,
        "implied": False,
    }
    assert stored["OB-list-status"].native_status == {"status": '["PICKING", "PACKED"]'}
    assert stored["OB-list-status"].statuses["fulfillment"]["status"] == "unmapped"
    assert stored["OB-last"].statuses["fulfillment"]["status"] == "shipped"


@pytest.mark.parametrize("status", ["null", '""'])
def test_a_record_without_a_status_is_reported_by_the_unmapped_status_rule(
    tmp_path: Path, store_url: str, status: str
) -> None:
    """A record whose status is null or empty opens an `unmapped_status` discrepancy that says the
    status is missing, instead of being stored as saying nothing."""
    from orderbridge.reconciler.engine import Reconciler

    (tmp_path / "orderbridge.yaml").write_text(CONFIG.format(store_url=store_url), encoding="utf-8")
    loaded = load_config(tmp_path / "orderbridge.yaml")
    router = respx.mock(assert_all_called=True)
    router.get("https://wms.example.com/api/orders").respond(
        content=('{"data": [' + record("OB-1", 1, status=status) + "]}").encode(),
        headers={"Content-Type": "application/json"},
    )
    store = Store(store_url)
    try:
        with router:
            sync_system(store, "wms", loaded.config.systems["wms"], ConnectorContext(base_dir=tmp_path))
        result = Reconciler(store, loaded.config.reconcile, ("wms",), {}).run(full=True)
    finally:
        store.close()
    (opened,) = result.of("opened")
    assert opened.rule == "unmapped_status" and opened.order_key == "SO-000001"
    assert "no fulfillment status" in opened.summary


def test_hostile_spreadsheet_rows_are_quarantined_and_the_rest_stored(tmp_path: Path, store_url: str) -> None:
    """In a CSV: a date no calendar has, a number too large to be a date, a year beyond 9999 once
    taken to UTC, and an order number of 300 characters each quarantine their row (file and row named);
    the good rows are stored, on each store."""
    (tmp_path / "orderbridge.yaml").write_text(
        f"""
store: {{url: "{store_url}"}}
systems:
  sheet:
    type: spreadsheet
    path: sheet.csv
    timezone: America/New_York
    columns: {{order: 订单号, status: 状态, updated: 更新时间}}
    status: {{dimension: fulfillment, map: {{已下单: placed}}}}
""",
        encoding="utf-8",
    )
    rows = [
        "订单号,状态,更新时间",
        "SO-1,已下单,2026-11-20 09:30",
        "SO-2,已下单,2025年13月45日",
        "SO-3,已下单,1e400",
        "SO-4,已下单,9999-12-31 23:00",
        f"SO-{'5' * 300},已下单,2026-11-20 09:30",
        "SO-6,已下单,2026-11-21 10:00",
    ]
    (tmp_path / "sheet.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    os.utime(tmp_path / "sheet.csv", ns=(10**18, 10**18))  # long settled
    loaded = load_config(tmp_path / "orderbridge.yaml")
    store = Store(store_url)
    try:
        result = sync_system(
            store, "sheet", loaded.config.systems["sheet"], ConnectorContext(base_dir=tmp_path)
        )
        with store.engine.connect() as conn:
            stored = sorted(row.order_key for row in conn.execute(select(observations)))
            bad = {q.location: q.reason for q in quarantine.listing(conn, "sheet")}
    finally:
        store.close()
    assert stored == ["SO-1", "SO-6"] and (result.records, result.new, result.quarantined) == (4, 2, 4)
    assert set(bad) == {f"sheet.csv row {row}" for row in (3, 4, 5, 6)}
    assert "not a valid date" in bad["sheet.csv row 3"] and "range of dates" in bad["sheet.csv row 5"]
    assert "at most 255" in bad["sheet.csv row 6"]


def test_a_record_the_store_refuses_after_mapping_is_quarantined_alone(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should the store refuse a record that mapping let through (here the store is made to refuse
    one), the batch is written again without it: that record is quarantined with the store's reason,
    the others and the cursor are committed, and the poll does not fail."""
    from sqlalchemy.exc import DataError

    from orderbridge.scheduler import sync

    real_ingest = sync.ingest

    def refusing(conn: Any, items: Any, *args: Any, **kwargs: Any) -> Any:
        if any(obs.record_id == "OB-2" for obs, _ in items):
            raise DataError("INSERT INTO observations ...", {}, ValueError("value out of range"))
        return real_ingest(conn, items, *args, **kwargs)

    monkeypatch.setattr(sync, "ingest", refusing)
    (tmp_path / "orderbridge.yaml").write_text(CONFIG.format(store_url=store_url), encoding="utf-8")
    loaded = load_config(tmp_path / "orderbridge.yaml")
    router = respx.mock(assert_all_called=True)
    body = ", ".join(record(f"OB-{n}", n) for n in (1, 2, 3))
    router.get("https://wms.example.com/api/orders").respond(
        content=f'{{"data": [{body}]}}'.encode(), headers={"Content-Type": "application/json"}
    )
    store = Store(store_url)
    try:
        with router:
            result = sync_system(
                store, "wms", loaded.config.systems["wms"], ConnectorContext(base_dir=tmp_path)
            )
        with store.engine.connect() as conn:
            stored = sorted(row.record_id for row in conn.execute(select(observations)))
            (bad,) = quarantine.listing(conn, "wms")
            cursor = cursors.load(conn, "wms")
    finally:
        store.close()
    assert stored == ["OB-1", "OB-3"] and (result.records, result.new, result.quarantined) == (3, 2, 1)
    assert bad.location == "page 1: record OB-2" and "the store refused it: ValueError" in bad.reason
    assert cursor == {"value": "2026-11-22T01:03:00+00:00"}
