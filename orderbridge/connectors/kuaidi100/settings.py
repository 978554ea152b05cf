"""Settings of `type: kuaidi100`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, HttpUrl, SecretStr

from orderbridge.connectors.kuaidi100 import statuses
from orderbridge.connectors.push.parcels import AggregatorSettings
from orderbridge.mapping.status import StatusTable


class Kuaidi100Settings(AggregatorSettings):
    type: Literal["kuaidi100"] = Field(default="kuaidi100", description="The connector type.")
    signing: ClassVar[Literal["optional"]] = "optional"
    signing_note: ClassVar[str] = " (the `salt` given when subscribing)"

    timezone: str = Field(
        default="Asia/Shanghai", description="Zone of ftime (China time, sent without zone)."
    )
    order_param: str | None = Field(
        default=None,
        description="Query parameter of the callback URL that carries your order number, when you "
        "subscribe with callbackurl=https://.../webhooks/<system>?orderId=SO-42 (then: orderId).",
    )
    key: SecretStr | None = Field(default=None, description="授权key, for the real-time query (polling).")
    customer: str | None = Field(default=None, description="customer (公司编号), for the real-time query.")
    base_url: HttpUrl = Field(default=HttpUrl("https://poll.kuaidi100.com"), description="Kuaidi100 API.")

    @classmethod
    def presets(cls) -> list[StatusTable]:
        return [statuses.table()]

    def missing_credentials(self) -> str | None:
        missing = [name for name in ("key", "customer") if not getattr(self, name)]
        return " and ".join(missing) or None
