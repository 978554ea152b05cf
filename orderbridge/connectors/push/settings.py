"""Settings every push-capable system shares: the `webhook:` block, and the safety-net poll of the
tracking aggregators."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ByteSize,
    ConfigDict,
    Field,
    SecretStr,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from orderbridge.config.types import Duration
from orderbridge.connectors.base import PollSettings, SystemSettings
from orderbridge.connectors.push.signatures import SignatureSettings, default_type

MIB = 1 << 20
# How a provider authenticates its pushes: it always signs them; it may (a secret, else a path token
# or an IP allowlist); it never does (path token or allowlist only).
Signing = Literal["required", "optional", "never"]


def _networks(value: Any) -> Any:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return value
    checked = []
    for item in value:
        try:
            checked.append(str(ipaddress.ip_network(str(item).strip(), strict=False)))
        except ValueError:
            raise ValueError(
                f"{item!r} is not an IP address or network (e.g. 52.4.41.98 or 10.0.0.0/8)"
            ) from None
    return checked


class AckSettings(BaseModel):
    """The answer to a stored event, where a provider's documented one is uncertain (Cainiao)."""

    model_config = ConfigDict(extra="forbid")

    status: int = Field(default=200, ge=200, le=299, description="HTTP status of the acknowledgement.")
    body: str = Field(description='Body of the acknowledgement, e.g. \'{"success":"true"}\'.')
    media_type: str = Field(default="application/json", description="Content-Type of the acknowledgement.")


class WebhookSettings(BaseModel):
    """How pushes to POST /webhooks/<system> are authenticated and bounded; one shape for every provider."""

    model_config = ConfigDict(extra="forbid")

    secret: SecretStr | None = Field(
        default=None,
        description="The shared secret the provider signs with (AfterShip webhook secret, Kuaidi100 salt, "
        "17TRACK API key, Shopify app secret, ...).",
    )
    signature: SignatureSettings | None = Field(
        default=None,
        description="Generic `webhook` type only: where the signature is and how it is made "
        "(type hmac, digest, timestamped_hmac or token).",
    )
    max_body: Annotated[ByteSize, WithJsonSchema({"type": ["integer", "string"], "examples": ["1MiB"]})] = (
        Field(default=ByteSize(MIB), description="Largest body accepted (413 beyond), e.g. 1MiB or 256KiB.")
    )
    path_token: SecretStr | None = Field(
        default=None,
        description="For providers that sign nothing: a random token the provider posts to, as "
        "/webhooks/<system>/<token> (or ?token=).",
    )
    allow_ips: Annotated[list[str], BeforeValidator(_networks)] = Field(
        default_factory=list,
        description="For providers that sign nothing: addresses or networks pushes may come from.",
    )
    tolerance: Duration | None = Field(
        default=None,
        description="Timestamped schemes: how far the signed time may be from now (default 5m where the "
        "provider signs a time; unset: not checked).",
    )
    ack: AckSettings | None = Field(default=None, description="Override the acknowledgement body.")

    _signature_type = field_validator("signature", mode="before")(lambda cls, value: default_type(value))

    @field_validator("path_token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("a path token must have at least 16 characters (e.g. `openssl rand -hex 16`)")
        return value


class PushSettings(SystemSettings):
    """A system that pushes events. Subclasses set `signing`, and may poll too."""

    signing: ClassVar[Signing] = "required"
    default_tolerance: ClassVar[timedelta | None] = None
    signing_note: ClassVar[str] = ""  # what the provider signs with, for error messages

    webhook: WebhookSettings | None = Field(
        default=None, description="How pushes to POST /webhooks/<system> are verified (required to receive)."
    )

    @property
    def pushing(self) -> bool:
        return self.webhook is not None

    @property
    def polling(self) -> bool:
        return False

    @property
    def tolerance(self) -> timedelta | None:
        webhook = self.webhook
        return (
            webhook.tolerance
            if webhook is not None and webhook.tolerance is not None
            else self.default_tolerance
        )

    @model_validator(mode="after")
    def _authentication(self) -> Self:
        webhook = self.webhook
        if webhook is None:
            if not self.polling:
                raise ValueError(f"a {self.type} system needs a `webhook:` block (at least its secret)")
            return self
        unsigned_only = bool(webhook.path_token or webhook.allow_ips)
        if webhook.signature is not None and self.type != "webhook":
            raise ValueError(
                f"webhook.signature is for the generic `webhook` type; {self.type} signs its own way"
            )
        if self.signing == "required":
            if webhook.secret is None:
                raise ValueError(
                    f"webhook.secret is required: {self.type} signs every push{self.signing_note}"
                )
            if unsigned_only:
                raise ValueError(
                    f"webhook.path_token and webhook.allow_ips are for providers that sign nothing; "
                    f"{self.type} signs its pushes with webhook.secret"
                )
        elif self.signing == "optional":
            if webhook.secret is not None and unsigned_only:
                raise ValueError(
                    "give webhook.secret (signed pushes) or webhook.path_token/allow_ips (unsigned), not both"
                )
            if webhook.secret is None and not unsigned_only:
                raise ValueError(
                    f"give webhook.secret{self.signing_note}, or, if the pushes are not signed, "
                    "webhook.path_token and/or webhook.allow_ips"
                )
        elif not unsigned_only:
            raise ValueError(
                f"{self.type} signs nothing: give webhook.path_token and/or webhook.allow_ips to tell "
                "its pushes from anyone else's"
            )
        return self

    def warnings(self) -> list[str]:
        webhook = self.webhook
        if webhook is None or webhook.secret is not None:
            return []
        guards = " and ".join(
            g
            for g, on in (("its path token", webhook.path_token), ("its IP allowlist", webhook.allow_ips))
            if on
        )
        return [f"webhook: pushes are not signed; requests are told apart by {guards} only (use HTTPS)"]


class TrackingPollSettings(PollSettings):
    """The safety net of a tracking aggregator: ask its tracking API about the shipments it has been
    silent on, in case a push was lost."""

    every: Duration = Field(default=timedelta(hours=1), description="How often to look for silent shipments.")
    silent_after: Duration | None = Field(
        default=None,
        description="Poll a shipment not yet delivered (or otherwise finished) that has not changed for this "
        "long, e.g. 12h; unset: no polling.",
    )
    batch: int = Field(default=100, ge=1, le=10000, description="At most this many shipments per poll.")
