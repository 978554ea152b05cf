"""Settings of `type: cainiao`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from orderbridge.connectors.cainiao import statuses
from orderbridge.connectors.push.parcels import CarrierSettings
from orderbridge.mapping.status import StatusTable


class CainiaoSettings(CarrierSettings):
    type: Literal["cainiao"] = Field(default="cainiao", description="The connector type.")
    signing_note: ClassVar[str] = " (the secretKey of the Cainiao application)"

    timezone: str = Field(
        default="Asia/Shanghai", description="Zone of logisticsGmtModified when it has none."
    )
    charset: Literal["utf-8", "gbk"] = Field(
        default="utf-8", description="Charset the digest is computed in."
    )

    @classmethod
    def presets(cls) -> list[StatusTable]:
        return [statuses.table()]
