"""Settings of `type: jiandaoyun`: a form whose widgets the company designed, so the order number and
status widgets are named in the YAML (their alias or `_widget_<13 digits>` name). The form's rows are
polled through data/list when an `api_key` is given (preset.yaml), pushed by 数据推送 when a `webhook:`
is, or both."""

from __future__ import annotations

import builtins
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, HttpUrl, SecretStr, model_validator

from orderbridge.config.types import SentToSource
from orderbridge.connectors.base import FieldMap
from orderbridge.connectors.budget import BudgetSettings
from orderbridge.connectors.presets.base import DeclarativePreset, PresetSettings
from orderbridge.connectors.push.settings import PushSettings, Signing

# The scan's window on the change time; `{cursor}` and `{until}` are filled by the window cursor.
WINDOW = {"field": "updateTime", "type": "datetime", "method": "range", "value": ["{cursor}", "{until}"]}
POLLING = ("api_key", "app_id", "entry_id")


class JiandaoyunSettings(DeclarativePreset, PushSettings):
    type: Literal["jiandaoyun"] = Field(default="jiandaoyun", description="The connector type.")
    signing: ClassVar[Signing] = "optional"
    signing_note: ClassVar[str] = " (the push secret set in 数据推送)"

    base_url: HttpUrl = Field(
        default=HttpUrl("https://api.jiandaoyun.com"),
        description="The open API's root (api.jiandaoyun.com; a private deployment's own host).",
    )
    api_key: SecretStr | None = Field(
        default=None,
        description="API key (开放平台 → 密钥管理), authorised for the form's app: polls the form.",
    )
    app_id: str | None = Field(
        default=None, description="The app's id (in the form's address: /app/<app_id>)."
    )
    entry_id: str | None = Field(
        default=None, description="The form's id (in the form's address: /entry/<entry_id>)."
    )
    page_size: int = Field(default=100, ge=1, le=100, description="Rows per request (limit, at most 100).")
    conditions: Annotated[builtins.list[dict[str, Any]], SentToSource] = Field(
        default_factory=builtins.list,
        description="More filter conditions, and-ed with the updateTime window, in Jiandaoyun's form: "
        "[{field: order_type, method: eq, value: [销售]}].",
    )
    budget: BudgetSettings | None = Field(
        default_factory=lambda: BudgetSettings(per_second=30),
        description="Requests per second/minute kept to (data/list allows 30 a second per company).",
    )
    fields: FieldMap = Field(
        default_factory=lambda: FieldMap(record_id="_id", updated="updateTime"),
        description="Where each canonical field is in a row (widget names or aliases); _id and updateTime "
        "are Jiandaoyun's own.",
    )

    @property
    def polling(self) -> bool:
        return self.api_key is not None

    @model_validator(mode="before")
    @classmethod
    def _polls_or_receives(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        given = [name for name in POLLING if data.get(name) not in (None, "")]
        if given and len(given) < len(POLLING):
            missing = [f"`{name}`" for name in POLLING if name not in given]
            raise ValueError(f"polling a form needs {', '.join(missing)} too (beside {', '.join(given)})")
        if not given and data.get("webhook") is None:
            raise ValueError(
                "give `api_key`, `app_id` and `entry_id` to poll the form, and/or a `webhook:` block to "
                "receive its pushes"
            )
        return data

    def template_values(self) -> dict[str, Any]:
        return {**super().template_values(), "conditions": [WINDOW, *self.conditions]}

    def complete(self) -> None:
        if self.api_key is None or self.app_id is None or self.entry_id is None:
            PresetSettings.complete(self)  # pushes only: nothing to expand
            return
        super().complete()

    def effective(self) -> Any:
        return super().effective() if self.polling else self

    def streams(self, name: str) -> dict[str, builtins.list[str]]:
        return super().streams(name) if self.polling else {name: self.link_by}

    def warnings(self) -> builtins.list[str]:
        # An unsigned push endpoint, and the documented gaps.
        return [*PushSettings.warnings(self), *PresetSettings.warnings(self)]
