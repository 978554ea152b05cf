"""Settings of `type: shopify`: order and fulfilment webhooks (`webhook:`), and polling of the Admin REST
API's orders (`base_url` and `access_token`) — either, or both, the poll then being the safety net of the
pushes. Pushed and polled orders are parsed alike (receiver.order_record) and mapped by one table."""

from __future__ import annotations

import builtins
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, HttpUrl, SecretStr, model_validator

from orderbridge.config.types import SentToSource
from orderbridge.connectors.presets.base import DeclarativePreset, PresetSettings
from orderbridge.connectors.push.settings import PushSettings
from orderbridge.connectors.shopify import statuses
from orderbridge.mapping.ids import OrderIdRule
from orderbridge.mapping.status import StatusTable


class ShopifySettings(DeclarativePreset, PushSettings):
    type: Literal["shopify"] = Field(default="shopify", description="The connector type.")
    signing_note: ClassVar[str] = " (the app's client secret; X-Shopify-Hmac-Sha256)"

    base_url: Annotated[HttpUrl | None, SentToSource] = Field(  # type: ignore[assignment]
        default=None,
        description="The shop, https://<shop>.myshopify.com, to poll its orders (with access_token); "
        "unset: pushes only.",
    )
    access_token: SecretStr | None = Field(
        default=None,
        description="Admin API access token of the custom app (shpat_...), scopes read_orders and "
        "read_all_orders.",
    )
    api_version: str = Field(default="2025-10", description="Admin API version (YYYY-MM) in the path.")
    page_size: int = Field(default=250, ge=1, le=250, description="Orders per page (limit, at most 250).")
    order_id: OrderIdRule = Field(
        default_factory=lambda: OrderIdRule(field="name", strip_prefix=["#"]),
        description="How the order's `name` (#1001) becomes the order key.",
    )

    @property
    def polling(self) -> bool:
        return self.base_url is not None

    @model_validator(mode="before")
    @classmethod
    def _poll_needs_both(cls, data: Any) -> Any:
        if isinstance(data, dict) and (data.get("base_url") is None) != (data.get("access_token") is None):
            raise ValueError("polling a shop needs both `base_url` and `access_token`; give both, or neither")
        return data

    def preset_status(self) -> builtins.list[StatusTable]:
        return statuses.tables()

    def complete(self) -> None:
        if self.polling:
            super().complete()
        else:
            PresetSettings.complete(self)  # pushes only: the status table, nothing to expand

    def effective(self) -> Any:
        return super().effective() if self.polling else self

    def streams(self, name: str) -> dict[str, builtins.list[str]]:
        return {name: self.link_by}  # fulfilments are records of the system itself, as when pushed

    def warnings(self) -> builtins.list[str]:
        return [*PushSettings.warnings(self), *PresetSettings.warnings(self)]
