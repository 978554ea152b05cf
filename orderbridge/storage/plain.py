"""Plain columns of `observations`: each dimension's canonical status and the quantities, amounts and
currency the pass's pre-screen compares, kept beside the JSON they come from as stored generated columns.
The database writes them with every row (ingest, a bulk load, a migration's copy alike), so the screen
reads them without parsing JSON."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Computed, Text, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement

from orderbridge.mapping.model import Amounts, Dimension, Quantities

CURRENCY = "currency"  # of Amounts; its column is AMOUNT[CURRENCY]
STATUS = {dimension: f"status_{dimension.value}" for dimension in Dimension}
QUANTITY = {name: f"quantity_{name}" for name in Quantities.model_fields}
AMOUNT = {name: f"amount_{name}" for name in Amounts.model_fields}


class JsonText(ColumnElement[str]):
    """The text at `path` in the JSON column named `column` (NULL when absent or JSON null): the same on
    SQLite and PostgreSQL, and as a generated column's expression (it refers to the column by name)."""

    inherit_cache = False  # its path is not part of a cache key: never cache a statement by it
    type = Text()

    def __init__(self, column: str, *path: str) -> None:
        self.column = column
        self.path = path


@compiles(JsonText, "sqlite")
def _sqlite(element: JsonText, compiler: Any, **kw: Any) -> str:
    path = "".join(f'."{step}"' for step in element.path)
    return f"CAST(json_extract({element.column}, '${path}') AS TEXT)"


@compiles(JsonText, "postgresql")
def _postgresql(element: JsonText, compiler: Any, **kw: Any) -> str:
    return f"({element.column} #>> '{{{','.join(element.path)}}}')"


def expressions() -> dict[str, ColumnElement[Any]]:
    """Each plain column's name and what it holds, in the table's order (the currency trimmed and in
    capitals, as it is compared)."""
    return {
        **{name: JsonText("statuses", dimension.value, "status") for dimension, name in STATUS.items()},
        **{name: JsonText("quantities", field) for field, name in QUANTITY.items()},
        **{name: JsonText("amounts", field) for field, name in AMOUNT.items() if field != CURRENCY},
        AMOUNT[CURRENCY]: func.upper(func.trim(JsonText("amounts", CURRENCY))),
    }


def columns() -> list[Column[Any]]:
    """The plain columns as the table declares them."""
    return [Column(name, Text, Computed(value, persisted=True)) for name, value in expressions().items()]
