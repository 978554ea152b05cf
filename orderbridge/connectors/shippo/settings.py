"""Settings of `type: shippo`."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar, Literal

from pydantic import Field

from orderbridge.connectors.push.parcels import CarrierSettings
from orderbridge.connectors.push.settings import Signing
from orderbridge.connectors.shippo import statuses
from orderbridge.mapping.status import StatusTable


class ShippoSettings(CarrierSettings):
    type: Literal["shippo"] = Field(default="shippo", description="The connector type.")
    signing: ClassVar[Signing] = "optional"
    signing_note: ClassVar[str] = " (the HMAC secret Shippo support provisions)"
    default_tolerance: ClassVar[timedelta | None] = timedelta(minutes=5)

    @classmethod
    def presets(cls) -> list[StatusTable]:
        return [statuses.table()]
