"""Settings of `type: fxiaoke`: the app's id and secret and the company's permanent code (the legacy
corpAccessToken auth most integrations use), the operator whose data permissions apply, and the CRM
object holding the orders."""

from __future__ import annotations

import builtins
from typing import Annotated, Any, Literal

from pydantic import Field, HttpUrl, SecretStr

from orderbridge.config.types import SentToSource
from orderbridge.connectors.budget import BudgetSettings
from orderbridge.connectors.presets.base import DeclarativePreset

# Orders changed since the cursor (epoch milliseconds; `{cursor}` alone stays a number).
CHANGED = {"field_name": "last_modified_time", "field_values": ["{cursor}"], "operator": "GTE"}


class FxiaokeSettings(DeclarativePreset):
    type: Literal["fxiaoke"] = Field(default="fxiaoke", description="Fxiaoke 纷享销客 CRM sales orders.")
    base_url: HttpUrl = Field(
        default=HttpUrl("https://open.fxiaoke.com"),
        description="The open API's host (another cloud: its open-<domain> host).",
    )
    app_id: str = Field(description="The app id (FSAID_…).")
    app_secret: SecretStr = Field(description="The app secret.")
    permanent_code: SecretStr = Field(description="The company's permanent authorisation code.")
    open_user_id: str = Field(
        description="currentOpenUserId (FSUID_…): the operator whose data permissions apply; see "
        "/cgi/user/getByMobile."
    )
    object_name: str = Field(
        default="SalesOrderObj", description="API name of the object holding the orders."
    )
    filters: Annotated[builtins.list[dict[str, Any]], SentToSource] = Field(
        default_factory=builtins.list,
        description="More conditions, and-ed with last_modified_time, in Fxiaoke's form: "
        "[{field_name: record_type, field_values: [default__c], operator: EQ}].",
    )
    page_size: int = Field(default=100, ge=1, le=100, description="Orders per request (limit, at most 100).")
    retry_codes: builtins.list[int] = Field(
        default_factory=builtins.list,
        description="errorCode values meaning 'too many calls, try later': waited for instead of failing.",
    )
    budget: BudgetSettings | None = Field(
        default_factory=lambda: BudgetSettings(per_second=5),
        description="Requests per second/minute kept to (Fxiaoke: 100 calls per 20 s per interface).",
    )
    timezone: str = Field(default="Asia/Shanghai", description="Zone of times the system sends without one.")

    def template_values(self) -> dict[str, Any]:
        return {**super().template_values(), "filters": [CHANGED, *self.filters]}
