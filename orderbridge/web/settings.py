"""Settings of the customers' status page (`server.track`): which system's records hold the second
factor customers give with their order number, how it is compared, and how often a client may ask."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class FactorKind(StrEnum):
    email = "email"  # compared without case or surrounding spaces
    phone = "phone"  # the last `digits` digits of the phone number
    postcode = "postcode"  # compared without spaces or case


class TrackSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        default=False, description="Serve the customers' status page /track (off unless set)."
    )
    system: str | None = Field(
        default=None,
        description="The system whose records hold the second factor (the shop or ERP customers order "
        "from); needed when enabled.",
    )
    field: str | None = Field(
        default=None,
        description="Dotted path of the second factor in that system's records, e.g. customer.email; "
        "needed when enabled.",
    )
    factor: FactorKind = Field(
        default=FactorKind.email,
        description="What customers type as the second factor: email, phone (its last digits) or postcode.",
    )
    digits: int = Field(
        default=4, ge=4, le=11, description="For factor phone: how many of the last digits customers type."
    )
    tracking_link: str = Field(
        default="tracking_number",
        description="The link (a system's `fields.links` name) whose values are shown as tracking numbers.",
    )
    per_minute: int = Field(
        default=5, ge=1, le=600, description="Look-ups one client (IP address) may make per minute."
    )
    client_header: str | None = Field(
        default=None,
        description="A header a trusted reverse proxy sets to the client's address (X-Forwarded-For: its "
        "first address), so the rate limit counts customers, not the proxy; believed only from "
        "`server.trusted_proxies`.",
    )

    @model_validator(mode="after")
    def _complete(self) -> TrackSettings:
        if self.enabled:
            missing = [name for name in ("system", "field") if not getattr(self, name)]
            if missing:
                raise ValueError(f"track is enabled but names no {' and no '.join(missing)}")
        return self
