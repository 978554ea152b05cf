"""Settings of `type: karrio`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from orderbridge.connectors.karrio import statuses
from orderbridge.connectors.push.parcels import CarrierSettings
from orderbridge.mapping.status import StatusTable


class KarrioSettings(CarrierSettings):
    type: Literal["karrio"] = Field(default="karrio", description="The connector type.")
    signing_note: ClassVar[str] = " (the webhook's secret, which Karrio sends in plain text in X-Event-Id)"

    @classmethod
    def presets(cls) -> list[StatusTable]:
        return [statuses.table()]

    def warnings(self) -> list[str]:
        return [
            "webhook: Karrio signs nothing; it sends the secret itself in the X-Event-Id header: use HTTPS",
            *super().warnings(),
        ]
