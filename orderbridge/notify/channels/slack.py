"""Slack incoming webhook.

Format, from Slack's "Sending messages using incoming webhooks" (docs.slack.dev/messaging/
sending-messages-using-incoming-webhooks): POST JSON to https://hooks.slack.com/services/T.../B.../...,
`{"text": ...}` in mrkdwn (with `blocks` optional; `text` is then the notification fallback). Success is
HTTP 200 with the body `ok`; errors are HTTP 4xx with a short code as the body: 400 `invalid_payload`
or `no_text` (the message itself is wrong), 403 `action_prohibited`, 404 `channel_not_found` or
`no_service` (the webhook was removed), 410 `channel_is_archived`, and 429 with Retry-After when
sending too fast (about one message a second per webhook). `&`, `<` and `>` are escaped in text.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr

from orderbridge.notify.channels.base import ChannelSettings, RateLimit, WebhookChannel


class SlackSettings(ChannelSettings):
    type: Literal["slack"] = Field(default="slack", description="A Slack incoming webhook.")
    url: SecretStr = Field(
        description="The incoming webhook URL, https://hooks.slack.com/services/... (a secret)."
    )


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackChannel(WebhookChannel):
    settings_model = SlackSettings
    settings: SlackSettings
    max_bytes: ClassVar[int] = 35000  # Slack truncates text beyond 40,000 characters
    default_rate_limit: ClassVar[RateLimit] = RateLimit(messages=1, per=timedelta(seconds=1))

    def url(self) -> str:
        return self.settings.url.get_secret_value()

    def payload(self, title: str, lines: list[str]) -> dict[str, Any]:
        text = "\n".join([f"*{escape(title)}*", *(f"• {escape(line)}" for line in lines)])
        return {"text": text}
