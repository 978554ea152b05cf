"""DingTalk (钉钉) custom group robot.

Format, from DingTalk's custom robot documentation (open.dingtalk.com/document/robots/custom-robot-access,
"消息类型及数据格式" and "加签"): POST JSON to https://oapi.dingtalk.com/robot/send?access_token=...,
`{"msgtype": "markdown", "markdown": {"title": ..., "text": ...},
"at": {"atMobiles": [...], "isAtAll": false}}`.
With the signing option the URL also carries `timestamp` (milliseconds) and `sign`: the URL-encoded
Base64 of HmacSHA256 over "timestamp\\nsecret" keyed with the secret. The answer is HTTP 200 with
`{"errcode": 0, "errmsg": "ok"}`; any other errcode is an error (310000: keyword, signature or IP
not accepted; 130101: sending too fast). A robot takes at most 20 messages a minute.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal
from urllib.parse import quote_plus

import httpx
from pydantic import Field, SecretStr

from orderbridge.notify.channels.base import (
    ChannelSettings,
    DeliveryError,
    RateLimit,
    WebhookChannel,
    http_error,
)


class DingTalkSettings(ChannelSettings):
    type: Literal["dingtalk"] = Field(default="dingtalk", description="A DingTalk (钉钉) group robot.")
    url: SecretStr = Field(
        description="The robot's webhook URL, https://oapi.dingtalk.com/robot/send?access_token=... "
        "(a secret: put it in an environment variable)."
    )
    secret: SecretStr | None = Field(
        default=None, description="The robot's signing secret (加签, starts with SEC), if signing is on."
    )
    at_mobiles: list[str] = Field(default_factory=list, description="Mobile numbers to @-mention.")
    at_all: bool = Field(default=False, description="@-mention everyone in the group.")


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The `sign` query parameter: urlencode(base64(HmacSHA256(secret, f"{timestamp}\\n{secret}")))."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


class DingTalkChannel(WebhookChannel):
    settings_model = DingTalkSettings
    settings: DingTalkSettings
    default_rate_limit: ClassVar[RateLimit] = RateLimit(messages=20, per=timedelta(minutes=1))

    def url(self) -> str:
        return self.settings.url.get_secret_value()

    def payload(self, title: str, lines: list[str]) -> dict[str, Any]:
        mentions = " ".join(f"@{m}" for m in self.settings.at_mobiles)
        text = "\n".join([f"### {title}", "", *(f"- {line}" for line in lines)])
        if mentions:
            text += f"\n\n{mentions}"  # DingTalk shows the @ only when the number is in the text too
        return {
            "msgtype": "markdown",
            "markdown": {"title": title, "text": text},
            "at": {"atMobiles": list(self.settings.at_mobiles), "isAtAll": self.settings.at_all},
        }

    def prepare(self, payload: dict[str, Any], now: datetime) -> httpx.Request:
        request = super().prepare(payload, now)
        if self.settings.secret is None:
            return request
        timestamp = int(now.timestamp() * 1000)
        sign = dingtalk_sign(self.settings.secret.get_secret_value(), timestamp)
        # `sign` is already URL-encoded, as the documentation asks: appended verbatim.
        url = f"{self.url()}{'&' if '?' in self.url() else '?'}timestamp={timestamp}&sign={sign}"
        return httpx.Request("POST", url, content=request.content, headers=request.headers)

    def check(self, response: httpx.Response) -> None:
        if not response.is_success:
            raise http_error(response)
        answer = _json(response)
        code = answer.get("errcode")
        if code != 0:
            raise DeliveryError(f"DingTalk errcode {code}: {answer.get('errmsg')}")


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        found = response.json()
    except ValueError:
        raise DeliveryError(f"not a JSON answer: {response.text[:100]!r}") from None
    if not isinstance(found, dict):
        raise DeliveryError(f"unexpected answer: {response.text[:100]!r}")
    return found
