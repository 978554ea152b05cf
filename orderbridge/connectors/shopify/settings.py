"""Settings of `type: shopify`. Pushes today; polling of the Admin API will join under the same type."""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from orderbridge.connectors.push.codes import with_preset
from orderbridge.connectors.push.settings import PushSettings
from orderbridge.connectors.shopify import statuses
from orderbridge.mapping.ids import OrderIdRule


class ShopifySettings(PushSettings):
    type: Literal["shopify"] = Field(default="shopify", description="The connector type.")
    signing_note: ClassVar[str] = " (the app's client secret; X-Shopify-Hmac-Sha256)"

    order_id: OrderIdRule = Field(
        default_factory=lambda: OrderIdRule(field="name", strip_prefix=["#"]),
        description="How the order's `name` (#1001) becomes the order key.",
    )

    @model_validator(mode="after")
    def _preset_status(self) -> Self:
        self.status = with_preset(self.status, statuses.tables())
        return self
