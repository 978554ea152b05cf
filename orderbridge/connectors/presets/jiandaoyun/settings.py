"""Settings of `type: jiandaoyun`: a form whose widgets the tenant designed, so the order number and
status widgets are named in the YAML (their alias or `_widget_<13 digits>` name). Pushes today;
polling of data/list will join under the same type."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from orderbridge.connectors.base import FieldMap
from orderbridge.connectors.push.settings import PushSettings, Signing


class JiandaoyunSettings(PushSettings):
    type: Literal["jiandaoyun"] = Field(default="jiandaoyun", description="The connector type.")
    signing: ClassVar[Signing] = "optional"
    signing_note: ClassVar[str] = " (the push secret set in 数据推送)"

    fields: FieldMap = Field(
        default_factory=lambda: FieldMap(record_id="_id", updated="updateTime"),
        description="Where each canonical field is in a row (widget names or aliases); _id and updateTime "
        "are Jiandaoyun's own.",
    )
