"""Connector health end to end, on SQLite and PostgreSQL: the daemon polls a simulated ERP over a real
socket that answers 503 a few times, then recovers. The failure that reaches the threshold (its own
`poll.unhealthy_after`, else `health.unhealthy_after`) is announced once to the `source: unhealthy`
channel, the recovery once, delivered to a real webhook receiver; /readyz, /metrics and `orderbridge
status --format json` show the figures, read from the store, also after a restart."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from typer.testing import CliRunner

from orderbridge.config.errors import ConfigError
from orderbridge.config.loader import load_config
from orderbridge.demo.simulators import DEMO_CREDENTIALS, SimulatedERP
from orderbridge.scheduler.cli import app as cli
from orderbridge.scheduler.daemon import Daemon
from orderbridge.scheduler.http import create_app
from orderbridge.storage import health, outbox

Serve = Callable[[Any], AbstractContextManager[str]]
ORDER = {
    "id": 5042,
    "bill_no": "SO-2026-0042",
    "status": "备货中",
    "modified": "2026-11-22 08:00:00",  # Shanghai wall-clock time, as the ERP sends it
    "amount": "1200.00",
    "currency": "CNY",
    "qty": 10,
}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def erp() -> Iterator[SimulatedERP]:
    with SimulatedERP([ORDER]) as simulated:
        yield simulated


@pytest.fixture
def hook(serve: Serve) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A webhook receiver on a real socket: the alert channel posts its digests there."""
    received: list[dict[str, Any]] = []

    async def receive(request: Request) -> Response:
        received.append(json.loads(await request.body()))
        return JSONResponse({"ok": True})

    with serve(Starlette(routes=[Route("/hook", receive, methods=["POST"])])) as base:
        yield f"{base}/hook", received


def write_config(directory: Path, erp_url: str, hook_url: str, store_url: str) -> Path:
    path = directory / "orderbridge.yaml"
    path.write_text(
        f"""
store: {{url: "{store_url}"}}
health: {{unhealthy_after: 2}}
systems:
  erp:
    type: rest
    base_url: {erp_url}
    auth: {{bearer: "{DEMO_CREDENTIALS.erp_token}"}}
    poll: {{every: 1m, unhealthy_after: 3}}
    retry: {{attempts: 1}}
    list:
      path: /api/v1/sale-orders
      params: {{modified_since: "{{cursor}}"}}
      records: data.items
      paging: {{style: page, param: page, size_param: page_size, size: 50}}
    cursor: {{field: modified, overlap: 5m, sorted: true}}
    errors: {{field: code, ok: [0], message: message}}
    timezone: Asia/Shanghai
    order_id: {{field: bill_no}}
    status: {{dimension: fulfillment, field: status, map: {{备货中: preparing}}}}
    fields: {{record_id: id}}
  wms:
    type: rest
    base_url: http://127.0.0.1:{closed_port()}
    poll: {{every: 1m}}
    retry: {{attempts: 1}}
    list: {{path: /orders, records: data}}
    order_id: {{field: ref}}
    status: {{dimension: fulfillment, map: {{NEW: placed}}}}
alerts:
  channels:
    ops: {{type: webhook, url: "{hook_url}"}}
  rules:
    - {{when: {{source: unhealthy}}, send: [ops]}}
""",
        encoding="utf-8",
    )
    return path


def poll(daemon: Daemon, name: str, times: int = 1) -> None:
    for _ in range(times):
        daemon.health[name].retry_at = None  # the scheduler would wait for the backoff; the test does not
        daemon.poll(name)


def announced(daemon: Daemon) -> list[tuple[str, str, int]]:
    with daemon.store.engine.connect() as conn:
        items = [i.payload for i in outbox.listing(conn, "all") if i.kind == outbox.ALERT]
    return sorted((a["type"], a["system"], a["failures"]) for a in items)


def status(config: Path, *args: str) -> str:
    """`orderbridge status -c CONFIG ARGS` in this process; its logging, set up on the runner's
    streams, is undone afterwards so the daemon's next lines do not go to a closed stream."""
    result = CliRunner().invoke(
        cli, ["status", "-c", str(config), *args], env={"ORDERBRIDGE_CONFIG": None, "COLUMNS": "160"}
    )
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_orderbridge", False)]:
        root.removeHandler(handler)
    assert result.exit_code == 0, result.output
    return result.stdout


def status_json(config: Path) -> dict[str, dict[str, Any]]:
    return {item["system"]: item for item in json.loads(status(config, "--format", "json"))}


def test_threshold_crossing_is_announced_once_and_recovery_once(
    tmp_path: Path,
    store_url: str,
    erp: SimulatedERP,
    hook: tuple[str, list[dict[str, Any]]],
    serve: Serve,
) -> None:
    hook_url, received = hook
    config = write_config(tmp_path, erp.url, hook_url, store_url)
    daemon = Daemon(load_config(config))
    try:
        daemon.scheduler.start(paused=True)  # readiness counts a running scheduler
        erp.fail_next(4, status=503)
        poll(daemon, "erp", 2)
        assert announced(daemon) == []  # two failures: failing, below erp's own threshold of 3
        assert daemon.health["erp"].healthy and not daemon.health["erp"].up
        poll(daemon, "erp")
        assert announced(daemon) == [("source_unhealthy", "erp", 3)]
        poll(daemon, "erp")  # a fourth failure: the same episode, nothing new
        poll(daemon, "wms", 2)  # the global threshold, 2
        assert announced(daemon) == [("source_unhealthy", "erp", 3), ("source_unhealthy", "wms", 2)]
        with serve(create_app(daemon.store, daemon.metrics, daemon.ready)) as base:
            ready = httpx.get(f"{base}/readyz", timeout=10)
            metrics = httpx.get(f"{base}/metrics", timeout=10).text
        down = status_json(config)

        poll(daemon, "erp")  # the ERP answers again
        poll(daemon, "erp")  # and again: no second recovery
        assert announced(daemon) == [
            ("source_recovered", "erp", 4),
            ("source_unhealthy", "erp", 3),
            ("source_unhealthy", "wms", 2),
        ]
        daemon.notifier.send()
        with serve(create_app(daemon.store, daemon.metrics, daemon.ready)) as base:
            ready_after = httpx.get(f"{base}/readyz", timeout=10).json()
            metrics_after = httpx.get(f"{base}/metrics", timeout=10).text
    finally:
        daemon.shutdown()
    up = status_json(config)

    # /readyz: 200 (the process serves), each system's figures in its body.
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    erp_ready = ready.json()["systems"]["erp"]
    assert erp_ready["healthy"] is False and erp_ready["up"] is False and erp_ready["failures"] == 4
    assert "503" in erp_ready["last_error"] and erp_ready["unhealthy_since"] is not None
    assert erp_ready["last_success"] is None and erp_ready["lag_seconds"] is None  # never read yet
    assert ready.json()["systems"]["wms"]["failures"] == 2
    assert 'orderbridge_source_healthy{system="erp"} 0.0' in metrics
    assert 'orderbridge_source_up{system="erp"} 0.0' in metrics
    assert 'orderbridge_poll_consecutive_failures{system="erp"} 4.0' in metrics
    assert 'orderbridge_poll_consecutive_failures{system="wms"} 2.0' in metrics
    assert 'orderbridge_last_poll_error_timestamp_seconds{system="erp"}' in metrics
    assert 'orderbridge_connector_lag_seconds{system="erp"}' not in metrics
    assert down["erp"]["healthy"] is False and down["erp"]["failures"] == 4
    assert down["erp"]["unhealthy_after"] == 3 and down["wms"]["unhealthy_after"] == 2
    assert "503" in down["erp"]["last_error"]

    # After the recovery: healthy, lag from the cursor (the order's own time, 08:00 Shanghai).
    erp_after = ready_after["systems"]["erp"]
    assert erp_after["healthy"] is True and erp_after["up"] is True and erp_after["failures"] == 0
    assert erp_after["lag_basis"] == "cursor"
    assert datetime.fromisoformat(erp_after["cursor_at"]) == datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
    lag = datetime.now(UTC) - datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
    assert abs(erp_after["lag_seconds"] - lag.total_seconds()) < 60
    assert 'orderbridge_source_healthy{system="erp"} 1.0' in metrics_after
    assert 'orderbridge_poll_consecutive_failures{system="erp"} 0.0' in metrics_after
    lag_line = next(
        line
        for line in metrics_after.splitlines()
        if line.startswith('orderbridge_connector_lag_seconds{system="erp"}')
    )
    assert abs(float(lag_line.split()[-1]) - lag.total_seconds()) < 60
    assert 'orderbridge_last_successful_poll_timestamp_seconds{system="erp"}' in metrics_after
    assert up["erp"]["healthy"] is True and up["erp"]["last_success"] is not None
    assert "503" in up["erp"]["last_error"]  # the last error stays visible after the recovery

    # The alerting layer delivered each announcement once.
    kinds = sorted((a["type"], a["system"]) for body in received for a in body["alerts"])
    assert kinds == [("source_recovered", "erp"), ("source_unhealthy", "erp"), ("source_unhealthy", "wms")]


def test_a_restart_neither_forgets_a_failing_source_nor_announces_it_again(
    tmp_path: Path, store_url: str, erp: SimulatedERP, hook: tuple[str, list[dict[str, Any]]]
) -> None:
    config = write_config(tmp_path, erp.url, hook[0], store_url)
    erp.fail_next(4, status=503)
    first = Daemon(load_config(config))
    try:
        poll(first, "erp", 3)
    finally:
        first.shutdown()
    second = Daemon(load_config(config))
    try:
        assert second.health["erp"].failures == 3 and not second.health["erp"].healthy
        poll(second, "erp")  # still failing: the episode goes on
        assert announced(second) == [("source_unhealthy", "erp", 3)]
        poll(second, "erp")
        assert announced(second) == [("source_recovered", "erp", 4), ("source_unhealthy", "erp", 3)]
    finally:
        second.shutdown()


def test_the_status_table_says_which_system_is_unhealthy(
    tmp_path: Path, erp: SimulatedERP, hook: tuple[str, list[dict[str, Any]]]
) -> None:
    config = write_config(tmp_path, erp.url, hook[0], "sqlite:///ob.db")
    daemon = Daemon(load_config(config))
    try:
        poll(daemon, "erp")
        poll(daemon, "wms", 2)
    finally:
        daemon.shutdown()
    lines = status(config).splitlines()
    assert "2 polled systems, 1 unhealthy" in lines[0]
    assert next(line for line in lines if line.startswith("erp")).split()[1] == "healthy"
    wms = next(i for i, line in enumerate(lines) if line.startswith("wms"))
    assert lines[wms].split()[1:3] == ["unhealthy", "2"]
    assert "last error:" in lines[wms + 1] and "wms" in lines[wms + 1]


@pytest.mark.parametrize(
    "where", ["health: {unhealthy_after: 0}", "systems: {erp: {type: rest, poll: {unhealthy_after: -1}}}"]
)
def test_a_threshold_below_one_is_refused_with_its_place(tmp_path: Path, where: str) -> None:
    path = tmp_path / "orderbridge.yaml"
    path.write_text(where + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert "unhealthy_after" in str(refused.value)


def test_retry_waits_are_kept_with_the_health(
    tmp_path: Path, erp: SimulatedERP, hook: tuple[str, list[dict[str, Any]]]
) -> None:
    """The backoff's next attempt is saved too: a restarted daemon does not hammer a failing source."""
    config = write_config(tmp_path, erp.url, hook[0], "sqlite:///ob.db")
    erp.fail_next(1, status=503)
    first = Daemon(load_config(config))
    try:
        first.poll("erp")
        retry_at = first.health["erp"].retry_at
    finally:
        first.shutdown()
    second = Daemon(load_config(config))
    try:
        assert retry_at is not None and second.health["erp"].retry_at == retry_at
        second.poll("erp")  # before retry_at: not polled
        assert len(erp.requests) == 1
        assert retry_at - datetime.now(UTC) > timedelta(seconds=30)
    finally:
        second.shutdown()


def test_a_change_the_store_refused_is_announced_with_the_next_poll(
    tmp_path: Path, erp: SimulatedERP, hook: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store refusing the write of the failure that reached the threshold (it may be what is
    down) crashes nothing; the next failed poll it takes starts the episode and announces it, once."""
    config = write_config(tmp_path, erp.url, hook[0], "sqlite:///ob.db")
    erp.fail_next(4, status=503)
    daemon = Daemon(load_config(config))
    real_save, refused = health.save, []

    def save(conn: Any, state: health.SystemHealth, now: datetime) -> None:
        if state.failures == 3 and not refused:
            refused.append(state.failures)
            raise OperationalError("UPDATE connector_health", {}, Exception("database is locked"))
        real_save(conn, state, now)

    monkeypatch.setattr(health, "save", save)
    try:
        poll(daemon, "erp", 3)
        assert refused == [3] and announced(daemon) == []
        assert daemon.health["erp"].healthy  # not marked: the announcement has not been made
        poll(daemon, "erp")
        assert announced(daemon) == [("source_unhealthy", "erp", 4)]
        with daemon.store.engine.connect() as conn:
            assert not health.load(conn, "erp").healthy
    finally:
        daemon.shutdown()
