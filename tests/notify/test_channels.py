"""Each chat service's request and signature as its documentation describes them (respx stands in
for the service), and how each service's answers are read: success, an error inside a 200 answer,
a refused message (not retried), too many requests (retried after Retry-After)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

import httpx
import pytest
import respx

from orderbridge.config.loader import parse_config
from orderbridge.notify.channels.base import Channel, DeliveryError, Digest
from orderbridge.notify.channels.registry import build_channel
from orderbridge.notify.i18n import Language
from orderbridge.storage.outbox import Item

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ANNOUNCEMENT = {
    "type": "discrepancy",
    "id": 7,
    "order_key": "SO-000044",
    "rule": "status_conflict",
    "severity": "critical",
    "summary": "erp says cancelled (已作废); wms says shipped",
    "opened_at": (NOW - timedelta(hours=3)).isoformat(),
    "escalation": 0,
}


def channel(block: str) -> Channel:
    config = parse_config(f"alerts:\n  channels:\n    c: {block}\n  rules: [{{send: [c]}}]\n")
    return build_channel("c", config.alerts.channels["c"], None)


def deliver(found: Channel, now: datetime = NOW) -> None:
    composed = found.compose(Digest("digest:c:1", [ANNOUNCEMENT], now, Language.en))
    item = Item(
        id=1,
        kind="digest",
        channel="c",
        recipient="c",
        subject=composed.subject,
        body=composed.body,
        payload={},
        state="pending",
        created_at=now,
        next_attempt_at=now,
        attempts=0,
        last_error=None,
        sent_at=None,
        dedupe_key="digest:c:1",
        message_id=None,
        packed_into=None,
    )
    found.deliver(item, now)


@respx.mock
def test_dingtalk_signed_markdown() -> None:
    """DingTalk: markdown message; signing appends timestamp (ms) and sign = urlencode(base64(
    HmacSHA256(key=secret, "timestamp\\nsecret"))) to the webhook URL, as DingTalk's guide shows."""
    route = respx.route(method="POST", host="oapi.dingtalk.com", path="/robot/send").mock(
        return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})
    )
    secret = "SEC5a3ecf88f2b3eb50db30ecfc00f53033ac909c99bf7f88fd612bda89d7f3a9dc"
    deliver(
        channel(
            '{type: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=abc", '
            f"secret: {secret}, "
            "at_mobiles: ['13800001111']}"
        )
    )
    request = route.calls[0].request
    query = parse_qs(urlsplit(str(request.url)).query)
    timestamp = str(int(NOW.timestamp() * 1000))
    assert query["access_token"] == ["abc"] and query["timestamp"] == [timestamp]
    string_to_sign = f"{timestamp}\n{secret}".encode()
    expected = base64.b64encode(hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()).decode()
    assert query["sign"] == [expected]  # parse_qs undoes the URL encoding once
    assert f"sign={quote_plus(expected)}" in str(request.url)
    body = json.loads(request.content)
    assert body["msgtype"] == "markdown" and set(body["markdown"]) == {"title", "text"}
    assert body["at"] == {"atMobiles": ["13800001111"], "isAtAll": False}
    assert "SO-000044" in body["markdown"]["text"] and "@13800001111" in body["markdown"]["text"]


@respx.mock
def test_dingtalk_error_inside_a_200_answer_is_a_failure() -> None:
    """errcode 310000 (signature or keyword not accepted) in a 200 answer is a failed delivery."""
    respx.route(method="POST", host="oapi.dingtalk.com").mock(
        return_value=httpx.Response(200, json={"errcode": 310000, "errmsg": "sign not match"})
    )
    with pytest.raises(DeliveryError, match="310000") as raised:
        deliver(channel('{type: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=abc"}'))
    assert raised.value.final is False


@respx.mock
def test_wecom_markdown_and_text_with_mentions() -> None:
    """WeCom: {"msgtype": "markdown", "markdown": {"content"}}; with mobiles to @ it sends text with
    mentioned_mobile_list, as WeCom's group robot guide specifies; errcode 45009 is a failure."""
    route = respx.route(method="POST", host="qyapi.weixin.qq.com", path="/cgi-bin/webhook/send").mock(
        return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})
    )
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
    deliver(channel(f'{{type: wecom, url: "{url}"}}'))
    body = json.loads(route.calls[0].request.content)
    assert body["msgtype"] == "markdown" and "SO-000044" in body["markdown"]["content"]
    assert parse_qs(urlsplit(str(route.calls[0].request.url)).query)["key"] == [
        "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
    ]
    deliver(channel(f'{{type: wecom, url: "{url}", mentioned_mobile_list: ["13800001111", "@all"]}}'))
    body = json.loads(route.calls[1].request.content)
    assert body["msgtype"] == "text"
    assert (
        body["text"]["mentioned_mobile_list"] == ["13800001111", "@all"]
        and "SO-000044" in body["text"]["content"]
    )
    route.mock(return_value=httpx.Response(200, json={"errcode": 45009, "errmsg": "api freq out of limit"}))
    with pytest.raises(DeliveryError, match="45009"):
        deliver(channel(f'{{type: wecom, url: "{url}"}}'))


@respx.mock
def test_feishu_signed_text() -> None:
    """Feishu: {"msg_type": "text", "content": {"text"}} plus timestamp (seconds, a string) and sign =
    base64(HmacSHA256(key="timestamp\\nsecret", message empty)) in the body, per Feishu's guide."""
    route = respx.route(method="POST", host="open.feishu.cn", path="/open-apis/bot/v2/hook/xxxx").mock(
        return_value=httpx.Response(200, json={"code": 0, "data": {}, "msg": "success"})
    )
    deliver(channel('{type: feishu, url: "https://open.feishu.cn/open-apis/bot/v2/hook/xxxx", secret: demo}'))
    body = json.loads(route.calls[0].request.content)
    timestamp = str(int(NOW.timestamp()))
    expected = base64.b64encode(
        hmac.new(f"{timestamp}\ndemo".encode(), b"", hashlib.sha256).digest()
    ).decode()
    assert body["timestamp"] == timestamp and body["sign"] == expected
    assert body["msg_type"] == "text" and "SO-000044" in body["content"]["text"]


@respx.mock
def test_feishu_and_lark_error_codes() -> None:
    """A refused signature (code 19021) and the older StatusCode answer are read as Feishu sends them."""
    route = respx.route(method="POST", host="open.larksuite.com").mock(
        return_value=httpx.Response(
            200,
            json={
                "code": 19021,
                "msg": "sign match fail or timestamp is not within one hour from current time",
            },
        )
    )
    lark = channel('{type: feishu, url: "https://open.larksuite.com/open-apis/bot/v2/hook/xxxx", secret: s}')
    with pytest.raises(DeliveryError, match="19021"):
        deliver(lark)
    route.mock(return_value=httpx.Response(200, json={"StatusCode": 0, "StatusMessage": "success"}))
    deliver(lark)


@respx.mock
def test_slack_text_and_its_errors() -> None:
    """Slack: {"text"} in mrkdwn with &, <, > escaped; 'ok' is success; 400 invalid_payload is final;
    404 no_service is retried (the webhook may be restored); 429 carries Retry-After."""
    url = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
    route = respx.post(url).mock(return_value=httpx.Response(200, text="ok"))
    slack = channel(f'{{type: slack, url: "{url}"}}')
    deliver(slack)
    body = json.loads(route.calls[0].request.content)
    assert set(body) == {"text"} and body["text"].startswith("*orderbridge: discrepancy on SO-000044*")
    route.mock(return_value=httpx.Response(400, text="invalid_payload"))
    with pytest.raises(DeliveryError, match="invalid_payload") as raised:
        deliver(slack)
    assert raised.value.final is True
    route.mock(return_value=httpx.Response(404, text="no_service"))
    with pytest.raises(DeliveryError) as raised:
        deliver(slack)
    assert raised.value.final is False
    route.mock(return_value=httpx.Response(429, text="rate_limited", headers={"Retry-After": "30"}))
    with pytest.raises(DeliveryError) as raised:
        deliver(slack)
    assert raised.value.retry_after == timedelta(seconds=30) and raised.value.final is False


def test_slack_escapes_control_characters() -> None:
    """Text that looks like Slack markup (<!channel>, &) is shown, not interpreted."""
    from orderbridge.notify.channels.slack import escape

    assert escape("<!channel> & <http://x|y>") == "&lt;!channel&gt; &amp; &lt;http://x|y&gt;"


@respx.mock
def test_generic_webhook_is_signed_over_timestamp_and_raw_body() -> None:
    """The generic webhook: JSON with the announcements, X-Orderbridge-Signature = sha256=HMAC(secret,
    "timestamp." + raw body), X-Orderbridge-Timestamp, and a delivery id stable across retries."""
    route = respx.post("https://hooks.example.com/orderbridge").mock(return_value=httpx.Response(204))
    hook = channel(
        '{type: webhook, url: "https://hooks.example.com/orderbridge", secret: "whsec-1", '
        'headers: {Authorization: "Bearer t0k3n"}}'
    )
    deliver(hook)
    deliver(hook, NOW + timedelta(minutes=1))
    first, second = (call.request for call in route.calls)
    for request in (first, second):
        timestamp = request.headers["X-Orderbridge-Timestamp"]
        mac = hmac.new(b"whsec-1", f"{timestamp}.".encode() + request.content, hashlib.sha256).hexdigest()
        assert request.headers["X-Orderbridge-Signature"] == f"sha256={mac}"
        assert request.headers["Authorization"] == "Bearer t0k3n"
    assert first.headers["X-Orderbridge-Delivery"] == second.headers["X-Orderbridge-Delivery"] == "digest:c:1"
    body = json.loads(first.content)
    assert body["alerts"] == [ANNOUNCEMENT] and body["source"] == "orderbridge"


@respx.mock
def test_unreachable_service_error_never_shows_the_url() -> None:
    """A connection failure is reported without the webhook URL (it holds the robot's token)."""
    respx.route(method="POST", host="oapi.dingtalk.com").mock(
        side_effect=httpx.ConnectError("boom https://oapi.dingtalk.com/robot/send?access_token=tok-123")
    )
    with pytest.raises(DeliveryError) as raised:
        deliver(channel('{type: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=tok-123"}'))
    assert "tok-123" not in str(raised.value)


def test_email_channel_digest_arrives(smtp_server: Any) -> None:
    """The email channel sends a digest through smtp: to its recipients, with a Message-ID."""
    config = parse_config(
        smtp_server.smtp_yaml()
        + "alerts:\n  channels:\n    boss: {type: email, to: [director@example.com]}\n"
        + "  rules: [{send: [boss]}]\n"
    )
    boss = build_channel("boss", config.alerts.channels["boss"], config.smtp)
    composed = boss.compose(Digest("digest:boss:1", [ANNOUNCEMENT], NOW, Language.zh_cn))
    item = Item(
        id=1,
        kind="digest",
        channel="boss",
        recipient=composed.recipient,
        subject=composed.subject,
        body=composed.body,
        payload={},
        state="pending",
        created_at=NOW,
        next_attempt_at=NOW,
        attempts=0,
        last_error=None,
        sent_at=None,
        dedupe_key="digest:boss:1",
        message_id=composed.message_id,
        packed_into=None,
    )
    boss.deliver(item, NOW)
    received = smtp_server.handler.received[0]
    assert received.recipients == ["director@example.com"]
    mail = received.message
    assert mail["Message-ID"] == composed.message_id and "SO-000044" in mail["Subject"]
    assert "状态冲突" in mail.get_body(("plain",)).get_content()
