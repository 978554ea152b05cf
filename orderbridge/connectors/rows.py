"""Row shapes: how the records of a listing's answer are written. Most APIs send JSON objects; some
send each record as an array of values in a column order the request named (Kingdee's
ExecuteBillQuery, in FieldKeys order) or the answer names (Chanjet T+'s `Columns` beside `Rows`).
One small class per `shape:` behind one interface, in REGISTRY; each turns a row into an object, or
into a BadRow that says why it cannot (the record is quarantined, the page goes on)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from orderbridge.config.types import tagged_union
from orderbridge.connectors.base import get_path


@dataclass(frozen=True)
class BadRow:
    """A row that could not be read as a record: quarantined with `reason`."""

    reason: str
    raw: Any


class RowSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shape: str


class RowShape(ABC):
    shape: ClassVar[str]
    settings_model: ClassVar[type[RowSettings]]

    def __init__(self, settings: RowSettings) -> None:
        self.settings = settings

    @abstractmethod
    def decode(self, rows: list[Any], body: Any) -> list[Any]:
        """The records of one page: objects (or BadRow for a row that is not one), in page order."""


class ObjectRows(RowShape):
    """Each record is a JSON object, as it is."""

    shape = "objects"

    class ObjectSettings(RowSettings):
        shape: Literal["objects"] = Field(default="objects", description="Each record is a JSON object.")

    settings_model = ObjectSettings

    def decode(self, rows: list[Any], body: Any) -> list[Any]:
        return rows


def _zip(columns: list[str], row: Any) -> dict[str, Any] | BadRow:
    if not isinstance(row, list):
        return BadRow(f"not a row of values: {row!r:.80}", row)
    if len(row) != len(columns):
        return BadRow(f"a row of {len(row)} values for {len(columns)} columns ({', '.join(columns)})", row)
    return dict(zip(columns, row, strict=True))


class ArrayRows(RowShape):
    """Each record is an array of values in the order of `columns` (the fields the request asked for)."""

    shape = "arrays"

    class ArraySettings(RowSettings):
        shape: Literal["arrays"] = Field(
            description="Each record is an array of values in the order of `columns`."
        )
        columns: list[str] = Field(
            min_length=1,
            description="Names of the values, in order: the fields the request asks for (Kingdee FieldKeys).",
        )

        @field_validator("columns", mode="before")
        @classmethod
        def _comma_list(cls, value: Any) -> Any:
            # Kingdee writes FieldKeys as one comma-separated string; take it as it is written.
            return (
                [part.strip() for part in value.split(",") if part.strip()]
                if isinstance(value, str)
                else value
            )

        @field_validator("columns")
        @classmethod
        def _distinct(cls, value: list[str]) -> list[str]:
            repeated = sorted({name for name in value if value.count(name) > 1})
            if repeated:
                raise ValueError(f"{', '.join(repeated)}: named twice")
            return value

    settings_model = ArraySettings
    settings: ArraySettings

    def decode(self, rows: list[Any], body: Any) -> list[Any]:
        return [_zip(self.settings.columns, row) for row in rows]


class ColumnarRows(RowShape):
    """Each record is an array of values; the answer names them in a list beside the rows (Chanjet T+
    `data.Columns`), as strings or as objects with a name field."""

    shape = "columnar"

    class ColumnarSettings(RowSettings):
        shape: Literal["columnar"] = Field(
            description="Each record is an array of values named by a column list in the answer."
        )
        columns: str = Field(description="Dotted path of the column list in the answer, e.g. data.Columns.")
        name: str | None = Field(
            default=None,
            description="Field holding a column's name when the columns are objects (e.g. Name); "
            "unset: the columns are names.",
        )

    settings_model = ColumnarSettings
    settings: ColumnarSettings

    def decode(self, rows: list[Any], body: Any) -> list[Any]:
        found = get_path(body, self.settings.columns)
        names = self._names(found)
        if names is None:
            reason = f"the answer has no column list at {self.settings.columns!r} naming its values"
            return [BadRow(reason, row) for row in rows]
        return [_zip(names, row) for row in rows]

    def _names(self, found: Any) -> list[str] | None:
        if not isinstance(found, list) or not found:
            return None
        key = self.settings.name
        names = [get_path(c, key) if key and isinstance(c, dict) else c for c in found]
        if not all(isinstance(n, str) and n for n in names):
            return None
        return names


REGISTRY: dict[str, type[RowShape]] = {cls.shape: cls for cls in (ObjectRows, ArrayRows, ColumnarRows)}


if TYPE_CHECKING:
    AnyRows = RowSettings
else:
    # The settings of every registered shape, told apart by `shape`.
    AnyRows = tagged_union((cls.settings_model for cls in REGISTRY.values()), "shape", ObjectRows.shape)


def row_shape(settings: RowSettings) -> RowShape:
    return REGISTRY[settings.shape](settings)
