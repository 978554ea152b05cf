"""Alerts from the reconcile pass: once per tier per channel, escalation to a tier's own recipients
when an injected clock passes its age, quiet while acknowledged or snoozed, one digest per channel,
a rate limit, a failing channel that holds up no other, and source health."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import respx

from orderbridge.config.loader import parse_config
from orderbridge.notify.service import Notifier
from orderbridge.reconciler.lifecycle import acknowledge, snooze
from orderbridge.reconciler.settings import ReconcileSettings
from orderbridge.storage import discrepancies, health, outbox
from orderbridge.storage.db import Store

OPS_URL = "https://oapi.dingtalk.com/robot/send?access_token=ops-token"
DEPT_URL = "https://hooks.slack.com/services/T000/B000/dept"
BOSS_URL = "https://open.feishu.cn/open-apis/bot/v2/hook/boss"
ALERTS = f"""
alerts:
  language: en
  channels:
    ops: {{type: dingtalk, url: "{OPS_URL}"}}
    dept: {{type: slack, url: "{DEPT_URL}"}}
    boss: {{type: feishu, url: "{BOSS_URL}"}}
  rules:
    - {{when: {{severity: critical}}, send: [ops]}}
    - {{when: {{age: 1d}}, send: [dept]}}
    - {{when: {{age: 3d}}, send: [boss]}}
    - {{when: {{source: unhealthy}}, send: [ops]}}
"""
H = timedelta(hours=1)


def notifier(store: Store, world: Any, text: str = ALERTS) -> Notifier:
    cfg = parse_config(text)
    return Notifier(
        store, cfg.smtp, cfg.reports, cfg.alerts, ReconcileSettings.model_validate(world.reconcile)
    )


def announced(store: Store) -> list[tuple[str, str, int]]:
    """(channel, order key, discrepancy id) of every announcement ever queued."""
    with store.engine.connect() as conn:
        items = outbox.listing(conn, "all", 1000)
    return sorted(
        (i.channel, i.payload["order_key"], i.payload["id"])
        for i in items
        if i.kind == outbox.ALERT and i.payload["type"] == "discrepancy"
    )


def mocks() -> dict[str, respx.Route]:
    return {
        "ops": respx.route(method="POST", host="oapi.dingtalk.com", path="/robot/send").mock(
            return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})
        ),
        "dept": respx.post(DEPT_URL).mock(return_value=httpx.Response(200, text="ok")),
        "boss": respx.post(BOSS_URL).mock(
            return_value=httpx.Response(200, json={"code": 0, "msg": "success", "data": {}})
        ),
    }


@respx.mock
def test_three_passes_announce_each_alert_once(store: Store, now: datetime, world: Any) -> None:
    """Two critical conflicts seen by three passes: one announcement each to ops, delivered as one
    digest message; the later passes add nothing and nothing more is sent."""
    routes = mocks()
    world.populate(store, now)
    notify = notifier(store, world)
    engine = world.reconciler(store, notify.observer)
    for minutes in (0, 5, 10):
        engine.run(now + timedelta(minutes=minutes), full=True)
        notify.send(now + timedelta(minutes=minutes))
    conflicts = sorted(k for c, k, _ in announced(store) if c == "ops")
    assert conflicts == sorted([world.injection, "SO-000044"])
    assert routes["ops"].call_count == 1
    text = json.loads(routes["ops"].calls[0].request.content)["markdown"]["text"]
    assert "SO-000044" in text and world.injection in text
    assert routes["dept"].call_count == 0 and routes["boss"].call_count == 0


@respx.mock
def test_clock_past_a_tier_sends_the_escalation_to_that_tier_once(
    store: Store, now: datetime, world: Any
) -> None:
    """Advancing the clock past 1 day announces every open discrepancy to dept (once), past 3 days to
    boss (once); ops, already told of the critical ones, is not told again."""
    routes = mocks()
    world.populate(store, now)
    notify = notifier(store, world)
    engine = world.reconciler(store, notify.observer)
    engine.run(now)
    notify.send(now)
    with store.engine.connect() as conn:
        opened = {d.id for d in discrepancies.listing(conn)}
    assert routes["dept"].call_count == 0

    for step in (timedelta(days=1, minutes=1), timedelta(days=1, hours=2)):
        engine.run(now + step)  # the queue wakes the orders at the tier: no --full needed
        notify.send(now + step)
    assert {i for c, _, i in announced(store) if c == "dept"} == opened
    assert routes["dept"].call_count == 1 and routes["boss"].call_count == 0

    for step in (timedelta(days=3, minutes=1), timedelta(days=3, hours=5)):
        engine.run(now + step)
        notify.send(now + step)
    assert {i for c, _, i in announced(store) if c == "boss"} == opened
    assert routes["boss"].call_count == 1
    assert routes["ops"].call_count == 1
    body = json.loads(routes["boss"].calls[0].request.content)
    assert body["msg_type"] == "text" and "SO-000047" in body["content"]["text"]


@respx.mock
def test_acknowledged_and_snoozed_stay_quiet_until_they_change(
    store: Store, now: datetime, world: Any
) -> None:
    """An acknowledged discrepancy is not escalated by age; a snoozed one is not announced while
    snoozed; one that changes after acknowledgement is announced again."""
    mocks()
    world.populate(store, now)
    notify = notifier(store, world)
    engine = world.reconciler(store, notify.observer)
    engine.run(now)
    with store.engine.connect() as conn:
        by_key = {d.order_key: d for d in discrepancies.listing(conn)}
    with store.begin() as conn:
        acknowledge(conn, by_key["SO-000047"].id, "li.wei", None, now)
        snooze(conn, by_key["SO-000045"].id, now + timedelta(days=5), "li.wei", None, now)
    engine.run(now + timedelta(days=1, minutes=1))
    dept = {k for c, k, _ in announced(store) if c == "dept"}
    assert "SO-000047" not in dept and "SO-000045" not in dept and "SO-000044" in dept

    # The acknowledged mismatch changes: finance invoices a different amount.
    from decimal import Decimal

    from orderbridge.mapping.model import Amounts

    later = now + timedelta(days=1, hours=1)
    world.observe(
        store,
        "finance",
        "SO-000047",
        later,
        billing=("invoiced", "invoiced"),
        amounts=Amounts(invoiced=Decimal("1500.00"), currency="CNY"),
    )
    engine.run(later)
    assert ("SO-000047" in {k for c, k, _ in announced(store) if c == "dept"}) is False  # no age tier: ack'd
    critical_rule = notifier(store, world, ALERTS.replace("{severity: critical}", "{rule: amount_mismatch}"))
    engine2 = world.reconciler(store, critical_rule.observer)
    engine2.run(later + timedelta(minutes=1), full=True)
    first = [k for c, k, _ in announced(store) if c == "ops" and k == "SO-000047"]
    engine2.run(later + timedelta(minutes=2), full=True)
    assert [k for c, k, _ in announced(store) if c == "ops" and k == "SO-000047"] == first == ["SO-000047"]
    world.observe(
        store,
        "finance",
        "SO-000047",
        later + timedelta(minutes=3),
        billing=("invoiced", "invoiced"),
        amounts=Amounts(invoiced=Decimal("1600.00"), currency="CNY"),
    )
    engine2.run(later + timedelta(minutes=4))
    assert [k for c, k, _ in announced(store) if c == "ops" and k == "SO-000047"] == ["SO-000047"] * 2


@respx.mock
def test_rate_limit_holds_announcements_for_the_next_digest(store: Store, now: datetime, world: Any) -> None:
    """With one message per hour allowed, a second batch waits and goes out as one digest later."""
    routes = mocks()
    text = ALERTS.replace(
        'ops: {type: dingtalk, url: "', 'ops: {type: dingtalk, rate_limit: {messages: 1, per: 1h}, url: "'
    )
    world.observe(store, "erp", "SO-1", now - 5 * H, fulfillment=("cancelled", "已作废"))
    world.observe(store, "wms", "SO-1", now - 4 * H, fulfillment=("shipped", "SHIPPED"))
    notify = notifier(store, world, text)
    engine = world.reconciler(store, notify.observer)
    engine.run(now)
    notify.send(now)
    for key in ("SO-2", "SO-3"):
        world.observe(store, "erp", key, now, fulfillment=("cancelled", "已作废"))
        world.observe(store, "wms", key, now + timedelta(minutes=1), fulfillment=("shipped", "SHIPPED"))
    engine.run(now + timedelta(minutes=2))
    notify.send(now + timedelta(minutes=2))
    assert routes["ops"].call_count == 1
    notify.send(now + timedelta(minutes=61))
    assert routes["ops"].call_count == 2
    text2 = json.loads(routes["ops"].calls[1].request.content)["markdown"]["text"]
    assert "SO-2" in text2 and "SO-3" in text2 and "2 discrepancies" in text2


@respx.mock
def test_failing_channel_blocks_no_other_and_shows_on_health(store: Store, now: datetime, world: Any) -> None:
    """ops answers errors; dept still gets its message; ops keeps its digest, retried, and after
    three failed attempts counts as unhealthy (what /readyz and /metrics show)."""
    routes = mocks()
    routes["ops"].mock(return_value=httpx.Response(200, json={"errcode": 310000, "errmsg": "sign not match"}))
    world.populate(store, now)
    notify = notifier(store, world)
    engine = world.reconciler(store, notify.observer)
    engine.run(now)
    engine.run(now + timedelta(days=1, minutes=1))
    moment = now + timedelta(days=1, minutes=1)
    for _ in range(3):
        result = notify.send(moment)
        moment += timedelta(hours=1)
    assert routes["dept"].call_count == 1
    assert any("310000" in error for error in result.failed.values())
    health = notify.health()
    assert health["ops"]["healthy"] is False and "310000" in health["ops"]["last_error"]
    assert health["dept"]["healthy"] is True and health["dept"]["pending"] == 0
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    notify.register_metrics(registry)
    text = generate_latest(registry).decode()
    assert 'orderbridge_channel_healthy{channel="ops"} 0.0' in text
    assert 'orderbridge_outbox_pending{channel="ops"} 1.0' in text


@respx.mock
def test_source_failing_repeatedly_is_announced_once_and_its_recovery(
    store: Store, now: datetime, world: Any
) -> None:
    """A source turning unhealthy (its third failure in a row) is announced to the `source: unhealthy`
    channels once per episode, and its recovery once; the health is saved with them."""
    routes = mocks()
    notify = notifier(store, world)
    state = health.SystemHealth("wms")
    for minute in range(5):
        before = state
        state, change = health.failed(before, "HTTP 503", now + timedelta(minutes=minute), threshold=3)
        assert notify.source_polled(before, state, change, now + timedelta(minutes=minute))
    for at in (now + H, now + 2 * H):
        before = state
        state, change = health.succeeded(before, at)
        assert notify.source_polled(before, state, change, at)
    with store.engine.connect() as conn:
        saved = health.load(conn, "wms")
    assert saved.healthy and saved.failures == 0 and saved.last_success_at == now + 2 * H
    with store.engine.connect() as conn:
        kinds = [i.payload["type"] for i in outbox.listing(conn, "all") if i.kind == outbox.ALERT]
    assert sorted(kinds) == ["source_recovered", "source_unhealthy"]
    notify.send(now + 3 * H)
    text = json.loads(routes["ops"].calls[0].request.content)["markdown"]["text"]
    assert "wms keeps failing (3 polls in a row): HTTP 503" in text and "wms is answering again" in text


def test_digest_fits_the_service_limit(now: datetime) -> None:
    """Many announcements to WeCom (4096-byte markdown) become one message within the limit that
    says how many more there are."""
    from orderbridge.notify.channels.base import Digest
    from orderbridge.notify.channels.registry import build_channel
    from orderbridge.notify.channels.wecom import WeComSettings
    from orderbridge.notify.i18n import Language

    channel = build_channel(
        "wecom",
        WeComSettings(url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", max_items=200),
        None,
    )
    announcements = [
        {
            "type": "discrepancy",
            "id": i,
            "order_key": f"SO-{i:06d}",
            "rule": "stuck",
            "severity": "warning",
            "summary": "wms has said preparing (备货中) since 2026-11-20 08:00 UTC, past SLA tier 1",
            "opened_at": now.isoformat(),
            "escalation": 0,
        }
        for i in range(120)
    ]
    composed = channel.compose(Digest("d", announcements, now, Language.zh_cn))
    content = json.loads(composed.body)["markdown"]["content"]
    assert len(content.encode()) <= 4096
    assert "另有" in content and "SO-000000" in content
