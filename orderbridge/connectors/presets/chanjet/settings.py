"""Settings of `type: chanjet`: the T+Cloud gateway, the app's key and secret, the tenant's openToken,
and the parts of the voucher API that Chanjet does not document publicly, each a setting with a
default and a check-config warning until it is confirmed."""

from __future__ import annotations

import builtins
import copy
from typing import Annotated, Any, Literal

from pydantic import Field, HttpUrl, SecretStr, model_validator

from orderbridge.config.types import SentToSource
from orderbridge.connectors.cursors import TimestampCursor
from orderbridge.connectors.presets.base import DeclarativePreset


class ChanjetSettings(DeclarativePreset):
    type: Literal["chanjet"] = Field(default="chanjet", description="Chanjet 畅捷通 T+ sales order vouchers.")
    base_url: HttpUrl = Field(
        default=HttpUrl("https://openapi.chanjet.com"), description="The open platform's gateway."
    )
    app_key: SecretStr = Field(description="The app's appKey (open.chanjet.com).")
    app_secret: SecretStr = Field(description="The app's appSecret.")
    open_token: SecretStr = Field(description="The tenant's openToken, from the app's authorisation.")
    select_fields: builtins.list[str] = Field(
        default_factory=lambda: [
            "SaleOrder.ID",
            "SaleOrder.Code",
            "SaleOrder.VoucherDate",
            "SaleOrder.ExternalCode",
            "SaleOrder.VoucherState",
        ],
        description="Columns asked for (selectFields).",
    )
    id_field: str = Field(default="ID", description="Column holding the voucher's internal id.")
    order_field: str = Field(default="Code", description="Column holding the order number (SO-2024-0001).")
    external_ref_field: str = Field(
        default="ExternalCode", description="Column holding the external reference."
    )
    filter: Annotated[dict[str, Any], SentToSource] = Field(
        default_factory=dict,
        description="Conditions of the query (paramDic), as your tenant's API takes them.",
    )
    modified_param: str | None = Field(
        default=None,
        description="paramDic key filtering by modification time, if your tenant's API has one: each poll "
        "then asks only for what changed since the last (`modified_column` must be set too).",
    )
    modified_column: str | None = Field(
        default=None, description="Column holding the modification time, read as the cursor."
    )
    page_size: int = Field(
        default=50, ge=1, le=1000, description="Vouchers per request (large queries time out)."
    )
    timezone: str = Field(default="Asia/Shanghai", description="Zone of the times T+ writes without one.")

    @model_validator(mode="before")
    @classmethod
    def _both_or_neither(cls, data: Any) -> Any:
        if isinstance(data, dict) and (data.get("modified_param") is None) != (
            data.get("modified_column") is None
        ):
            raise ValueError("give `modified_param` and `modified_column` together")
        return data

    def template_values(self) -> dict[str, Any]:
        return {**super().template_values(), "select_fields": ",".join(self.select_fields)}

    def complete(self) -> None:
        super().complete()
        if self.modified_param is None or self.modified_column is None:
            return
        rest = self.rest()
        body = copy.deepcopy(rest.list.body)
        body["paramDic"][self.modified_param] = "{cursor}"
        cursor = TimestampCursor.settings_model(
            type="timestamp", field=self.modified_column, format="%Y-%m-%d %H:%M:%S", timezone=self.timezone
        )
        listing = rest.list.model_copy(update={"body": body})
        fields = rest.fields.model_copy(update={"updated": rest.fields.updated or self.modified_column})
        self.fields = fields
        self._rest = rest.model_copy(update={"list": listing, "cursor": cursor, "fields": fields})

    def warnings(self) -> builtins.list[str]:
        return [
            *super().warnings(),
            "open_token: a T+ openToken expires (after about 6 days, by one integrator's account) and "
            "orderbridge does not renew it: renew it in your app and update the environment before then",
        ]
