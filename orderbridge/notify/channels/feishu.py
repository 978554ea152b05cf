"""Feishu / Lark custom bot (飞书自定义机器人).

Format, from Feishu's custom bot guide (open.feishu.cn/document/client-docs/bot-v3/add-custom-bot;
Lark: open.larksuite.com): POST JSON to https://open.feishu.cn/open-apis/bot/v2/hook/<token>
(Lark: https://open.larksuite.com/open-apis/bot/v2/hook/<token>), `{"msg_type": "text", "content":
{"text": ...}}`. With signature verification on, the body also carries `timestamp` (seconds, as a
string) and `sign`: Base64 of HmacSHA256 keyed with "timestamp\\nsecret" over an empty message; the
timestamp must be within an hour of Feishu's clock. The answer is `{"code": 0, "msg": "success"}`
(older bots: `{"StatusCode": 0, "StatusMessage": "success"}`); 19021 is a signature refused, 11232
too many messages (100 a minute, 5 a second per bot).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

import httpx
from pydantic import Field, SecretStr

from orderbridge.notify.channels.base import (
    ChannelSettings,
    DeliveryError,
    RateLimit,
    WebhookChannel,
    http_error,
)
from orderbridge.notify.channels.dingtalk import _json


class FeishuSettings(ChannelSettings):
    type: Literal["feishu"] = Field(default="feishu", description="A Feishu (飞书) / Lark group bot.")
    url: SecretStr = Field(
        description="The bot's webhook URL, https://open.feishu.cn/open-apis/bot/v2/hook/... "
        "(Lark: https://open.larksuite.com/open-apis/bot/v2/hook/...; a secret)."
    )
    secret: SecretStr | None = Field(
        default=None, description="The bot's signing secret (签名校验), if signature verification is on."
    )


def feishu_sign(secret: str, timestamp: int) -> str:
    """`sign`: base64(HmacSHA256(key=f"{timestamp}\\n{secret}", message=b""))."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class FeishuChannel(WebhookChannel):
    settings_model = FeishuSettings
    settings: FeishuSettings
    max_bytes: ClassVar[int] = 19000  # the request body may be at most 20 KB
    default_rate_limit: ClassVar[RateLimit] = RateLimit(messages=100, per=timedelta(minutes=1))

    def url(self) -> str:
        return self.settings.url.get_secret_value()

    def payload(self, title: str, lines: list[str]) -> dict[str, Any]:
        return {"msg_type": "text", "content": {"text": "\n".join([title, *lines])}}

    def prepare(self, payload: dict[str, Any], now: datetime) -> httpx.Request:
        if self.settings.secret is not None:
            timestamp = int(now.timestamp())
            sign = feishu_sign(self.settings.secret.get_secret_value(), timestamp)
            payload = {"timestamp": str(timestamp), "sign": sign, **payload}
        return super().prepare(payload, now)

    def check(self, response: httpx.Response) -> None:
        if not response.is_success:
            raise http_error(response)
        answer = _json(response)
        code = answer.get("code", answer.get("StatusCode"))
        if code != 0:
            message = answer.get("msg", answer.get("StatusMessage"))
            raise DeliveryError(f"Feishu code {code}: {message}")
