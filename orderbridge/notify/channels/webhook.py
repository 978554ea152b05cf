"""A generic JSON webhook, signed with HMAC-SHA256 so the receiver can tell the message is ours.

The request (documented in docs/alerts.md): POST JSON `{"source": "orderbridge", "title": ...,
"lines": [...], "alerts": [...], "sent_at": ...}` with headers
`X-Orderbridge-Timestamp: <unix seconds>` and
`X-Orderbridge-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>`, the scheme
GitHub's and Stripe's webhooks use; a receiver recomputes it over the raw bytes, compares in constant
time and refuses stale timestamps. `X-Orderbridge-Delivery` is the same on every retry of one message.
Any 2xx answer is success.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any, Literal

import httpx
from pydantic import Field, SecretStr

from orderbridge.notify.channels.base import ChannelSettings, Composed, Digest, WebhookChannel


class GenericWebhookSettings(ChannelSettings):
    type: Literal["webhook"] = Field(
        default="webhook", description="A JSON POST to any URL, signed with HMAC-SHA256 when a secret is set."
    )
    url: SecretStr = Field(description="Where to POST (a secret if it carries a token).")
    secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key; the request carries X-Orderbridge-Signature when set."
    )
    headers: dict[str, SecretStr] = Field(
        default_factory=dict, description="Extra request headers (e.g. Authorization), kept secret."
    )


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


class GenericWebhookChannel(WebhookChannel):
    settings_model = GenericWebhookSettings
    settings: GenericWebhookSettings
    max_bytes = 1_000_000

    def url(self) -> str:
        return self.settings.url.get_secret_value()

    def payload(self, title: str, lines: list[str]) -> dict[str, Any]:
        return {"source": "orderbridge", "title": title, "lines": lines}

    def compose(self, digest: Digest) -> Composed:
        payload = {
            **self.payload(digest.title(), digest.lines(self.settings.max_items)),
            "alerts": digest.announcements,
            "sent_at": digest.now.isoformat(),
            "delivery": digest.key,
        }
        return Composed(
            subject=digest.title(), body=json.dumps(payload, ensure_ascii=False), recipient=self.name
        )

    def prepare(self, payload: dict[str, Any], now: datetime) -> httpx.Request:
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {k: v.get_secret_value() for k, v in self.settings.headers.items()}
        headers["Content-Type"] = "application/json; charset=utf-8"
        headers["X-Orderbridge-Delivery"] = str(payload.get("delivery", ""))
        if self.settings.secret is not None:
            timestamp = int(now.timestamp())
            headers["X-Orderbridge-Timestamp"] = str(timestamp)
            headers["X-Orderbridge-Signature"] = webhook_signature(
                self.settings.secret.get_secret_value(), timestamp, body
            )
        return httpx.Request("POST", self.url(), content=body, headers=headers)
