"""Settings of `type: medusa`: the shop's address and a secret API key (or an admin's e-mail and
password); the order listing comes from `preset.yaml` beside this module."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, model_validator

from orderbridge.config.types import Duration
from orderbridge.connectors.presets.base import DeclarativePreset
from orderbridge.connectors.rest.settings import RestPollSettings

ORDER_FIELDS = [
    "id",
    "display_id",
    "status",
    "payment_status",
    "fulfillment_status",
    "total",
    "currency_code",
    "created_at",
    "updated_at",
]


class MedusaSettings(DeclarativePreset):
    derived: ClassVar[tuple[str, ...]] = ("auth",)

    type: Literal["medusa"] = Field(default="medusa", description="Medusa v2 orders (admin API).")
    api_key: SecretStr | None = Field(
        default=None, description="A secret API key (Settings > Secret API Keys, sk_...)."
    )
    username: str | None = Field(
        default=None, description="Instead of an API key: an admin user's e-mail (POST /auth/user/emailpass)."
    )
    password: SecretStr | None = Field(default=None, description="That admin user's password.")
    poll: RestPollSettings = Field(
        default_factory=lambda: RestPollSettings(full_every=timedelta(days=1)),
        description="When to poll; a full re-read daily (full_every) catches payments and fulfilments "
        "that leave the order's updated_at alone.",
    )
    order_fields: list[str] = Field(
        default_factory=lambda: list(ORDER_FIELDS),
        description="Order fields asked for (`fields`); add metadata or your own here.",
    )
    page_size: int = Field(default=50, ge=1, le=1000, description="Orders per request (limit).")
    overlap: Duration = Field(
        default=timedelta(minutes=1), description="Re-read this far behind the saved updated_at."
    )
    since: str = Field(
        default="2000-01-01T00:00:00+00:00", description="updated_at the first poll reads from."
    )

    @model_validator(mode="before")
    @classmethod
    def _one_credential(cls, data: Any) -> Any:
        if isinstance(data, dict):
            key, login = data.get("api_key"), (data.get("username"), data.get("password"))
            if (key is None) == (login == (None, None)):
                raise ValueError("give `api_key`, or `username` and `password` (an admin's login), not both")
            if key is None and None in login:
                raise ValueError("a login needs both `username` and `password`")
        return data

    def template_values(self) -> dict[str, Any]:
        values = super().template_values()
        if self.api_key is not None:
            # basic auth with the key as the user and no password, as Medusa's JS SDK sends it; only
            # this encoded form travels (and is masked)
            pair = base64.b64encode(f"{self.api_key.get_secret_value()}:".encode()).decode()
            auth: dict[str, Any] = {"type": "static", "headers": {"Authorization": f"Basic {pair}"}}
        else:
            assert self.password is not None
            auth = {
                "type": "login",
                "path": "/auth/user/emailpass",
                "body": {"email": self.username},
                "secret_body": {"password": self.password.get_secret_value()},
                "token": {"body": "token"},
            }
        return {**values, "auth": auth, "order_fields": ",".join(self.order_fields)}
