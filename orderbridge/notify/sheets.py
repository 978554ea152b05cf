"""The report's attachments: XLSX (header row frozen, column widths set, amounts as numbers, dates
as dates) and CSV (UTF-8 with a byte-order mark, so Excel reads Chinese text). No cell can become a
formula: in XLSX text is stored as text with Excel's quote prefix (it stays text even when edited);
in CSV, text starting with = + - @, a tab or a carriage return gets a leading apostrophe."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """Text that Excel, LibreOffice and Google Sheets read as text, never as a formula (OWASP)."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


Cell = str | int | Decimal | datetime | None


class Column:
    """One column: its header, its width in characters, and the number format of its numbers."""

    def __init__(self, header: str, width: int, number_format: str | None = None) -> None:
        self.header = header
        self.width = width
        self.number_format = number_format


def to_xlsx(title: str, columns: Sequence[Column], rows: Sequence[Sequence[Cell]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE4EE")
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=index)
        _text(cell, column.header)
        cell.font, cell.fill = bold, fill
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    wrap = Alignment(wrap_text=True, vertical="top")
    for r, row in enumerate(rows, start=2):
        for index, (column, value) in enumerate(zip(columns, row, strict=True), start=1):
            cell = sheet.cell(row=r, column=index)
            if value is None:
                continue
            if isinstance(value, str):
                _text(cell, value)
                cell.alignment = wrap
            elif isinstance(value, datetime):
                cell.value = value.replace(tzinfo=None)  # Excel has no zones: already in the report's
                cell.number_format = column.number_format or "yyyy-mm-dd hh:mm"
            else:
                cell.value = float(value) if isinstance(value, Decimal) else value
                if column.number_format:
                    cell.number_format = column.number_format
    sheet.freeze_panes = "A2"
    if rows:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _text(cell: Any, value: str) -> None:
    cell.value = value
    cell.data_type = "s"  # openpyxl would store a leading = as a formula
    if value.startswith(FORMULA_STARTS):
        cell.quotePrefix = True


def to_csv(columns: Sequence[Column], rows: Sequence[Sequence[Cell]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_safe(c.header) for c in columns])
    for row in rows:
        writer.writerow([_csv_cell(value) for value in row])
    return out.getvalue().encode("utf-8-sig")


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return csv_safe(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)
