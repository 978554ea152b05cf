"""Settings of `type: yonyou_u8`: a token from the OpenAPI platform (/system/token), sent with the
developer and enterprise accounts on every call, then the sales-order list
(GET /api/saleorderlist/batch_get) by page_index / rows_per_page, errors read from `errcode`. What
U8's `timestamp_begin` filter means is undocumented: until `changed_since` says how to use it, each
poll reads the whole list (orders that did not change write nothing)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, SecretStr

from orderbridge.connectors.cursors import RowVersionCursor, TimestampCursor
from orderbridge.connectors.presets.base import DeclarativePreset


class YonyouU8Settings(DeclarativePreset):
    type: Literal["yonyou_u8"] = Field(default="yonyou_u8", description="Yonyou U8 / U8+ sales orders.")
    from_account: str = Field(description="The developer account of the OpenAPI app (from_account).")
    to_account: str = Field(description="The enterprise account whose U8 is read (to_account).")
    app_key: SecretStr = Field(description="The app's app_key (opa…).")
    app_secret: SecretStr = Field(description="The app's app_secret.")
    ds_sequence: str | None = Field(
        default=None, description="The data source (ds_sequence), when the enterprise has several."
    )
    page_size: int = Field(default=50, ge=1, le=500, description="Orders per page (rows_per_page).")
    timezone: str = Field(default="Asia/Shanghai", description="Zone of the times U8 writes without one.")
    changed_since: Literal["none", "row_version", "datetime"] = Field(
        default="none",
        description="How to ask only for changed orders: none (read every order each poll), row_version "
        "(timestamp_begin is a row version, as the order's `timestamp_field`) or datetime "
        "(timestamp_begin is a 'yyyy-MM-dd HH:mm:ss' time, also the order's change time).",
    )
    timestamp_field: str = Field(
        default="timestamp", description="The order's field that timestamp_begin compares with."
    )

    def complete(self) -> None:
        super().complete()
        if self.changed_since == "none":
            return
        rest = self.rest()
        cursor: Any
        if self.changed_since == "row_version":
            cursor = RowVersionCursor.settings_model(type=RowVersionCursor.kind, field=self.timestamp_field)
            fields = rest.fields
        else:
            cursor = TimestampCursor.settings_model(
                type=TimestampCursor.kind,
                field=self.timestamp_field,
                format="%Y-%m-%d %H:%M:%S",
                overlap=timedelta(minutes=5),
            )
            fields = rest.fields.model_copy(update={"updated": rest.fields.updated or self.timestamp_field})
        listing = rest.list.model_copy(update={"params": {**rest.list.params, "timestamp_begin": "{cursor}"}})
        self._rest = rest.model_copy(update={"list": listing, "cursor": cursor, "fields": fields})
        self.fields = fields
