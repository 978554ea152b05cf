"""Alert channel types by the name `type:` gives them."""

from __future__ import annotations

from orderbridge.notify.channels.base import Channel, ChannelSettings
from orderbridge.notify.channels.dingtalk import DingTalkChannel
from orderbridge.notify.channels.email import EmailChannel
from orderbridge.notify.channels.feishu import FeishuChannel
from orderbridge.notify.channels.slack import SlackChannel
from orderbridge.notify.channels.webhook import GenericWebhookChannel
from orderbridge.notify.channels.wecom import WeComChannel
from orderbridge.notify.mail import SmtpSettings

CHANNEL_TYPES: dict[str, type[Channel]] = {
    "email": EmailChannel,
    "dingtalk": DingTalkChannel,
    "wecom": WeComChannel,
    "feishu": FeishuChannel,
    "slack": SlackChannel,
    "webhook": GenericWebhookChannel,
}
# Names people try that are not channels, with what to use instead.
NOT_CHANNELS = {
    "wechat": "WeChat personal accounts have no robot API; use a WeCom (企业微信) group robot: type: wecom",
    "weixin": "WeChat personal accounts have no robot API; use a WeCom (企业微信) group robot: type: wecom",
    "lark": "Lark bots are Feishu bots: type: feishu with the open.larksuite.com webhook URL",
}


def build_channel(name: str, settings: ChannelSettings, smtp: SmtpSettings | None) -> Channel:
    cls = CHANNEL_TYPES[settings.type]
    if cls is EmailChannel:
        return EmailChannel(name, settings, smtp)
    return cls(name, settings)
