"""The daemon's side of notifications: a source failing repeatedly is announced, channels appear on
/readyz and /metrics, and reports are scheduled by cron in their own time zone."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import respx
from prometheus_client import generate_latest

from orderbridge.config.loader import load_config
from orderbridge.connectors.base import HealthSettings
from orderbridge.scheduler.daemon import Daemon
from orderbridge.storage import outbox

UNHEALTHY_AFTER = HealthSettings().unhealthy_after  # the default threshold


def config(tmp_path: Path) -> Path:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there
    path = tmp_path / "orderbridge.yaml"
    path.write_text(
        f"""
store: {{url: "sqlite:///ob.db"}}
systems:
  wms:
    type: rest
    base_url: http://127.0.0.1:{port}
    poll: {{every: 1m}}
    list: {{path: /orders, records: data}}
    retry: {{attempts: 1}}
    order_id: {{field: ref}}
    status: {{dimension: fulfillment, map: {{NEW: placed}}}}
smtp: {{host: 127.0.0.1, port: 1, security: none, from: "orderbridge <bot@example.com>"}}
reports:
  finance: {{to: [finance@example.com], cron: "0 8 * * 1-5", timezone: Asia/Shanghai}}
alerts:
  channels:
    ops: {{type: webhook, url: "https://hooks.example.com/ob", secret: "${{TEST_HOOK_SECRET:-hk-5512}}"}}
  rules:
    - {{when: {{source: unhealthy}}, send: [ops]}}
""",
        encoding="utf-8",
    )
    return path


def test_failing_source_is_announced_and_channels_show_on_readyz(tmp_path: Path) -> None:
    """After UNHEALTHY_AFTER failed polls the source is announced once to the `source: unhealthy`
    channels; the sender delivers it; /readyz lists each channel and report with its health and
    /metrics their pending messages, without any secret."""
    daemon = Daemon(load_config(config(tmp_path)))
    try:
        for _ in range(UNHEALTHY_AFTER + 2):
            daemon.health["wms"].retry_at = None
            daemon.poll("wms")
        with daemon.store.engine.connect() as conn:
            announced = [i.payload for i in outbox.listing(conn) if i.kind == outbox.ALERT]
        assert [(a["type"], a["system"], a["failures"]) for a in announced] == [
            ("source_unhealthy", "wms", UNHEALTHY_AFTER)
        ]
        with respx.mock:
            route = respx.post("https://hooks.example.com/ob").mock(return_value=httpx.Response(200))
            daemon.notifier.send()
        body = json.loads(route.calls[0].request.content)
        assert body["alerts"][0]["type"] == "source_unhealthy"
        ready = daemon.ready()  # what /readyz answers (tests/scheduler/test_http.py serves it)
        metrics = generate_latest(daemon.metrics.registry).decode()
    finally:
        daemon.shutdown()
    assert ready["channels"]["ops"] == {"healthy": True, "pending": 0, "attempts": 0, "last_error": None}
    assert ready["channels"]["report:finance"]["healthy"] is True
    assert 'orderbridge_outbox_pending{channel="ops"} 0.0' in metrics
    assert 'orderbridge_notifications_sent_total{channel="ops"} 1.0' in metrics
    assert "hk-5512" not in json.dumps(ready) and "hk-5512" not in metrics


def test_reports_are_scheduled_by_cron_in_their_time_zone(tmp_path: Path) -> None:
    """`cron: "0 8 * * 1-5"` with Asia/Shanghai fires at 08:00 Shanghai time on the next weekday;
    the sender runs on an interval."""
    daemon = Daemon(load_config(config(tmp_path)))
    try:
        daemon.schedule()
        job = daemon.scheduler.get_job("report:finance")
        assert job is not None and daemon.scheduler.get_job("outbox") is not None
        saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
        fire = job.trigger.get_next_fire_time(None, saturday)
        assert fire.astimezone(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None) == datetime(2026, 11, 30, 8, 0)
    finally:
        daemon.shutdown()


def test_cron_weekdays_are_read_as_cron_reads_them() -> None:
    """0 and 7 are Sunday, 1-5 Monday to Friday, as in crontab (APScheduler alone counts from Monday)."""
    from orderbridge.notify.settings import cron_trigger

    sunday_noon = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    expected = {
        "0 8 * * 0": datetime(2026, 12, 6, 8, 0, tzinfo=UTC),
        "0 8 * * 7": datetime(2026, 12, 6, 8, 0, tzinfo=UTC),
        "0 8 * * 1-5": datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
        "0 8 * * 6": datetime(2026, 12, 5, 8, 0, tzinfo=UTC),
        "0 8 * * 5-7": datetime(2026, 12, 4, 8, 0, tzinfo=UTC),
    }
    for expression, fire in expected.items():
        assert cron_trigger(expression, ZoneInfo("UTC")).get_next_fire_time(None, sunday_noon) == fire, (
            expression
        )
