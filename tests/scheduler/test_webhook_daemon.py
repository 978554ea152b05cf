"""The webhook endpoint of a real daemon process: killed with SIGKILL in the middle of a burst of
10,000 events and started again, every event it acknowledged is processed exactly once; a delivered
event for an order the ERP cancelled opens a status_conflict within 2 seconds of the request."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import push_samples as samples
import pytest
from sqlalchemy import func, select

from orderbridge.demo.simulators import SimulatedERP, erp_time
from orderbridge.storage import inbox
from orderbridge.storage.db import Store
from orderbridge.storage.tables import inbox as inbox_table
from orderbridge.storage.tables import observations, status_history

pytestmark = pytest.mark.slow
EVENTS = 10_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(config: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEMO_")}
    with (config.parent / "daemon.out").open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "orderbridge", "run", "-c", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )


def stop_process(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def carrier_config(directory: Path, store_url: str, port: int, erp_url: str | None = None) -> Path:
    erp = (
        f"""
  erp:
    type: rest
    base_url: {erp_url}
    auth: {{bearer: "${{DEMO_ERP_TOKEN:-demo-erp-token}}"}}
    poll: {{every: 1h}}
    list: {{path: /api/v1/sale-orders, params: {{modified_since: "{{cursor}}"}}, records: data.items,
            paging: {{style: page, param: page, size_param: page_size, size: 50}}}}
    cursor: {{field: modified, overlap: 5m, sorted: true, initial: "2026-01-01T00:00:00+00:00"}}
    errors: {{field: code, ok: [0], message: message}}
    timezone: Asia/Shanghai
    order_id: {{field: bill_no, pattern: 'SO-\\d{{4}}-(\\d+)', format: 'SO-{{0:0>6}}'}}
    fields: {{record_id: id, updated: modified}}
    status: {{dimension: fulfillment, field: status, map: {{备货中: preparing, 已作废: cancelled}}}}
"""
        if erp_url
        else ""
    )
    config = directory / "orderbridge.yaml"
    config.write_text(
        f"""
store: {{url: "{store_url}"}}
server: {{listen: "127.0.0.1:{port}"}}
log: {{file: orderbridge.log}}
systems:
  carrier:
    type: aftership
    webhook: {{secret: "{samples.SECRET}"}}
    order_id: {{pattern: 'SO-\\d{{4}}-(\\d+)', format: 'SO-{{0:0>6}}'}}
{erp}
reconcile: {{every: 1h}}
""",
        encoding="utf-8",
    )
    return config


def event(number: int, tag: str = "InTransit", order: str | None = None) -> samples.Sample:
    sample = samples.aftership(
        tag=tag, subtag=f"{tag}_001", event_id=f"evt-{number:05d}", number=f"TRK{number:08d}"
    )
    if order is None:
        order = f"SO-2026-{number:05d}"
    body = sample.body.replace(b'"order_number":null', f'"order_number":"{order}"'.encode())
    sample.body = body
    sample.headers["aftership-hmac-sha256"] = samples.b64_hmac(samples.SECRET, body)
    return sample


def send(client: httpx.Client, url: str, sample: samples.Sample) -> bool:
    try:
        return client.post(url, content=sample.body, headers=sample.headers).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.timeout(600)
def test_sigkill_during_a_burst_then_restart_processes_every_acknowledged_event_exactly_once(
    tmp_path: Path, store_url: str
) -> None:
    """10,000 signed events sent by 16 concurrent clients; the daemon is killed (SIGKILL) once some
    thousands are acknowledged. After a restart, and the provider's retries of what was not
    acknowledged, every event is stored once, processed once: one observation and one history entry
    per dimension each, nothing pending or failed."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhooks/carrier"
    config = carrier_config(tmp_path, store_url, port)
    events = [event(n) for n in range(EVENTS)]
    acked = [False] * EVENTS
    daemon = start(config)
    wait_for(lambda: answers(port), "the daemon to listen")
    killed = threading.Event()

    def worker(start_at: int) -> None:
        with httpx.Client(timeout=30) as client:
            for n in range(start_at, EVENTS, 16):
                if killed.is_set():
                    return
                acked[n] = send(client, url, events[n])

    try:
        with ThreadPoolExecutor(16) as pool:
            for i in range(16):
                pool.submit(worker, i)
            wait_for(lambda: sum(acked) >= 3000, "3,000 acknowledgements", timeout=120)
            daemon.send_signal(signal.SIGKILL)
            daemon.wait(timeout=30)
            killed.set()
    finally:
        if daemon.poll() is None:
            daemon.kill()
    acknowledged = [n for n in range(EVENTS) if acked[n]]
    assert 3000 <= len(acknowledged) < EVENTS, "the kill must land in the middle of the burst"

    store = Store(store_url)
    daemon = start(config)
    try:
        wait_for(lambda: answers(port), "the daemon to listen again")
        with ThreadPoolExecutor(16) as pool, httpx.Client(timeout=30) as client:  # the provider retries
            retried = list(
                pool.map(lambda n: send(client, url, events[n]), [n for n in range(EVENTS) if not acked[n]])
            )
        assert all(retried)
        wait_for(
            lambda: counts(store).get(inbox.PENDING, 0) == 0 and total(store, inbox_table) == EVENTS,
            "the inbox to be processed",
            timeout=180,
        )
    finally:
        assert stop_process(daemon) == 0
    with store.engine.connect() as conn:
        keys = list(conn.execute(select(inbox_table.c.dedupe_key)).scalars())
        per_record = conn.execute(
            select(status_history.c.record_id, status_history.c.dimension, func.count()).group_by(
                status_history.c.record_id, status_history.c.dimension
            )
        ).all()
    store.close()
    assert len(keys) == len(set(keys)) == EVENTS
    assert {f"event:evt-{n:05d}" for n in acknowledged} <= set(keys)
    assert counts_of(store_url) == {inbox.PROCESSED: EVENTS}
    assert total_of(store_url, observations) == EVENTS
    assert len(per_record) == 2 * EVENTS and {c for _, _, c in per_record} == {
        1
    }  # shipment + implied fulfilment


def test_a_delivered_push_for_an_order_the_erp_cancelled_opens_a_conflict_within_two_seconds(
    tmp_path: Path, store_url: str
) -> None:
    """The ERP voided order SO-2026-0044 (polled at start); the carrier then pushes "delivered" for it.
    The daemon acknowledges, processes and reconciles at once: status_conflict is open within 2 s."""
    port = free_port()
    record = {
        "id": 5044,
        "bill_no": "SO-2026-0044",
        "status": "已作废",
        "modified": erp_time(__import__("datetime").datetime.now(__import__("datetime").UTC)),
        "amount": "1500.00",
        "currency": "CNY",
        "qty": 6,
        "customer_po": "PO-7744",
    }
    with SimulatedERP([record]) as erp:
        config = carrier_config(tmp_path, store_url, port, erp.url)
        daemon = start(config)
        try:
            wait_for(lambda: ready(port), "the ERP to be polled")
            delivered = event(44, tag="Delivered", order="SO-2026-0044")
            with httpx.Client(timeout=10) as client:
                started = time.monotonic()
                assert send(client, f"http://127.0.0.1:{port}/webhooks/carrier", delivered)
                opened = None
                while time.monotonic() - started < 10:
                    found = client.get(
                        f"http://127.0.0.1:{port}/api/discrepancies", params={"rule": "status_conflict"}
                    ).json()
                    if found:
                        opened = time.monotonic() - started
                        break
                    time.sleep(0.02)
        finally:
            assert stop_process(daemon) == 0
    assert opened is not None, "no status_conflict opened"
    assert opened < 2.0, f"status_conflict opened {opened:.2f} s after the request"
    assert found[0]["order_key"] == "SO-000044" and set(found[0]["systems"]) == {"carrier", "erp"}


def answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def ready(port: int) -> bool:
    try:
        systems = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).json().get("systems", {})
    except (httpx.TransportError, ValueError):
        return False
    return bool(systems) and all(s["last_success"] for s in systems.values())


def counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return inbox.counts(conn)


def total(store: Store, table: object) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def counts_of(url: str) -> dict[str, int]:
    store = Store(url)
    try:
        return counts(store)
    finally:
        store.close()


def total_of(url: str, table: object) -> int:
    store = Store(url)
    try:
        return total(store, table)
    finally:
        store.close()
