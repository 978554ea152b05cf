"""WeCom (企业微信) group robot.

Format, from WeCom's group robot documentation (developer.work.weixin.qq.com/document/path/91770,
"群机器人配置说明"): POST JSON to https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...,
`{"msgtype": "markdown", "markdown": {"content": ...}}` (content at most 4096 bytes, UTF-8), or
`{"msgtype": "text", "text": {"content": ..., "mentioned_mobile_list": [...]}}` (2048 bytes) when
people are to be @-mentioned, which markdown does not do by mobile number. The answer is HTTP 200 with
`{"errcode": 0, "errmsg": "ok"}`; 45009 means too many messages (20 a minute per robot).

WeChat personal accounts have no robot API: a company's WeChat group alerts go through WeCom.
"""

from __future__ import annotations

from datetime import timedelta
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


class WeComSettings(ChannelSettings):
    type: Literal["wecom"] = Field(default="wecom", description="A WeCom (企业微信) group robot.")
    url: SecretStr = Field(
        description="The robot's webhook URL, https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=... "
        "(a secret)."
    )
    mentioned_mobile_list: list[str] = Field(
        default_factory=list,
        description='Mobile numbers to @-mention ("@all" for everyone); sends a text message.',
    )


class WeComChannel(WebhookChannel):
    settings_model = WeComSettings
    settings: WeComSettings
    max_bytes: ClassVar[int] = 4000  # markdown content: 4096 bytes; text: 2048 (see payload)
    default_rate_limit: ClassVar[RateLimit] = RateLimit(messages=20, per=timedelta(minutes=1))

    def url(self) -> str:
        return self.settings.url.get_secret_value()

    def payload(self, title: str, lines: list[str]) -> dict[str, Any]:
        if self.settings.mentioned_mobile_list:
            text = "\n".join([title, *lines]).encode()[:2000].decode(errors="ignore")
            return {
                "msgtype": "text",
                "text": {"content": text, "mentioned_mobile_list": list(self.settings.mentioned_mobile_list)},
            }
        return {
            "msgtype": "markdown",
            "markdown": {"content": "\n".join([f"**{title}**", *(f"> {line}" for line in lines)])},
        }

    def check(self, response: httpx.Response) -> None:
        if not response.is_success:
            raise http_error(response)
        answer = _json(response)
        if answer.get("errcode") != 0:
            raise DeliveryError(f"WeCom errcode {answer.get('errcode')}: {answer.get('errmsg')}")
