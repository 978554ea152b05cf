"""Spreadsheet connector: CSV and XLSX files (one file or a glob), each re-read only when it changed.

A row is identified by its file and order number, never by its position. Each file read whole is a
complete account of its rows: a row deleted from it, or a file gone from the glob, retires the
records it held (kept in history, no longer seen by the rules). A glob matching nothing is an error,
never an empty source. A file that looks half-written and changed within `settle` is left for the
next poll."""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import threading
import time as clock
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from itertools import zip_longest
from pathlib import Path
from typing import Any

import openpyxl
import structlog
from openpyxl.utils import get_column_letter

from orderbridge.connectors.base import (
    BadValue,
    Batch,
    Connector,
    RecordError,
    RecordProblem,
    SourceError,
    build_record,
    read_field,
    record_reason,
)
from orderbridge.connectors.spreadsheet.settings import SpreadsheetSettings

SUPPORTED = (".csv", ".xlsx", ".xlsm")
LOCK_PREFIXES = ("~$", ".~lock.")  # Excel's and LibreOffice's files for an open workbook
Row = tuple[int, list[Any]]  # sheet row number (1-based), cell values
NOT_CALCULATED = (
    "has no calculated value: the workbook was saved by a program that does not calculate formulas; "
    "open it in Excel or LibreOffice and save it again"
)

log = structlog.get_logger(__name__)


class UnreadableFile(Exception):
    pass


class Unsettled(Exception):
    """The file looks half-written and changed recently: read it again at the next poll."""


class SpreadsheetConnector(Connector):
    settings_model = SpreadsheetSettings
    settings: SpreadsheetSettings

    def poll(self, cursor: dict[str, Any] | None, stop: threading.Event) -> Iterator[Batch]:
        files = self.files()
        previous: dict[str, dict[str, Any]] = (cursor or {}).get("files", {})
        entries = dict(previous)
        # A file read before and no longer matched is gone, with every record it held: its batch is a
        # complete read of nothing. A file's entry leaves the cursor only with its own batch.
        gone = [name for name in previous if name not in files]
        changed: list[tuple[str, Path]] = []
        for name, path in files.items():
            old = entries.get(name, {})
            try:
                stat = path.stat()
                if (old.get("size"), old.get("mtime_ns")) == (stat.st_size, stat.st_mtime_ns):
                    continue
                if "sha256" in old:
                    with path.open("rb") as handle:
                        digest = hashlib.file_digest(handle, "sha256").hexdigest()
                    if digest == old["sha256"]:  # touched, not edited
                        entries[name] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
                        continue
            except FileNotFoundError:  # removed since it was listed
                if name in previous:
                    gone.append(name)
                continue
            except OSError:
                pass  # reading it reports the problem
            changed.append((name, path))
        total = len(gone) + len(changed)
        for index, name in enumerate(gone, 1):
            if stop.is_set():
                return
            entries.pop(name, None)
            log.info("spreadsheet gone; its records are retired", system=self.name, file=name)
            yield Batch(label=name, complete=True, cursor={"files": dict(entries)}, done=index, total=total)
        for index, (name, path) in enumerate(changed, len(gone) + 1):
            if stop.is_set():
                return
            try:
                batch, entry = self.read_file(name, path)
            except FileNotFoundError:  # removed since it was listed
                batch, entry = Batch(label=name, complete=name in previous), None
                entries.pop(name, None)
            except Unsettled as exc:
                log.info("spreadsheet still being written; read at the next poll", file=name, reason=str(exc))
                batch, entry = Batch(label=name), None
            if entry is not None:
                entries[name] = entry
            batch.cursor, batch.done, batch.total = {"files": dict(entries)}, index, total
            yield batch
        if not total and entries != previous and not stop.is_set():
            yield Batch(label=self.settings.path, cursor={"files": entries})

    def files(self) -> dict[str, Path]:
        """The files to read, by their name relative to the folder of the glob. Raises SourceError when
        there is none: a folder not mounted, a wrong path or pattern must not pass for an empty source."""
        parts = Path(self.settings.path).expanduser().parts
        split = next((i for i, part in enumerate(parts) if any(c in part for c in "*?[")), len(parts))
        root = self.context.base_dir.joinpath(*parts[:split])
        if split < len(parts):
            names = glob.glob(str(Path(*parts[split:])), root_dir=root, recursive=True)
        elif root.is_dir():
            names = [p.name for p in root.iterdir() if p.suffix.lower() in SUPPORTED]
        elif root.is_file():
            return {root.name: root}
        else:
            raise SourceError(f"{self.name}: spreadsheet {root} does not exist")
        found = {
            Path(name).as_posix(): root / name
            for name in sorted(names)
            if not Path(name).name.startswith(LOCK_PREFIXES) and (root / name).is_file()
        }
        if found:
            return found
        kinds = ", ".join(SUPPORTED)
        if not root.is_dir():
            raise SourceError(
                f"{self.name}: no file matches {self.settings.path}: folder {root} does not exist"
            )
        if split < len(parts):
            raise SourceError(f"{self.name}: no file matches {self.settings.path} (in {root})")
        raise SourceError(
            f"{self.name}: folder {root} holds no {kinds} file; to read its subfolders too, use a glob such "
            f"as {Path(self.settings.path) / '**' / '*.xlsx'}"
        )

    def read_file(self, name: str, path: Path) -> tuple[Batch, dict[str, Any] | None]:
        """One file's batch, and its new cursor entry (None when the file must be read again).

        Raises FileNotFoundError when the file is gone, Unsettled when it looks half-written."""
        batch = Batch(label=name)

        def unreadable(reason: str) -> tuple[Batch, None]:
            problem = RecordProblem(location=name, reason=reason, raw={"file": name}, scope=name, whole=True)
            batch.problems.append(problem)
            return batch, None

        if path.suffix.lower() not in SUPPORTED:
            return unreadable(
                f"unsupported file type {path.suffix!r}; expected one of {', '.join(SUPPORTED)}"
            )
        try:
            mtime_ns = path.stat().st_mtime_ns
            data = path.read_bytes()
        except FileNotFoundError:
            raise
        except OSError as exc:  # no permission, a share gone away: this file only
            return unreadable(f"cannot read the file: {exc.strerror or exc}")
        settling = clock.time_ns() - mtime_ns < self.settings.settle.total_seconds() * 1e9
        is_csv = path.suffix.lower() == ".csv"
        # A writer caught mid-row leaves a last line without its line break (and a cut value in it).
        if settling and (not data or (is_csv and not data.endswith((b"\n", b"\r")))):
            raise Unsettled("empty" if not data else "the last line has no line break yet")
        try:
            headers, rows = (read_csv if is_csv else read_xlsx)(data, self.settings)
        except UnreadableFile as exc:
            return unreadable(f"cannot read the file: {exc}")
        except Exception as exc:  # parsers of damaged files raise anything; the other files go on
            if settling:  # a workbook is unreadable until its writer has finished
                raise Unsettled(f"{type(exc).__name__}: {exc}") from None
            return unreadable(f"cannot read the file: {type(exc).__name__}: {exc}")
        by_text: dict[str, int] = {}
        for position, header in enumerate(headers):
            if header is not None:
                by_text.setdefault(header.casefold(), position)
        listed = {
            field: by_text.get(text.strip().casefold()) for field, text in self.settings.columns.items()
        }
        missing = [
            f"column {self.settings.columns[field]!r} ({field})" for field, at in listed.items() if at is None
        ]
        if missing:
            shown = ", ".join(h for h in headers if h is not None) or "(none)"
            return unreadable(f"{', '.join(missing)} not found; headers are: {shown}")
        located = {field: at for field, at in listed.items() if at is not None}
        unlisted = {h: at for at, h in enumerate(headers) if h is not None and at not in located.values()}
        self._rows_to_records(batch, name, headers, rows, {**unlisted, **located})
        batch.complete = True
        entry = {"size": len(data), "mtime_ns": mtime_ns, "sha256": hashlib.sha256(data).hexdigest()}
        return batch, entry

    def _rows_to_records(
        self, batch: Batch, name: str, headers: list[str | None], rows: list[Row], fields: dict[str, int]
    ) -> None:
        settings, seen = self.settings, Counter[str]()
        for number, cells in rows:
            if all(_blank(value) for value in cells):
                continue
            cell = dict(enumerate(cells))
            raw = {h: _json_safe(cell.get(at)) for at, h in enumerate(headers) if h is not None}
            values = {field: cell.get(at) for field, at in fields.items()}
            location = f"{name} row {number}"
            record_id = None
            try:
                key = self._row_key(values)
                seen[key] += 1
                record_id = f"{name}:{key}" + (f"#{seen[key]}" if seen[key] > 1 else "")
                batch.records.append(build_record(self.name, values, settings, record_id=record_id, raw=raw))
                batch.locations[record_id] = location
            except Exception as exc:  # one row, whatever is wrong with it, never fails the file
                batch.problems.append(
                    RecordProblem(location, record_reason(exc), raw, record_id=record_id, scope=name)
                )

    def _row_key(self, values: dict[str, Any]) -> str:
        """The order number (or record id, or first link) that names a row within its file."""
        settings = self.settings
        key = _text(read_field(values, settings.fields.record_id or settings.order_id.field))
        if key is not None:
            return key
        for kind, at in settings.fields.links.items():
            if (link := _text(read_field(values, at))) is not None:
                return f"{kind}:{link}"
        column = settings.columns.get(settings.order_id.field, settings.order_id.field)
        raise RecordError(f"no order number: column {column!r} is empty")


def read_csv(data: bytes, settings: SpreadsheetSettings) -> tuple[list[str | None], list[Row]]:
    if b"\x00" in data:
        raise UnreadableFile("binary content, not a CSV text file")
    try:
        text = data.decode(settings.encoding)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"not {settings.encoding} text ({exc.reason} at byte {exc.start})") from None
    delimiter = settings.delimiter
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff("\n".join(text.splitlines()[:50]), delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    try:
        table = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise UnreadableFile(str(exc)) from None
    return _split(table, settings.header_row)


def read_xlsx(data: bytes, settings: SpreadsheetSettings) -> tuple[list[str | None], list[Row]]:
    """Cached cell values; a formula cell without one, or holding an Excel error, becomes a BadValue."""
    values, formulas = _cells(data, settings, data_only=True), _cells(data, settings, data_only=False)
    table: list[list[Any]] = []
    no_row: list[tuple[Any, str]] = []
    for number, (row, formula_row) in enumerate(zip_longest(values, formulas, fillvalue=no_row), 1):
        cells: list[Any] = []
        for column, (cached, formula) in enumerate(zip_longest(row, formula_row, fillvalue=(None, "n")), 1):
            (value, kind), (text, formula_kind) = cached, formula
            where = f"cell {get_column_letter(column)}{number}"
            if kind == "e":
                value = BadValue(str(value), f"{where} holds the Excel error {value}")
            elif value is None and formula_kind == "f" and kind != "str":  # "str": calculated to ""
                shown = str(getattr(text, "text", text))  # an array formula keeps its text in .text
                value = BadValue(shown, f"{where}: formula {shown} {NOT_CALCULATED}")
            cells.append(value)
        table.append(cells)
    return _split(table, settings.header_row)


def _cells(data: bytes, settings: SpreadsheetSettings, *, data_only: bool) -> list[list[tuple[Any, str]]]:
    """Each row's (value, data type); with data_only the cached results of formulas, else the formulas."""
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)
    try:
        if settings.sheet is not None and settings.sheet not in book.sheetnames:
            raise UnreadableFile(
                f"sheet {settings.sheet!r} not found; sheets are: {', '.join(book.sheetnames)}"
            )
        sheet = book[settings.sheet] if settings.sheet else book.worksheets[0]
        sheet.reset_dimensions()  # some writers record a wrong size; read what is there
        return [[(cell.value, cell.data_type) for cell in row] for row in sheet.iter_rows()]
    finally:
        book.close()


def _split(table: list[list[Any]], header_row: int) -> tuple[list[str | None], list[Row]]:
    header = table[header_row - 1] if len(table) >= header_row else []
    headers = [None if _blank(h) else str(h).strip() for h in header]
    return headers, [(number, cells) for number, cells in enumerate(table, 1) if number > header_row]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a numeric order number cell
    return None if _blank(value) else str(value).strip()


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
