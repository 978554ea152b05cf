"""Settings of `type: sf_express`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from orderbridge.connectors.push.parcels import CarrierSettings
from orderbridge.connectors.push.settings import Signing
from orderbridge.connectors.sfexpress import statuses
from orderbridge.mapping.status import StatusTable


class SfExpressSettings(CarrierSettings):
    type: Literal["sf_express"] = Field(default="sf_express", description="The connector type.")
    signing: ClassVar[Signing] = "never"

    timezone: str = Field(default="Asia/Shanghai", description="Zone of acceptTime (China time, no zone).")

    @classmethod
    def presets(cls) -> list[StatusTable]:
        return [statuses.table()]
