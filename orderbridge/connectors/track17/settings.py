"""Settings of `type: 17track`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, HttpUrl

from orderbridge.connectors.push.parcels import AggregatorSettings
from orderbridge.connectors.track17 import statuses
from orderbridge.mapping.status import StatusTable


class Track17Settings(AggregatorSettings):
    type: Literal["17track"] = Field(default="17track", description="The connector type.")
    signing_note: ClassVar[str] = " (the account API key, the value of the 17token header)"

    base_url: HttpUrl = Field(
        default=HttpUrl("https://api.17track.net/track/v2.2"), description="17TRACK API base URL."
    )

    @classmethod
    def presets(cls) -> list[StatusTable]:
        return [statuses.table()]

    def missing_credentials(self) -> str | None:
        return None if self.webhook and self.webhook.secret else "webhook.secret (the API key)"
