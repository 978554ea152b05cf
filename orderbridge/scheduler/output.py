"""Listing output for people (tables that fit the terminal) and for programs (JSON, CSV).

A table for people keeps to the console's width: the columns that matter least are left out first
(and the table says which), and the long texts (an explanation, what to do) are wrapped on lines of
their own under their row. Times are short (2026-11-30 14:05) and in the display time zone."""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

GAP = 2  # spaces between columns
INDENT = 4  # of the texts under a row
_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)")


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


@dataclass(frozen=True)
class Column:
    """A table column. Of the columns that do not fit, those with the lowest `keep` go first."""

    key: str
    header: str | None = None
    keep: int = 5
    style: Callable[[str], str] | None = None  # a Rich style for a cell's text
    fold: bool = False  # when it does not fit, shown under the row ("header: value") instead of left out

    @property
    def title(self) -> str:
        return self.header if self.header is not None else self.key.replace("_", " ")


@dataclass(frozen=True)
class Below:
    """A long text shown under its row, wrapped to the width; `prefix` starts its first line."""

    key: str
    prefix: str = ""
    style: str = ""


@dataclass
class Layout:
    columns: list[Column]
    below: list[Below] = field(default_factory=list)
    zone: tzinfo = UTC


def emit(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str | Column],
    fmt: Format,
    title: str | None = None,
    console: Console | None = None,
    *,
    below: Sequence[Below] = (),
    zone: tzinfo = UTC,
) -> None:
    """Rows as JSON (as given), CSV (`columns`, times as ISO 8601) or a table (see `render_table`);
    a column given by name only is shown under its row when the table is too wide for it."""
    names = [c.key if isinstance(c, Column) else c for c in columns]
    if fmt == Format.json:
        sys.stdout.write(json.dumps(list(rows), ensure_ascii=False, indent=2, default=_json_default) + "\n")
        return
    if fmt == Format.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=names, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: _cell(row.get(c)) for c in names})
        return
    # Columns given by name alone are all worth seeing: those that do not fit go under their row.
    layout = Layout(
        [c if isinstance(c, Column) else Column(c, fold=True) for c in columns], list(below), zone
    )
    render_table(console or Console(), rows, layout, title)


def render_table(
    console: Console, rows: Sequence[Mapping[str, Any]], layout: Layout, title: str | None = None
) -> None:
    width = max(console.width, 40)
    cells = [[short(row.get(c.key), layout.zone) for c in layout.columns] for row in rows]
    widths = [
        max([cell_len(c.title), *(cell_len(line[i]) for line in cells)]) for i, c in enumerate(layout.columns)
    ]
    shown = list(range(len(layout.columns)))
    while len(shown) > 1 and _total(widths, shown) > width:
        # The least valuable column goes first; of equals, the rightmost.
        shown.remove(min(reversed(shown), key=lambda i: layout.columns[i].keep))
    if _total(widths, shown) > width:  # one column wider than the console: it is cut
        widths[shown[0]] = width
    if title:
        console.print(Text(title, style="bold"), soft_wrap=True)
    left_out = [i for i in range(len(layout.columns)) if i not in shown]
    folded = [i for i in left_out if layout.columns[i].fold]
    hidden = [layout.columns[i].title for i in left_out if not layout.columns[i].fold]
    header = Text()
    for n, i in enumerate(shown):
        header.append(_pad(layout.columns[i].title, widths[i], n == len(shown) - 1), style="bold")
    console.print(header, overflow="ellipsis", no_wrap=True)
    for row, line in zip(rows, cells, strict=True):
        text = Text()
        for n, i in enumerate(shown):
            column = layout.columns[i]
            style = column.style(line[i]) if column.style else ""
            text.append(_pad(line[i], widths[i], n == len(shown) - 1), style=style)
        console.print(text, overflow="ellipsis", no_wrap=True)
        texts = [(Below(""), "   ".join(f"{layout.columns[i].title}: {line[i]}" for i in folded if line[i]))]
        texts += [(item, short(row.get(item.key), layout.zone)) for item in layout.below]
        for item, value in texts:
            if not value:
                continue
            for part in Text(item.prefix + value, style=item.style).wrap(console, width - INDENT):
                part.rstrip()
                console.print(Text(" " * INDENT) + part, overflow="ignore", no_wrap=True, crop=False)
    if hidden:
        console.print(
            Text(f"(not shown at this width: {', '.join(hidden)}; see --format json)", style="dim"),
            soft_wrap=True,
        )


def short(value: Any, zone: tzinfo = UTC) -> str:
    """A value as a table cell: times as `2026-11-30 14:05` in `zone`, lists joined by commas."""
    if isinstance(value, str) and _ISO_MOMENT.fullmatch(value):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        moment = value.astimezone(zone) if value.tzinfo else value
        return moment.strftime("%Y-%m-%d %H:%M")
    return _cell(value)


def plural(count: int, singular: str, several: str | None = None) -> str:
    """`1 open discrepancy`, `2 open discrepancies`: the count and the word it takes."""
    if count == 1:
        return f"{count} {singular}"
    if several is None:
        consonant_y = singular.endswith("y") and singular[-2:-1] not in tuple("aeiou")
        several = singular[:-1] + "ies" if consonant_y else singular + "s"
    return f"{count} {several}"


def _total(widths: list[int], shown: list[int]) -> int:
    return sum(widths[i] for i in shown) + GAP * (len(shown) - 1)


def _pad(text: str, width: int, last: bool) -> str:
    if cell_len(text) > width:
        cut = ""
        for char in text:
            if cell_len(cut + char) > width - 1:
                break
            cut += char
        text = cut + "…"
    return text if last else text + " " * (width - cell_len(text) + GAP)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _json_default(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)
