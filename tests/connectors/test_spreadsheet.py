"""The spreadsheet connector on real CSV and XLSX files written into a temporary folder."""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from orderbridge.connectors.base import Batch, ConnectorContext, SourceError
from orderbridge.connectors.spreadsheet.connector import SpreadsheetConnector
from orderbridge.connectors.spreadsheet.settings import SpreadsheetSettings
from orderbridge.mapping.model import Dimension
from orderbridge.mapping.status import map_statuses

SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADERS = ["订单号", "状态", "更新时间", "数量"]


def write_xlsx(
    path: Path, rows: list[list[Any]], *, headers: list[str] = HEADERS, title: str = "订单"
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def age(*paths: Path, seconds: int = 3600) -> None:
    """Backdate files, as if their writer had finished long ago."""
    for path in paths:
        moment = time.time_ns() - seconds * 1_000_000_000
        os.utime(path, ns=(moment, moment))


def connector(base_dir: Path, path: str = "*.xlsx", **overrides: Any) -> SpreadsheetConnector:
    settings = SpreadsheetSettings.model_validate(
        {
            "path": path,
            "columns": {"order": "订单号", "status": "状态", "updated": "更新时间", "ordered_qty": "数量"},
            "status": {
                "dimension": "fulfillment",
                "field": "status",
                "map": {"已下单": "placed", "备货中": "preparing", "已发货": "shipped"},
            },
            "timezone": "Asia/Shanghai",
            **overrides,
        }
    )
    return SpreadsheetConnector("purchasing", settings, ConnectorContext(base_dir=base_dir))


def poll(source: SpreadsheetConnector, cursor: dict[str, Any] | None = None) -> list[Batch]:
    return list(source.poll(cursor, threading.Event()))


def records_by_id(batches: list[Batch]) -> dict[str, Any]:
    return {record.record_id: record for batch in batches for record in batch.records}


def test_xlsx_rows_become_records_with_dates_in_every_form(tmp_path: Path) -> None:
    """Chinese headers, a real date cell, a text date and an Excel serial number all give the right
    zoned status time; status words and quantities come through; raw rows are JSON-safe."""
    write_xlsx(
        tmp_path / "2026-11.xlsx",
        [
            ["SO-1", "已下单", datetime(2026, 11, 19, 8, 0), 10],
            ["SO-2", "备货中", "2026/11/20 09:30", "5"],
            ["SO-3", "已发货", 46347.5, 2.5],
        ],
    )
    [batch] = poll(connector(tmp_path))
    assert batch.label == "2026-11.xlsx" and batch.problems == []
    records = records_by_id([batch])
    assert sorted(records) == ["2026-11.xlsx:SO-1", "2026-11.xlsx:SO-2", "2026-11.xlsx:SO-3"]
    first, second, third = (records[f"2026-11.xlsx:SO-{n}"] for n in (1, 2, 3))
    assert first.status_at == datetime(2026, 11, 19, 8, 0, tzinfo=SHANGHAI)
    assert second.status_at == datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI)
    assert third.status_at == datetime(2026, 11, 21, 12, 0, tzinfo=SHANGHAI)
    assert first.order_ref == "SO-1" and first.system == "purchasing"
    assert second.native_status == {"status": "备货中"}
    settings = connector(tmp_path).settings
    assert map_statuses(settings.status, second.native_status)[Dimension.fulfillment].status == "preparing"
    assert (first.quantities.ordered, second.quantities.ordered, third.quantities.ordered) == (
        Decimal(10),
        Decimal(5),
        Decimal("2.5"),
    )
    assert first.raw == {"订单号": "SO-1", "状态": "已下单", "更新时间": "2026-11-19T08:00:00", "数量": 10}
    json.dumps([r.raw for r in records.values()])


def test_csv_with_bom_sniffed_delimiter_and_loosely_written_headers(tmp_path: Path) -> None:
    """A UTF-8 CSV with a byte-order mark and semicolons is read; headers match despite spaces and case,
    and columns not listed in `columns` can still be used by their header text."""
    text = "\ufeff Order No ;状态;更新时间;数量;备注\nSO-7;已发货;2026年11月20日 10:05;3;客户催货\n"
    (tmp_path / "finance.csv").write_bytes(text.encode("utf-8"))
    source = connector(
        tmp_path,
        "finance.csv",
        columns={"order": "order no", "status": "状态", "updated": "更新时间", "ordered_qty": "数量"},
        fields={"reason": "备注"},
    )
    [batch] = poll(source)
    assert batch.problems == []
    [record] = batch.records
    assert record.record_id == "finance.csv:SO-7"
    assert record.native_status == {"status": "已发货"}
    assert record.status_at == datetime(2026, 11, 20, 10, 5, tzinfo=SHANGHAI)
    assert record.reason == "客户催货"
    assert record.quantities.ordered == Decimal(3)


def test_bad_rows_are_quarantined_with_file_row_and_reason(tmp_path: Path) -> None:
    """A bad date, a non-numeric quantity or a missing order number quarantines only that row, named
    by file and real sheet row; blank rows are skipped silently and the other rows still arrive."""
    write_xlsx(
        tmp_path / "purchasing.xlsx",
        [
            ["SO-1", "已下单", "2026/11/20 09:30", 1],  # row 2
            ["SO-2", "已下单", "下周一", 1],  # row 3
            [None, None, None, None],  # row 4
            ["SO-3", "备货中", "2026/11/20 09:30", "十"],  # row 5
            [None, "已发货", "2026/11/20 09:30", 2],  # row 6
            ["SO-4", "已发货", "2026/11/20 09:30", 2],  # row 7
        ],
    )
    [batch] = poll(connector(tmp_path))
    assert sorted(records_by_id([batch])) == ["purchasing.xlsx:SO-1", "purchasing.xlsx:SO-4"]
    problems = {p.location: p for p in batch.problems}
    assert sorted(problems) == ["purchasing.xlsx row 3", "purchasing.xlsx row 5", "purchasing.xlsx row 6"]
    assert "下周一" in problems["purchasing.xlsx row 3"].reason
    assert "'ordered_qty'" in problems["purchasing.xlsx row 5"].reason
    assert "十" in problems["purchasing.xlsx row 5"].reason
    assert problems["purchasing.xlsx row 6"].reason == "no order number: column '订单号' is empty"
    assert problems["purchasing.xlsx row 3"].raw == {
        "订单号": "SO-2",
        "状态": "已下单",
        "更新时间": "下周一",
        "数量": 1,
    }


def test_repeated_orders_get_numbered_ids_and_files_keep_theirs_apart(tmp_path: Path) -> None:
    """The same order twice in one file gets '#2', '#3' so the duplicate rule can see it; the same
    order in two monthly files is two records named relative to the glob's folder."""
    write_xlsx(tmp_path / "sheets/10.xlsx", [["SO-1", "已下单", None, 1], ["SO-1", "备货中", None, 1]])
    write_xlsx(tmp_path / "sheets/11.xlsx", [["SO-1", "已发货", None, 1]] * 3)
    batches = poll(connector(tmp_path, "sheets/*.xlsx"))
    assert sorted(records_by_id(batches)) == [
        "10.xlsx:SO-1",
        "10.xlsx:SO-1#2",
        "11.xlsx:SO-1",
        "11.xlsx:SO-1#2",
        "11.xlsx:SO-1#3",
    ]
    assert records_by_id(batches)["10.xlsx:SO-1#2"].native_status == {"status": "备货中"}


def test_unchanged_file_is_not_read_again_until_it_changes(tmp_path: Path) -> None:
    """The cursor holds each file's size, mtime and hash; a file whose size and mtime match is not
    even opened, a touched but identical file only refreshes the cursor, an edited one is read."""
    path = write_xlsx(tmp_path / "p.xlsx", [["SO-1", "已下单", None, 1]])
    original, stat = path.read_bytes(), path.stat()
    source = connector(tmp_path)
    [first] = poll(source)
    assert first.cursor == {
        "files": {
            "p.xlsx": {
                "size": stat.st_size,
                "mtime_ns": stat.st_mtime_ns,
                "sha256": hashlib.sha256(original).hexdigest(),
            }
        }
    }
    assert (first.done, first.total) == (1, 1)
    assert poll(source, first.cursor) == []

    # Same size and mtime: trusted without opening, even though the bytes are now garbage.
    path.write_bytes(b"x" * stat.st_size)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert poll(source, first.cursor) == []

    path.write_bytes(original)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    [touched] = poll(source, first.cursor)
    assert touched.records == [] and touched.problems == []
    assert touched.cursor == {
        "files": {"p.xlsx": {**first.cursor["files"]["p.xlsx"], "mtime_ns": stat.st_mtime_ns + 5_000_000_000}}
    }
    assert poll(source, touched.cursor) == []

    write_xlsx(path, [["SO-1", "已发货", None, 1]])
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000_000))
    [edited] = poll(source, touched.cursor)
    assert [r.native_status for r in edited.records] == [{"status": "已发货"}]


def test_missing_column_fails_that_file_only_and_it_is_retried(tmp_path: Path) -> None:
    """A configured header absent from a file is one problem for the whole file; the file keeps no
    cursor entry (so it is read again once fixed) and the other files are still read."""
    write_xlsx(
        tmp_path / "a.xlsx", [["SO-1", "已下单", None, 1]], headers=["单号", "状态", "更新时间", "数量"]
    )
    write_xlsx(tmp_path / "b.xlsx", [["SO-2", "已下单", None, 1]])
    source = connector(tmp_path)
    first, second = poll(source)
    assert first.records == [] and len(first.problems) == 1
    assert first.problems[0].location == "a.xlsx"
    assert (
        first.problems[0].reason
        == "column '订单号' (order) not found; headers are: 单号, 状态, 更新时间, 数量"
    )
    assert first.cursor == {"files": {}}
    assert sorted(records_by_id([second])) == ["b.xlsx:SO-2"]
    assert second.cursor is not None and set(second.cursor["files"]) == {"b.xlsx"}

    [again] = poll(source, second.cursor)
    assert again.label == "a.xlsx" and again.problems
    write_xlsx(tmp_path / "a.xlsx", [["SO-1", "已下单", None, 1]])
    [fixed] = poll(source, again.cursor)
    assert sorted(records_by_id([fixed])) == ["a.xlsx:SO-1"]
    assert fixed.cursor is not None and set(fixed.cursor["files"]) == {"a.xlsx", "b.xlsx"}


def test_unreadable_and_unsupported_files_are_problems_and_lock_files_ignored(tmp_path: Path) -> None:
    """A corrupt XLSX, binary junk named .csv (both settled, not being written) and an unsupported
    suffix each give a file problem without a cursor entry; Excel's ~$ lock file is ignored; the good
    file is still read."""
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 this is not a workbook")
    (tmp_path / "junk.csv").write_bytes(bytes(range(256)))
    age(tmp_path / "broken.xlsx", tmp_path / "junk.csv")
    (tmp_path / "notes.txt").write_text("订单号\nSO-9\n", encoding="utf-8")
    (tmp_path / "~$good.xlsx").write_bytes(b"\x00lock")
    write_xlsx(tmp_path / "good.xlsx", [["SO-1", "已下单", None, 1]])
    batches = poll(connector(tmp_path, "*"))
    assert [b.label for b in batches] == ["broken.xlsx", "good.xlsx", "junk.csv", "notes.txt"]
    problems = {b.label: [p.reason for p in b.problems] for b in batches}
    assert problems["broken.xlsx"][0].startswith("cannot read the file")
    assert problems["junk.csv"] == ["cannot read the file: binary content, not a CSV text file"]
    assert problems["notes.txt"] == ["unsupported file type '.txt'; expected one of .csv, .xlsx, .xlsm"]
    assert sorted(records_by_id(batches)) == ["good.xlsx:SO-1"]
    assert batches[-1].cursor is not None and set(batches[-1].cursor["files"]) == {"good.xlsx"}


def test_stop_event_ends_the_poll_between_files(tmp_path: Path) -> None:
    """Once `stop` is set no further file is read, so shutdown waits for at most one file."""
    for month in ("09", "10", "11"):
        write_xlsx(tmp_path / f"{month}.xlsx", [["SO-1", "已下单", None, 1]])
    stop = threading.Event()
    polling = connector(tmp_path).poll(None, stop)
    first = next(polling)
    stop.set()
    assert list(polling) == []
    assert (first.label, first.done, first.total) == ("09.xlsx", 1, 3)
    assert first.cursor is not None and set(first.cursor["files"]) == {"09.xlsx"}


def test_row_order_does_not_change_record_ids(tmp_path: Path) -> None:
    """Sorting or inserting rows in a sheet keeps each order's record id, so nothing looks new."""
    path = write_xlsx(tmp_path / "p.xlsx", [["SO-1", "已下单", None, 1], ["SO-2", "备货中", None, 1]])
    source = connector(tmp_path)
    [before] = poll(source)
    write_xlsx(path, [["SO-0", "已下单", None, 1], ["SO-2", "备货中", None, 1], ["SO-1", "已下单", None, 1]])
    os.utime(path, ns=(0, path.stat().st_mtime_ns + 1_000_000_000))
    [after] = poll(source, before.cursor)
    statuses = {rid: r.native_status["status"] for rid, r in records_by_id([after]).items()}
    assert statuses == {"p.xlsx:SO-0": "已下单", "p.xlsx:SO-1": "已下单", "p.xlsx:SO-2": "备货中"}
    assert set(records_by_id([before])) < set(statuses)


def test_named_sheet_and_header_row_give_real_row_numbers(tmp_path: Path) -> None:
    """`sheet` picks the worksheet and `header_row` skips a title; problems cite the real sheet row."""
    path = tmp_path / "p.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["not this sheet"])
    sheet = book.create_sheet("采购")
    sheet.append(["2026年11月采购跟踪"])
    sheet.append(HEADERS)
    sheet.append(["SO-1", "已下单", "2026/11/20 09:30", 1])
    sheet.append(["SO-2", "已下单", "坏日期", 1])
    book.save(path)
    [batch] = poll(connector(tmp_path, "p.xlsx", sheet="采购", header_row=2))
    assert sorted(records_by_id([batch])) == ["p.xlsx:SO-1"]
    assert [p.location for p in batch.problems] == ["p.xlsx row 4"]


def test_a_removed_file_is_a_complete_read_of_nothing(tmp_path: Path) -> None:
    """A file deleted from the folder gives a batch of its own, complete and empty (so its records are
    retired), that takes it out of the cursor; the other files are not read again."""
    write_xlsx(tmp_path / "a.xlsx", [["SO-1", "已下单", None, 1]])
    write_xlsx(tmp_path / "b.xlsx", [["SO-2", "已下单", None, 1]])
    source = connector(tmp_path)
    cursor = poll(source)[-1].cursor
    (tmp_path / "a.xlsx").unlink()
    [batch] = poll(source, cursor)
    assert (batch.label, batch.complete, batch.records, batch.problems) == ("a.xlsx", True, [], [])
    assert batch.cursor is not None and set(batch.cursor["files"]) == {"b.xlsx"}
    assert poll(source, batch.cursor) == []


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("inbox/*.xlsx", r"purchasing: no file matches inbox/\*\.xlsx: folder .*inbox does not exist"),
        ("*.xlsx", r"purchasing: no file matches \*\.xlsx \(in .*\)"),
        ("orders.xlsx", r"purchasing: spreadsheet .*orders\.xlsx does not exist"),
        ("sub", r"purchasing: folder .*sub holds no \.csv, \.xlsx, \.xlsm file; .* sub/\*\*/\*\.xlsx"),
    ],
    ids=["missing-folder", "empty-glob", "missing-file", "folder-without-files"],
)
def test_a_path_that_finds_no_file_is_an_error_saying_why(tmp_path: Path, path: str, message: str) -> None:
    """A glob matching no file, a folder holding no spreadsheet (only subfolders, say) and a missing file
    are errors naming what was looked for and where — never an empty source that syncs 0 records."""
    (tmp_path / "sub" / "2026").mkdir(parents=True)
    write_xlsx(tmp_path / "sub" / "2026" / "11.xlsx", [["SO-1", "已下单", None, 1]])
    (tmp_path / "~$open.xlsx").write_bytes(b"lock")  # a lock file is no spreadsheet
    with pytest.raises(SourceError, match=message):
        poll(connector(tmp_path, path))


def test_a_folder_reads_its_spreadsheets(tmp_path: Path) -> None:
    """A folder as the path reads the spreadsheets directly in it."""
    write_xlsx(tmp_path / "in" / "a.xlsx", [["SO-1", "已下单", None, 1]])
    assert sorted(records_by_id(poll(connector(tmp_path, "in")))) == ["a.xlsx:SO-1"]


def test_a_file_that_cannot_be_read_at_all_is_one_whole_problem(tmp_path: Path) -> None:
    """Headers not found: one problem for the whole file (so a sync can say nothing usable was read),
    and the batch is not a complete read (nothing of the file is retired)."""
    write_xlsx(
        tmp_path / "p.xlsx", [["SO-1", "已下单", None, 1]], headers=["单号", "状态", "更新时间", "数量"]
    )
    [batch] = poll(connector(tmp_path))
    [problem] = batch.problems
    assert problem.whole and not batch.complete and "column '订单号' (order) not found" in problem.reason


def test_a_row_that_cannot_be_read_names_its_record(tmp_path: Path) -> None:
    """A quarantined row with an order number carries its record id: the record it was is not taken for
    deleted, and reading it correctly later settles it."""
    write_xlsx(tmp_path / "p.xlsx", [["SO-1", "已下单", "next tuesday", 1]])
    [batch] = poll(connector(tmp_path))
    [problem] = batch.problems
    assert (problem.record_id, problem.whole, batch.complete) == ("p.xlsx:SO-1", False, True)


def test_ambiguous_dates_need_the_systems_date_order(tmp_path: Path) -> None:
    """3/1/2025 in a sheet without `date_order` quarantines its row saying which setting decides; with
    `date_order: MDY` it is 1 March. 13/3/2025 and 2025/3/13 beside it are clear without one."""
    (tmp_path / "us.csv").write_text(
        "订单号,状态,更新时间,数量\nSO-1,已下单,3/1/2025 14:00,1\n"
        "SO-2,已下单,13/3/2025,1\nSO-3,已下单,2025/3/13,1\n",
        encoding="utf-8",
    )
    [unset] = poll(connector(tmp_path, "us.csv"))
    assert sorted(records_by_id([unset])) == ["us.csv:SO-2", "us.csv:SO-3"]
    [problem] = unset.problems
    assert problem.location == "us.csv row 2" and "set date_order: DMY or MDY" in problem.reason
    [batch] = poll(connector(tmp_path, "us.csv", date_order="MDY"))
    assert records_by_id([batch])["us.csv:SO-1"].status_at == datetime(2025, 3, 1, 14, 0, tzinfo=SHANGHAI)
    assert [p.location for p in batch.problems] == ["us.csv row 3"]  # no 13th month in MDY


def test_settings_columns_named_after_fields_feed_them(tmp_path: Path) -> None:
    """`columns: {updated: 更新时间}` alone sets the status time field; an explicit `fields` entry wins."""
    plain = connector(tmp_path).settings
    assert (plain.fields.updated, plain.fields.ordered_qty) == ("updated", "ordered_qty")
    explicit = connector(tmp_path, fields={"updated": "修改时间"}).settings
    assert explicit.fields.updated == "修改时间"


CSV_TEXT = (
    "订单号,状态,更新时间,数量\r\nSO-1,已下单,2026/11/20 09:30,10\r\nSO-2,已发货,2026/11/20 10:00,12\r\n"
)


def test_csv_caught_mid_write_is_left_for_the_next_poll(tmp_path: Path) -> None:
    """A fresh CSV whose last line has no line break yet (its writer is mid-row: '12' cut to '1') gives
    no records, no problem and no cursor entry; once complete it is read with the right quantity."""
    path = tmp_path / "orders.csv"
    path.write_bytes(CSV_TEXT.encode()[: CSV_TEXT.encode().rindex(b"12")] + b"1")
    source = connector(tmp_path, "*.csv")
    [partial] = poll(source)
    assert partial.records == [] and partial.problems == []
    assert partial.cursor == {"files": {}}
    path.write_bytes(CSV_TEXT.encode())
    [complete] = poll(source, partial.cursor)
    quantities = {r.record_id: r.quantities.ordered for r in complete.records}
    assert quantities == {"orders.csv:SO-1": Decimal(10), "orders.csv:SO-2": Decimal(12)}
    assert complete.cursor is not None and set(complete.cursor["files"]) == {"orders.csv"}


def test_settled_csv_without_final_line_break_is_read_whole(tmp_path: Path) -> None:
    """A CSV unchanged for longer than `settle` is complete even without a final line break (many
    tools write it so): every row, the last included, is read and the file is marked read."""
    path = tmp_path / "orders.csv"
    path.write_text(CSV_TEXT.rstrip("\r\n"), encoding="utf-8")
    age(path, seconds=120)
    [batch] = poll(connector(tmp_path, "*.csv", settle="1m"))
    assert sorted(records_by_id([batch])) == ["orders.csv:SO-1", "orders.csv:SO-2"]
    assert records_by_id([batch])["orders.csv:SO-2"].quantities.ordered == Decimal(12)
    assert batch.cursor is not None and set(batch.cursor["files"]) == {"orders.csv"}


def test_workbook_caught_mid_write_is_retried_not_quarantined(tmp_path: Path) -> None:
    """A fresh XLSX cut short while being copied is not a problem yet: the poll goes on with the other
    files, keeps no cursor entry for it, and reads it once the copy is complete."""
    whole = write_xlsx(tmp_path / "stage" / "p.xlsx", [["SO-1", "已下单", None, 1]]).read_bytes()
    write_xlsx(tmp_path / "a.xlsx", [["SO-0", "已下单", None, 1]])
    (tmp_path / "p.xlsx").write_bytes(whole[: len(whole) // 2])
    source = connector(tmp_path)
    first, second = poll(source)
    assert (first.label, sorted(records_by_id([first]))) == ("a.xlsx", ["a.xlsx:SO-0"])
    assert second.label == "p.xlsx" and second.records == [] and second.problems == []
    assert second.cursor is not None and set(second.cursor["files"]) == {"a.xlsx"}
    (tmp_path / "p.xlsx").write_bytes(whole)
    [again] = poll(source, second.cursor)
    assert sorted(records_by_id([again])) == ["p.xlsx:SO-1"]


def test_file_removed_while_the_poll_runs_is_dropped_quietly(tmp_path: Path) -> None:
    """A file deleted after the folder was listed but before it was read is neither a crash nor a
    quarantined problem: it leaves the cursor, its earlier records stay stored, the poll goes on."""
    write_xlsx(tmp_path / "a.xlsx", [["SO-1", "已下单", None, 1]])
    write_xlsx(tmp_path / "b.xlsx", [["SO-2", "已下单", None, 1]])
    source = connector(tmp_path)
    cursor = poll(source)[-1].cursor
    write_xlsx(tmp_path / "a.xlsx", [["SO-1", "已发货", None, 1]])
    write_xlsx(tmp_path / "b.xlsx", [["SO-2", "已发货", None, 1]])
    for path in (tmp_path / "a.xlsx", tmp_path / "b.xlsx"):
        os.utime(path, ns=(0, path.stat().st_mtime_ns + 1_000_000_000))
    polling = source.poll(cursor, threading.Event())
    first = next(polling)
    (tmp_path / "b.xlsx").unlink()
    rest = list(polling)
    assert [r.native_status for r in first.records] == [{"status": "已发货"}]
    assert [(b.label, b.records, b.problems) for b in rest] == [("b.xlsx", [], [])]
    assert rest[-1].cursor is not None and set(rest[-1].cursor["files"]) == {"a.xlsx"}


def excel_cached(path: Path, cells: dict[str, tuple[str, str | None]]) -> None:
    """Give formula cells the cached results Excel would have saved: cell -> (value, `t` attribute).
    openpyxl itself writes formulas without results, as an uncalculated workbook has them."""
    with zipfile.ZipFile(path) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    for ref, (value, kind) in cells.items():
        typed = f' t="{kind}"' if kind else ""
        sheet, count = re.subn(
            rf'<c r="{ref}"([^>]*)><f>(.*?)</f><v ?/></c>',
            rf'<c r="{ref}"\1{typed}><f>\2</f><v>{value}</v></c>',
            sheet,
        )
        assert count == 1, ref
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w") as book:
        for name, data in parts.items():
            book.writestr(name, data)


def test_formula_cells_without_a_calculated_value_quarantine_their_row(tmp_path: Path) -> None:
    """A workbook written by a program that does not calculate (here openpyxl) has formulas without
    results: a row whose quantity or order number is such a formula is quarantined saying so, not
    read as empty; cached results (Excel-saved) are used; an uncalculated formula in a column the
    config does not use harms nothing."""
    path = write_xlsx(
        tmp_path / "p.xlsx",
        [
            ["SO-1", "已下单", None, "=2*5", "=1+1"],  # row 2: quantity never calculated
            ["SO-2", "已下单", None, "=2*6", "=1+1"],  # row 3: quantity calculated by Excel
            ['="SO-"&3', "已下单", None, 1, None],  # row 4: order number never calculated
            ["SO-4", "已下单", None, 4, "=1+1"],  # row 5: formula only in the unused 备注 column
        ],
        headers=[*HEADERS, "备注"],
    )
    excel_cached(path, {"D3": ("12", None)})
    [batch] = poll(connector(tmp_path))
    records = records_by_id([batch])
    assert sorted(records) == ["p.xlsx:SO-2", "p.xlsx:SO-4"]
    assert records["p.xlsx:SO-2"].quantities.ordered == Decimal(12)
    problems = {p.location: p for p in batch.problems}
    assert sorted(problems) == ["p.xlsx row 2", "p.xlsx row 4"]
    assert problems["p.xlsx row 2"].reason == (
        "field 'ordered_qty': cell D2: formula =2*5 has no calculated value: the workbook was saved by a "
        "program that does not calculate formulas; open it in Excel or LibreOffice and save it again"
    )
    assert problems["p.xlsx row 2"].raw["数量"] == "=2*5"
    assert problems["p.xlsx row 4"].reason.startswith("field 'order': cell A4: formula =\"SO-\"&3 has no")


def test_formula_results_that_are_empty_text_or_errors(tmp_path: Path) -> None:
    """A formula Excel calculated to "" is an empty cell (the record is kept, its reason empty); a
    cell holding an Excel error such as #N/A quarantines its row with the error named."""
    path = write_xlsx(
        tmp_path / "p.xlsx",
        [
            ["SO-1", "已下单", None, 1, '=IF(1=1,"","late")'],
            ["SO-2", "#N/A", None, 1, None],
        ],
        headers=[*HEADERS, "备注"],
    )
    excel_cached(path, {"E2": ("", "str")})
    [batch] = poll(connector(tmp_path, fields={"reason": "备注"}))
    [record] = batch.records
    assert (record.record_id, record.reason) == ("p.xlsx:SO-1", None)
    [problem] = batch.problems
    assert (problem.location, problem.reason) == (
        "p.xlsx row 3",
        "field 'status': cell B3 holds the Excel error #N/A",
    )


def test_european_csv_with_decimal_comma(tmp_path: Path) -> None:
    """With `decimal_separator: ','` a semicolon CSV's '1,5' is one and a half and '1.234,50' is
    1234.50; without it the same file quarantines those rows saying to set it, never reading 15."""
    (tmp_path / "eu.csv").write_text(
        "订单号;状态;更新时间;数量\nSO-1;已下单;;1,5\nSO-2;已下单;;1.234,50\nSO-3;已下单;;7\n",
        encoding="utf-8",
    )
    age(tmp_path / "eu.csv")
    [batch] = poll(connector(tmp_path, "eu.csv", decimal_separator=","))
    quantities = {r.record_id: r.quantities.ordered for r in batch.records}
    assert quantities == {"eu.csv:SO-1": Decimal("1.5"), "eu.csv:SO-2": Decimal("1234.50"), "eu.csv:SO-3": 7}
    [guessing] = poll(connector(tmp_path, "eu.csv"))
    assert [r.record_id for r in guessing.records] == ["eu.csv:SO-3"]
    assert [p.reason for p in guessing.problems] == [
        "field 'ordered_qty': '1,5' needs a decimal comma; set decimal_separator: ',' for this system",
        "field 'ordered_qty': '1.234,50' needs a decimal comma; set decimal_separator: ',' for this system",
    ]
