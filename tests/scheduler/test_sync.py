"""One sync into a real store: bad records are quarantined with where and why, the rest is stored;
a source that fails keeps what was committed; an unchanged spreadsheet is not re-read."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx
from openpyxl import Workbook

from orderbridge.config.loader import load_config
from orderbridge.connectors.base import ConnectorContext, SourceError
from orderbridge.reconciler.engine import Reconciler
from orderbridge.scheduler.sync import SyncResult, sync_system
from orderbridge.storage import cursors, discrepancies, observations, quarantine
from orderbridge.storage.db import Store


def config(tmp_path: Path, store_url: str) -> Path:
    path = tmp_path / "orderbridge.yaml"
    path.write_text(
        f"""
store: {{url: "{store_url}"}}
systems:
  purchasing:
    type: spreadsheet
    path: sheets/*.xlsx
    columns: {{order: 订单号, status: 状态, updated: 更新时间, qty: 数量}}
    timezone: Asia/Shanghai
    order_id: {{field: order, pattern: '(\\d+)$', format: 'SO-{{0:0>6}}'}}
    fields: {{ordered_qty: qty}}
    status: {{dimension: fulfillment, map: {{已下单: placed, 备货中: preparing, 已发货: shipped}}}}
  wms:
    type: rest
    base_url: https://wms.example.com/api
    auth: {{api_key: {{header: X-Api-Key, value: "${{TEST_WMS_KEY:-k-123456}}"}}}}
    list: {{path: /orders, params: {{updated_after: "{{cursor}}"}}, records: data,
            paging: {{style: cursor, param: cursor, next: next_cursor}}}}
    cursor: {{field: updated_at, overlap: 1m}}
    retry: {{attempts: 1}}
    order_id: {{field: order_ref, strip_prefix: [XSDD], pattern: '^(\\d+)$', format: 'SO-{{0:0>6}}'}}
    fields: {{record_id: wms_id, updated: updated_at}}
    status: {{dimension: fulfillment, map: {{PICKING: preparing, SHIPPED: shipped}}}}
""",
        encoding="utf-8",
    )
    return path


def workbook(path: Path, rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    book = Workbook()
    sheet = book.active
    sheet.append(["订单号", "状态", "更新时间", "数量"])
    for row in rows:
        sheet.append(row)
    book.save(path)


def test_malformed_spreadsheet_row_is_quarantined_and_the_rest_stored(tmp_path: Path, store_url: str) -> None:
    """A row with a bad date and one with an unreadable quantity go to quarantine with file, row and
    reason; the good rows are stored; reading the unchanged file again adds nothing."""
    loaded = load_config(config(tmp_path, store_url))
    workbook(
        tmp_path / "sheets" / "2026-11.xlsx",
        [
            ["SO-0001", "已下单", "2026/11/20 09:30", 10],
            ["SO-0002", "备货中", "next tuesday", 5],
            ["SO-0003", "已发货", "2026-11-21 10:00", "ten"],
            ["SO-0004", "备货中", "2026-11-21 11:00", 3],
        ],
    )
    store = Store(store_url)
    settings = loaded.config.systems["purchasing"]
    context = ConnectorContext(base_dir=loaded.base_dir)
    result = sync_system(store, "purchasing", settings, context)
    again = sync_system(store, "purchasing", settings, context)
    with store.engine.connect() as conn:
        keys = observations.order_keys(conn)
        bad = quarantine.listing(conn, "purchasing")
    store.close()
    assert keys == ["SO-000001", "SO-000004"]
    assert (result.records, result.quarantined, again.batches) == (2, 2, 0)
    assert [(q.location, q.times_seen) for q in bad] == [("2026-11.xlsx row 3", 1), ("2026-11.xlsx row 4", 1)]
    assert "next tuesday" in bad[0].reason and "ten" in bad[1].reason


def test_malformed_rest_record_is_quarantined_and_the_rest_of_the_page_stored(
    tmp_path: Path, store_url: str
) -> None:
    """A record without its timestamp and one whose order number does not normalise are quarantined;
    the valid records on the same page are stored and the cursor advances."""
    loaded = load_config(config(tmp_path, store_url))
    router = respx.mock(assert_all_called=True)
    router.get("https://wms.example.com/api/orders").respond(
        json={
            "data": [
                {
                    "wms_id": "OB-1",
                    "order_ref": "XSDD000001",
                    "status": "PICKING",
                    "updated_at": "2026-11-22T01:00:00Z",
                },
                {"wms_id": "OB-2", "order_ref": "XSDD000002", "status": "PICKING"},
                {
                    "wms_id": "OB-3",
                    "order_ref": "XSDD-ABC",
                    "status": "SHIPPED",
                    "updated_at": "2026-11-22T02:00:00Z",
                },
                {
                    "wms_id": "OB-4",
                    "order_ref": "XSDD000004",
                    "status": "SHIPPED",
                    "updated_at": "2026-11-22T03:00:00Z",
                },
            ],
            "next_cursor": None,
        }
    )
    store = Store(store_url)
    with router:
        result = sync_system(store, "wms", loaded.config.systems["wms"], ConnectorContext(base_dir=tmp_path))
    with store.engine.connect() as conn:
        keys = observations.order_keys(conn)
        bad = {q.raw["wms_id"]: q.reason for q in quarantine.listing(conn, "wms")}
        cursor = cursors.load(conn, "wms")
    store.close()
    assert keys == ["SO-000001", "SO-000004"]
    assert set(bad) == {"OB-2", "OB-3"}
    assert "updated_at" in bad["OB-2"]
    assert "XSDD-ABC" in bad["OB-3"] and "pattern" in bad["OB-3"]
    assert result.quarantined == 2
    assert cursor == {"value": "2026-11-22T03:00:00+00:00"}


def test_source_down_raises_a_clear_error_without_the_key_and_keeps_the_cursor(
    tmp_path: Path, store_url: str
) -> None:
    """A source answering 503 fails the sync with a SourceError naming the system, never the API key;
    the stored cursor is untouched so the next sync starts from the same point."""
    os.environ.pop("TEST_WMS_KEY", None)
    loaded = load_config(config(tmp_path, store_url))
    router = respx.mock(assert_all_called=True)
    router.get("https://wms.example.com/api/orders").mock(
        return_value=httpx.Response(503, text="down k-123456")
    )
    store = Store(store_url)
    with router, pytest.raises(SourceError) as failure:
        sync_system(store, "wms", loaded.config.systems["wms"], ConnectorContext(base_dir=tmp_path))
    with store.engine.connect() as conn:
        assert cursors.load(conn, "wms") is None
    store.close()
    assert "wms" in str(failure.value) and "503" in str(failure.value)
    assert "k-123456" not in str(failure.value)


def test_quarantined_rows_settle_when_their_file_is_read_again_without_them(
    tmp_path: Path, store_url: str
) -> None:
    """A bad row stays quarantined while the file is unchanged; once the file is fixed and read whole
    again, the entry is settled (kept, with when) and only rows still bad stay open."""
    loaded = load_config(config(tmp_path, store_url))
    sheet = tmp_path / "sheets" / "2026-11.xlsx"
    workbook(sheet, [["SO-0001", "已下单", "2026/11/20 09:30", 10], ["SO-0002", "备货中", "next tuesday", 5]])
    store = Store(store_url)
    settings = loaded.config.systems["purchasing"]
    context = ConnectorContext(base_dir=loaded.base_dir)
    sync_system(store, "purchasing", settings, context)
    workbook(
        sheet,
        [
            ["SO-0001", "已下单", "2026/11/20 09:30", 10],
            ["SO-0002", "备货中", "2026-11-21 09:00", 5],
            ["SO-0003", "备货中", "someday", 5],
        ],
    )
    os.utime(sheet, ns=(sheet.stat().st_mtime_ns + 10**9,) * 2)
    sync_system(store, "purchasing", settings, context)
    with store.engine.connect() as conn:
        still_open = quarantine.listing(conn, "purchasing")
        every = quarantine.listing(conn, "purchasing", include_resolved=True)
        keys = observations.order_keys(conn)
    store.close()
    assert [(q.location, q.resolved_at) for q in still_open] == [("2026-11.xlsx row 4", None)]
    settled = [q for q in every if q.resolved_at is not None]
    assert [q.location for q in settled] == ["2026-11.xlsx row 3"] and "next tuesday" in settled[0].reason
    assert keys == ["SO-000001", "SO-000002"]


def test_an_unreadable_file_settles_once_it_reads(tmp_path: Path, store_url: str) -> None:
    """A workbook without the configured columns is quarantined as a whole; fixed, it is read and the
    entry settles."""
    loaded = load_config(config(tmp_path, store_url))
    sheet = tmp_path / "sheets" / "2026-12.xlsx"
    sheet.parent.mkdir(parents=True)
    book = Workbook()
    book.active.append(["单号", "状态"])
    book.active.append(["SO-0009", "已下单"])
    book.save(sheet)
    os.utime(sheet, ns=(10**18, 10**18))  # long settled: not a file being written
    store = Store(store_url)
    settings = loaded.config.systems["purchasing"]
    context = ConnectorContext(base_dir=loaded.base_dir)
    first = sync_system(store, "purchasing", settings, context)
    workbook(sheet, [["SO-0009", "已下单", "2026-11-21 09:00", 1]])
    os.utime(sheet, ns=(10**18 + 10**9,) * 2)
    sync_system(store, "purchasing", settings, context)
    with store.engine.connect() as conn:
        still_open = quarantine.listing(conn, "purchasing")
        every = quarantine.listing(conn, "purchasing", include_resolved=True)
    store.close()
    assert first.quarantined == 1 and "订单号" in every[0].reason
    assert still_open == [] and every[0].resolved_at is not None


def test_a_quarantined_rest_record_settles_when_it_comes_back_readable(
    tmp_path: Path, store_url: str
) -> None:
    """A record quarantined for a missing timestamp is settled when a later poll reads it correctly;
    another bad record stays open."""
    loaded = load_config(config(tmp_path, store_url))
    bad = {"wms_id": "OB-2", "order_ref": "XSDD000002", "status": "PICKING"}
    other = {"wms_id": "OB-3", "order_ref": "XSDD000003", "status": "PICKING"}
    fixed = {**bad, "updated_at": "2026-11-22T05:00:00Z"}
    router = respx.mock(assert_all_called=True)
    router.get("https://wms.example.com/api/orders").side_effect = [
        httpx.Response(200, json={"data": [bad, other], "next_cursor": None}),
        httpx.Response(200, json={"data": [fixed, other], "next_cursor": None}),
    ]
    store = Store(store_url)
    settings = loaded.config.systems["wms"]
    with router:
        sync_system(store, "wms", settings, ConnectorContext(base_dir=tmp_path))
        sync_system(store, "wms", settings, ConnectorContext(base_dir=tmp_path))
    with store.engine.connect() as conn:
        still_open = quarantine.listing(conn, "wms")
        every = quarantine.listing(conn, "wms", include_resolved=True)
    store.close()
    assert [q.raw["wms_id"] for q in still_open] == ["OB-3"]
    assert [(q.raw["wms_id"], q.resolved_at is not None) for q in every] == [("OB-2", True), ("OB-3", False)]


def test_a_large_first_load_refreshes_the_planner_statistics(tmp_path: Path, store_url: str) -> None:
    """A sync writing thousands of new records has PostgreSQL analyse the tables it filled, so key
    lookups of the rest of the load are not planned as scans of an 'empty' table."""
    if not store_url.startswith("postgresql"):
        pytest.skip("planner statistics are PostgreSQL's; SQLite plans key lookups without them")
    from sqlalchemy import text

    rows = "\n".join(f"SO-{i:05d},备货中,2026-11-20 09:30,1" for i in range(1, 2601))
    (tmp_path / "big.csv").write_text(f"订单号,状态,更新时间,数量\n{rows}\n", encoding="utf-8")
    os.utime(tmp_path / "big.csv", ns=(10**18, 10**18))
    path = config(tmp_path, store_url)
    path.write_text(path.read_text(encoding="utf-8").replace("sheets/*.xlsx", "big.csv"), encoding="utf-8")
    loaded = load_config(path)
    store = Store(store_url)

    def analysed() -> object:
        with store.engine.connect() as conn:
            query = "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'observations'"
            return conn.execute(text(query)).scalar()

    before = analysed()
    result = sync_system(store, "purchasing", loaded.config.systems["purchasing"], ConnectorContext(tmp_path))
    after = analysed()
    store.close()
    assert result.new == 2600
    assert after is not None and (before is None or after > before)


class Sheets:
    """The purchasing system of `config` on a real store: write its workbooks, sync, reconcile."""

    def __init__(self, tmp_path: Path, store_url: str) -> None:
        self.loaded = load_config(config(tmp_path, store_url))
        self.store = Store(store_url)
        self.folder = tmp_path / "sheets"
        self.tick = 10**18

    def write(self, name: str, rows: list[list[object]]) -> Path:
        path = self.folder / name
        workbook(path, rows)
        self.tick += 10**9
        os.utime(path, ns=(self.tick, self.tick))  # long settled, and newer than the last version
        return path

    def sync(self) -> SyncResult:
        settings = self.loaded.config.systems["purchasing"]
        return sync_system(
            self.store, "purchasing", settings, ConnectorContext(base_dir=self.loaded.base_dir)
        )

    def open_rules(self) -> list[tuple[str, str]]:
        Reconciler(self.store, self.loaded.config.reconcile, ("purchasing", "wms")).run()
        with self.store.engine.connect() as conn:
            return [(d.order_key, d.rule) for d in discrepancies.listing(conn, status="open")]


@pytest.fixture
def sheets(tmp_path: Path, store_url: str) -> Iterator[Sheets]:
    opened = Sheets(tmp_path, store_url)
    try:
        yield opened
    finally:
        opened.store.close()


def test_respelling_an_id_retires_the_old_record_and_no_duplicate_stays(sheets: Sheets) -> None:
    """`po-2025-0006 ` corrected to `PO-2025-0006`: the complete read no longer holds the old spelling,
    so its record is retired (its history kept) and no duplicate stays open; the sync says so."""
    sheets.write("2026-11.xlsx", [["po-2025-0006 ", "已下单", "2026/11/20 09:30", 10]])
    sheets.sync()
    sheets.write(
        "2026-11.xlsx",
        [
            ["po-2025-0006 ", "已下单", "2026/11/20 09:30", 10],
            ["PO-2025-0006", "备货中", "2026/11/21 09:30", 10],
        ],
    )
    sheets.sync()
    assert sheets.open_rules() == [("SO-000006", "duplicate")]
    sheets.write("2026-11.xlsx", [["PO-2025-0006", "备货中", "2026/11/21 09:30", 10]])
    fixed = sheets.sync()
    assert fixed.retired_from == {"2026-11.xlsx": 1} and fixed.unread == []
    assert sheets.open_rules() == []
    with sheets.store.engine.connect() as conn:
        [current] = observations.observations_of(conn, "SO-000006")
        trail = {e.record_id for e in observations.timeline(conn, "SO-000006")}
        [gone] = observations.retired(conn, "SO-000006")
    assert current.record_id == "2026-11.xlsx:PO-2025-0006"
    assert trail == {"2026-11.xlsx:po-2025-0006", "2026-11.xlsx:PO-2025-0006"}
    assert gone["record_id"] == "2026-11.xlsx:po-2025-0006"


def test_a_file_gone_from_the_glob_retires_its_records_and_their_discrepancies_resolve(
    sheets: Sheets,
) -> None:
    """A workbook deleted from the folder takes its records with it: an unmapped status only it held
    resolves; the other workbook's records stay. Put back, its records are back."""
    sheets.write("a.xlsx", [["SO-0001", "已取消", "2026/11/20 09:30", 1]])
    sheets.write("b.xlsx", [["SO-0002", "已下单", "2026/11/20 09:30", 1]])
    sheets.sync()
    assert sheets.open_rules() == [("SO-000001", "unmapped_status")]
    (sheets.folder / "a.xlsx").unlink()
    result = sheets.sync()
    assert result.retired_from == {"a.xlsx": 1}
    assert sheets.open_rules() == []
    with sheets.store.engine.connect() as conn:
        assert observations.order_keys(conn) == ["SO-000002"]
    sheets.write("a.xlsx", [["SO-0001", "已取消", "2026/11/20 09:30", 1]])
    back = sheets.sync()
    assert back.changed == 1 and sheets.open_rules() == [("SO-000001", "unmapped_status")]


def test_a_glob_matching_nothing_fails_the_sync_and_retires_nothing(sheets: Sheets) -> None:
    """Every workbook gone at once (a share not mounted) is an error, not a source emptied: the sync
    fails naming the pattern, and the records read before stay."""
    sheets.write("a.xlsx", [["SO-0001", "已下单", "2026/11/20 09:30", 1]])
    sheets.sync()
    (sheets.folder / "a.xlsx").unlink()
    with pytest.raises(SourceError, match=r"no file matches sheets/\*\.xlsx"):
        sheets.sync()
    with sheets.store.engine.connect() as conn:
        assert observations.order_keys(conn) == ["SO-000001"]


def test_a_sync_says_which_files_gave_nothing_usable(sheets: Sheets) -> None:
    """A workbook without the configured headers, and one whose every row is quarantined, are listed as
    unread (the command exits non-zero on them); a good workbook beside them is not."""
    path = sheets.folder / "bad.xlsx"
    sheets.folder.mkdir(parents=True)
    book = Workbook()
    book.active.append(["单号", "状态"])
    book.save(path)
    os.utime(path, ns=(10**18, 10**18))
    sheets.write("dates.xlsx", [["SO-0001", "已下单", "someday", 1], ["SO-0002", "已下单", "never", 1]])
    sheets.write("good.xlsx", [["SO-0003", "已下单", "2026/11/20 09:30", 1]])
    result = sheets.sync()
    assert result.records == 1 and len(result.unread) == 2
    assert result.unread[0].startswith("bad.xlsx: column '订单号' (order), column '更新时间' (updated)")
    assert result.unread[1] == "dates.xlsx: none of its 2 records could be read"
