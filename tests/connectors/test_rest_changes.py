"""Records changing at the source while a listing runs, against real HTTP servers on 127.0.0.1: the
ERP's page numbers sorted by (modified, id) with an inclusive `modified_since`, an offset API with an
exclusive `updated_after`, and a run of records sharing one timestamp longer than a page. Every record
ends up stored, once, with its newest state; nothing is read twice into history."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from orderbridge.config.loader import load_config
from orderbridge.connectors.base import ConnectorContext
from orderbridge.demo.simulators import Record, Reply, SimulatedAPI, SimulatedERP, erp_time, wms_time
from orderbridge.scheduler.sync import SyncResult, sync_system
from orderbridge.storage.db import Store
from orderbridge.storage.tables import observations, status_history

T0 = datetime(2026, 11, 1, tzinfo=UTC)


class Changing:
    """Runs `change` once, between the server's `after`-th answer and the request after it (the
    simulators answer with their live records, so changing them during an answer would tear it)."""

    def __init__(self, after: int, change: Callable[[], None]) -> None:
        self.after, self.change, self.received = after, change, 0

    def arrived(self) -> None:
        if self.received == self.after:
            self.change()
        self.received += 1


class ChangingERP(SimulatedERP):
    changing: Changing | None = None

    def handle(self, method: str, target: str, headers: Mapping[str, str]) -> Reply:
        if self.changing is not None:
            self.changing.arrived()
        return super().handle(method, target, headers)


class OffsetShop(SimulatedAPI):
    """An order API paged by offset/limit (limit at most 50), sorted by (updated_at, id), filtered by
    an exclusive `updated_after`; `{"orders": [...]}`. Records look like
    {"id": 7, "number": "SO-000007", "state": "open", "updated_at": "2026-11-01T00:00:07Z"}."""

    key_field = "id"
    name = "shop"
    changing: Changing | None = None

    def _authorised(self, headers: Mapping[str, str]) -> bool:
        return True

    def _unauthorised(self) -> Reply:
        return Reply(401, {})

    def _route(self, method: str, path: str, query: dict[str, str]) -> Reply:
        after = datetime.fromisoformat(query["updated_after"]) if query.get("updated_after") else None
        offset, limit = int(query.get("offset", 0)), min(int(query.get("limit", 50)), 50)
        chosen = sorted(
            (r for r in self._records if after is None or datetime.fromisoformat(r["updated_at"]) > after),
            key=lambda r: (r["updated_at"], r["id"]),
        )
        return Reply(200, {"orders": chosen[offset : offset + limit]})

    def handle(self, method: str, target: str, headers: Mapping[str, str]) -> Reply:
        if self.changing is not None:
            self.changing.arrived()
        return super().handle(method, target, headers)


def erp_record(number: int, modified: datetime, status: str = "备货中") -> Record:
    return {
        "id": 10000 + number,
        "bill_no": f"SO-2026-{number:04d}",
        "status": status,
        "modified": erp_time(modified),
        "amount": "10.00",
        "currency": "CNY",
        "qty": 1,
        "customer_po": f"PO-{number}",
    }


ERP_CONFIG = """
store: {{url: "{store}"}}
systems:
  erp:
    type: rest
    base_url: {url}
    auth: {{bearer: demo-erp-token}}
    list:
      path: /api/v1/sale-orders
      params: {{modified_since: "{{cursor}}"}}
      records: data.items
      paging: {{style: page, param: page, size_param: page_size, size: {size}}}
    cursor: {{field: modified, overlap: 5m, sorted: true, initial: "2026-01-01T00:00:00+08:00"}}
    errors: {{field: code, ok: [0], message: message}}
    timezone: Asia/Shanghai
    order_id: {{field: bill_no, pattern: 'SO-\\d{{4}}-(\\d+)', format: 'SO-{{0:0>6}}'}}
    fields: {{record_id: id, updated: modified}}
    status: {{dimension: fulfillment, field: status, map: {{备货中: preparing, 已发货: shipped}}}}
"""

SHOP_CONFIG = """
store: {{url: "{store}"}}
systems:
  shop:
    type: rest
    base_url: {url}
    list:
      path: /orders
      params: {{updated_after: "{{cursor}}"}}
      records: orders
      paging: {{style: offset, param: offset, size_param: limit, size: 50}}
    cursor: {{field: updated_at, overlap: 0s, sorted: true, initial: "2026-01-01T00:00:00Z"}}
    order_id: {{field: number}}
    fields: {{record_id: id, updated: updated_at}}
    status: {{dimension: fulfillment, field: state, map: {{open: approved, shipped: shipped}}}}
"""


def sync(tmp_path: Path, text: str, system: str) -> tuple[Store, SyncResult]:
    path = tmp_path / "orderbridge.yaml"
    path.write_text(text, encoding="utf-8")
    loaded = load_config(path)
    store = Store(loaded.config.store.url, loaded.base_dir)
    context = ConnectorContext(base_dir=loaded.base_dir)
    result = sync_system(store, system, loaded.config.systems[system], context)
    return store, result


def stored(store: Store, system: str) -> dict[str, dict[str, Any]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(observations.c.record_id, observations.c.native_status).where(
                observations.c.system == system
            )
        )
        return {row.record_id: row.native_status for row in rows}


def history_rows(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(status_history)).scalar_one())


@pytest.fixture
def erp() -> Iterator[ChangingERP]:
    with ChangingERP() as server:
        yield server


@pytest.fixture
def shop() -> Iterator[OffsetShop]:
    with OffsetShop() as server:
        yield server


def test_records_changed_during_a_page_numbered_listing_are_all_stored(
    tmp_path: Path, store_url: str, erp: ChangingERP
) -> None:
    """The demo ERP's shape: 2,000 orders, page numbers sorted by (modified, id), `modified_since`
    inclusive. After the third page, 100 orders already read get a newer `modified`; they move to the
    end of the listing and every later order one place back. Paging by page number skipped 100 orders
    at the page boundary and moved the cursor past them; paging by the cursor reads all 2,000, the
    changed ones with their new status, and writes each change to history once."""
    erp.set_records([erp_record(n, T0 + timedelta(seconds=n)) for n in range(1, 2001)])

    def change() -> None:
        for n in range(100, 200):
            erp.update_record(
                10000 + n, modified=erp_time(T0 + timedelta(hours=2, seconds=n)), status="已发货"
            )

    erp.changing = Changing(after=3, change=change)
    store, result = sync(tmp_path, ERP_CONFIG.format(store=store_url, url=erp.url, size=100), "erp")
    try:
        found = stored(store, "erp")
        assert len(found) == 2000, f"{2000 - len(found)} orders were never stored"
        assert all(found[str(10000 + n)]["status"] == "已发货" for n in range(100, 200))
        assert history_rows(store) == 2000 + 100  # each order once, each change once more
        assert result.quarantined == 0
    finally:
        store.close()


def test_records_changed_during_an_offset_listing_are_all_stored(
    tmp_path: Path, store_url: str, shop: OffsetShop
) -> None:
    """An offset API sorted by (updated_at, id) with an exclusive `updated_after`: 305 orders, 5 of
    those already read change after the second page. Offsets skipped 5 orders; paging by the cursor
    (offset 0 from the newest value read in full) stores all 305, the changed ones as shipped."""
    shop.set_records(
        [
            {
                "id": n,
                "number": f"SO-{n:06d}",
                "state": "open",
                "updated_at": wms_time(T0 + timedelta(seconds=n)),
            }
            for n in range(1, 306)
        ]
    )

    def change() -> None:
        for n in range(10, 15):
            shop.update_record(n, state="shipped", updated_at=wms_time(T0 + timedelta(hours=1, seconds=n)))

    shop.changing = Changing(after=2, change=change)
    store, _ = sync(tmp_path, SHOP_CONFIG.format(store=store_url, url=shop.url), "shop")
    try:
        found = stored(store, "shop")
        assert len(found) == 305, f"{305 - len(found)} orders were never stored"
        assert all(found[str(n)]["state"] == "shipped" for n in range(10, 15))
        assert history_rows(store) == 305 + 5
    finally:
        store.close()


def test_a_run_of_equal_timestamps_longer_than_a_page_loses_nothing_when_it_changes(
    tmp_path: Path, store_url: str, erp: ChangingERP
) -> None:
    """A bulk import gave 250 orders the same `modified`; 100 more follow a second apart. Pages of 50
    cannot move past a value shared by a whole page, so the run is read by page number, and 10 of its
    first orders change after the second page (moving the rest one place back each). The run is read
    again until a pass misses nothing: all 350 orders are stored, and the cursor ends at the newest."""
    bulk = T0 + timedelta(minutes=1)
    records = [erp_record(n, bulk) for n in range(1, 251)]
    records += [erp_record(n, bulk + timedelta(seconds=n)) for n in range(251, 351)]
    erp.set_records(records)

    def change() -> None:
        for n in range(5, 15):
            erp.update_record(
                10000 + n, modified=erp_time(T0 + timedelta(hours=3, seconds=n)), status="已发货"
            )

    erp.changing = Changing(after=2, change=change)
    store, _ = sync(tmp_path, ERP_CONFIG.format(store=store_url, url=erp.url, size=50), "erp")
    try:
        found = stored(store, "erp")
        assert len(found) == 350, f"{350 - len(found)} orders were never stored"
        assert all(found[str(10000 + n)]["status"] == "已发货" for n in range(5, 15))
        assert history_rows(store) == 350 + 10
    finally:
        store.close()


def test_a_second_sync_after_changes_reads_only_them(
    tmp_path: Path, store_url: str, erp: ChangingERP
) -> None:
    """After a full first sync, 30 orders change: the next sync stores exactly those changes (plus the
    overlap's re-reads, written as unchanged) and nothing twice."""
    erp.set_records([erp_record(n, T0 + timedelta(seconds=n)) for n in range(1, 501)])
    text = ERP_CONFIG.format(store=store_url, url=erp.url, size=100)
    store, first = sync(tmp_path, text, "erp")
    store.close()
    later = T0 + timedelta(hours=1)
    for n in range(1, 31):
        erp.update_record(10000 + n, modified=erp_time(later + timedelta(seconds=n)), status="已发货")
    store, second = sync(tmp_path, text, "erp")
    try:
        assert first.new == 500 and second.new == 0 and second.changed == 30
        assert history_rows(store) == 530
    finally:
        store.close()
