"""Settings of `type: aftership`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, HttpUrl, SecretStr

from orderbridge.connectors.aftership import statuses
from orderbridge.connectors.push.parcels import AggregatorSettings
from orderbridge.mapping.status import StatusTable


class AfterShipSettings(AggregatorSettings):
    type: Literal["aftership"] = Field(default="aftership", description="The connector type.")
    signing_note: ClassVar[str] = " (the webhook secret shown in AfterShip's Notifications > Webhooks)"

    api_key: SecretStr | None = Field(
        default=None, description="AfterShip API key (as-api-key), for polling."
    )
    base_url: HttpUrl = Field(
        default=HttpUrl("https://api.aftership.com/tracking/2025-01"),
        description="Tracking API base URL, with its version.",
    )

    @classmethod
    def presets(cls) -> list[StatusTable]:
        return [statuses.table()]

    def missing_credentials(self) -> str | None:
        return None if self.api_key else "api_key"
