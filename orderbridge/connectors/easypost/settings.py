"""Settings of `type: easypost`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, HttpUrl, SecretStr

from orderbridge.connectors.easypost import statuses
from orderbridge.connectors.push.parcels import AggregatorSettings
from orderbridge.mapping.status import StatusTable


class EasyPostSettings(AggregatorSettings):
    type: Literal["easypost"] = Field(default="easypost", description="The connector type.")
    signing_note: ClassVar[str] = " (the webhook_secret set on the EasyPost Webhook)"

    api_key: SecretStr | None = Field(default=None, description="EasyPost API key, for polling.")
    base_url: HttpUrl = Field(
        default=HttpUrl("https://api.easypost.com/v2"), description="EasyPost API base URL."
    )

    @classmethod
    def presets(cls) -> list[StatusTable]:
        return [statuses.table()]

    def missing_credentials(self) -> str | None:
        return None if self.api_key else "api_key"
