"""The daemon's HTTP endpoint served by uvicorn on a real socket, read with a real client: the read
API on the demo's database, readiness, metrics; and a source that is down seen through all of them."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from rich.console import Console

from orderbridge.config.loader import load_config
from orderbridge.connectors.base import HealthSettings
from orderbridge.demo.simulators import DEMO_CREDENTIALS, SimulatedERP
from orderbridge.scheduler.daemon import Daemon
from orderbridge.scheduler.demo import run_demo
from orderbridge.scheduler.http import Metrics, create_app
from orderbridge.storage.db import Store

UNHEALTHY_AFTER = HealthSettings().unhealthy_after  # the default threshold


class Served:
    """A Starlette app on uvicorn in a thread, on a port of its own."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> httpx.Client:
        self.thread.start()
        self.client = httpx.Client(base_url=self.url, timeout=10)
        for _ in range(200):
            if self.server.started:
                return self.client
            threading.Event().wait(0.02)
        raise RuntimeError("uvicorn did not start")

    def __exit__(self, *_: object) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    directory = tmp_path_factory.mktemp("demo-http")
    with open(directory / "out.txt", "w", encoding="utf-8") as out:
        assert run_demo(directory, console=Console(file=out)) == 0
    loaded = load_config(directory / "orderbridge.yaml")
    store = Store(loaded.config.store.url, loaded.base_dir)
    yield store
    store.close()


def serve(store: Store, ready: Callable[[], dict[str, Any]] | None = None) -> Served:
    metrics = Metrics()
    metrics.watch_store(store, ["erp", "wms"])
    return Served(create_app(store, metrics, ready or (lambda: {"store": store.ping(), "scheduler": True})))


def test_read_api_lists_discrepancies_and_filters_them(demo_store: Store) -> None:
    """/api/discrepancies answers the CLI's JSON shape; `rule` filters; a bad `status` is a 400 that
    says what is allowed."""
    with serve(demo_store) as client:
        every = client.get("/api/discrepancies")
        conflicts = client.get("/api/discrepancies", params={"rule": "status_conflict"})
        resolved = client.get("/api/discrepancies", params={"status": "resolved"})
        bad = client.get("/api/discrepancies", params={"status": "closed"})
    assert every.status_code == 200
    assert {item["rule"] for item in every.json()} >= {"status_conflict", "status_lag", "stuck", "missing"}
    # Order 44, voided in the ERP: the warehouse shipped it, and the carrier's push says delivered.
    assert sorted(c["systems"] for c in conflicts.json()) == [["carrier", "erp"], ["erp", "wms"]]
    conflict = next(c for c in conflicts.json() if c["systems"] == ["erp", "wms"])
    assert conflict["order_key"] == "SO-000044"
    assert conflict["systems"] == ["erp", "wms"] and conflict["severity"] == "critical"
    assert conflict["resolved_at"] is None and conflict["details"]
    assert resolved.json() == []
    assert bad.status_code == 400 and "open, resolved or all" in bad.json()["error"]


def test_read_api_shows_an_order_timeline_and_404s_an_unknown_one(demo_store: Store) -> None:
    """/api/orders/KEY gives the timeline oldest first with native and canonical values, and the
    order's discrepancies; an unknown key is a 404 naming it."""
    with serve(demo_store) as client:
        order = client.get("/api/orders/SO-000044")
        unknown = client.get("/api/orders/SO-999999")
    assert order.status_code == 200
    body = order.json()
    times = [entry["at"] for entry in body["timeline"]]
    assert times == sorted(times)
    assert {(e["system"], e["native"], e["status"]) for e in body["timeline"]} >= {
        ("erp", "已作废", "cancelled"),
        ("wms", "SHIPPED", "shipped"),
    }
    assert [d["rule"] for d in body["discrepancies"]] == ["status_conflict", "status_conflict"]
    assert ("carrier", "shipment", "delivered") in {
        (e["system"], e["dimension"], e["status"]) for e in body["timeline"]
    }
    assert unknown.status_code == 404 and "SO-999999" in unknown.json()["error"]


def test_metrics_count_open_discrepancies_by_rule_and_severity(demo_store: Store) -> None:
    """/metrics is Prometheus text with the open discrepancies read from the store."""
    with serve(demo_store) as client:
        text = client.get("/metrics").text
    assert 'orderbridge_open_discrepancies{rule="status_conflict",severity="critical"} 2.0' in text
    assert 'orderbridge_open_discrepancies{rule="stuck",severity="critical"} 1.0' in text


def test_readyz_is_503_when_a_check_fails(demo_store: Store) -> None:
    """Readiness fails, with the failing check named, when the store does not answer."""
    with serve(demo_store, ready=lambda: {"store": False, "scheduler": True}) as client:
        answer = client.get("/readyz")
        alive = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["status"] == "not ready" and answer.json()["store"] is False
    assert alive.status_code == 200


def test_a_source_that_is_down_backs_off_turns_unhealthy_and_never_stops_the_daemon(tmp_path: Path) -> None:
    """Polling a system whose server refuses connections records the failure, backs off (each retry
    later than the last), marks the system unhealthy after repeated failures, counts the errors in
    /metrics and reports them on /readyz; the process keeps going."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    config = tmp_path / "orderbridge.yaml"
    config.write_text(
        f"""
store: {{url: "sqlite:///ob.db"}}
systems:
  wms:
    type: rest
    base_url: http://127.0.0.1:{port}
    auth: {{bearer: "${{TEST_DOWN_TOKEN:-tok-down-987}}"}}
    poll: {{every: 1m}}
    list: {{path: /orders, records: data}}
    retry: {{attempts: 1}}
    order_id: {{field: ref}}
    status: {{dimension: fulfillment, map: {{NEW: placed}}}}
""",
        encoding="utf-8",
    )
    daemon = Daemon(load_config(config))
    waits = []
    try:
        for _ in range(UNHEALTHY_AFTER):
            started = datetime.now(UTC)
            daemon.health["wms"].retry_at = None  # the scheduler would wait for it; the test does not
            daemon.poll("wms")
            retry_at = daemon.health["wms"].retry_at
            assert retry_at is not None
            waits.append((retry_at - started).total_seconds())
        health = daemon.health["wms"]
        with Served(create_app(daemon.store, daemon.metrics, daemon.ready)) as client:
            ready = client.get("/readyz").json()
            metrics = client.get("/metrics").text
    finally:
        daemon.shutdown()
    assert waits == sorted(waits) and waits[0] < waits[1] < waits[2]
    assert health.failures == UNHEALTHY_AFTER and not health.healthy
    assert ready["systems"]["wms"]["healthy"] is False
    assert "wms" in ready["systems"]["wms"]["last_error"]
    assert "tok-down-987" not in ready["systems"]["wms"]["last_error"]
    assert f'orderbridge_poll_errors_total{{system="wms"}} {float(UNHEALTHY_AFTER)}' in metrics


def test_a_source_asking_to_wait_an_hour_is_left_alone_for_an_hour(tmp_path: Path) -> None:
    """A 429 with `Retry-After: 3600` from the (simulated) ERP: one request, no hammering, and the
    daemon's next poll of it is at least an hour away, longer than its own backoff would be."""
    with SimulatedERP() as erp:
        erp.fail_next(1, status=429, retry_after=3600)
        config = tmp_path / "orderbridge.yaml"
        config.write_text(
            f"""
store: {{url: "sqlite:///ob.db"}}
systems:
  erp:
    type: rest
    base_url: {erp.url}
    auth: {{bearer: "{DEMO_CREDENTIALS.erp_token}"}}
    poll: {{every: 1m}}
    list: {{path: /api/v1/sale-orders, records: data.items}}
    order_id: {{field: bill_no}}
    status: {{dimension: fulfillment, map: {{备货中: preparing}}}}
""",
            encoding="utf-8",
        )
        daemon = Daemon(load_config(config))
        try:
            started = datetime.now(UTC)
            daemon.poll("erp")
        finally:
            daemon.shutdown()
        requests = len(erp.requests)
    health = daemon.health["erp"]
    assert requests == 1
    assert health.retry_at is not None and health.retry_at - started >= timedelta(seconds=3600)
    assert health.last_error is not None and "asks to wait 3600 s" in health.last_error
