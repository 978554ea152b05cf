"""Settings of the spreadsheet connector (`type: spreadsheet`): CSV and XLSX files."""

from __future__ import annotations

import codecs
from datetime import timedelta
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from orderbridge.config.types import Duration
from orderbridge.connectors.base import FieldMap, SystemSettings


class SpreadsheetSettings(SystemSettings):
    type: Literal["spreadsheet"] = Field(default="spreadsheet", description="CSV and XLSX files.")
    path: str = Field(
        description="A file or a glob (e.g. /data/purchasing/*.xlsx); relative to the config file."
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Field name -> column header in the sheet, e.g. {order: 订单号, status: 状态}. "
        "Fields named here are what order_id.field, status tables and `fields` refer to; a column named "
        "after a canonical field (updated, ordered_qty, ...) feeds it unless `fields` says otherwise.",
    )
    sheet: str | None = Field(default=None, description="XLSX sheet name; default the first sheet.")
    header_row: int = Field(default=1, ge=1, description="Row number (1-based) of the header row.")
    encoding: str = Field(default="utf-8-sig", description="CSV encoding (utf-8-sig also reads plain UTF-8).")
    delimiter: str | None = Field(
        default=None, min_length=1, max_length=1, description="CSV delimiter; sniffed when not given."
    )

    settle: Duration = Field(
        default=timedelta(minutes=1),
        description="A file that looks half-written (an unreadable workbook, a CSV whose last line has no "
        "line break, an empty file) and changed less than this long ago is read at the next poll "
        "instead of being quarantined.",
    )

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}; e.g. utf-8-sig, gb18030, cp1252") from None
        return value

    @model_validator(mode="after")
    def _fields_from_columns(self) -> Self:
        # `columns: {updated: 更新时间}` should be enough for a sheet to report when a status changed.
        implied = {
            name: name
            for name in FieldMap.model_fields
            if name != "links" and name in self.columns and getattr(self.fields, name) is None
        }
        if implied:
            self.fields = self.fields.model_copy(update=implied)
        return self
