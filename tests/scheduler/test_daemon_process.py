"""The daemon as a real process: killed with SIGKILL in the middle of a sync it loses and duplicates
nothing when started again; SIGTERM finishes the current page, commits and exits cleanly; its HTTP
endpoints answer over a real socket."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from web_client import log_in

from orderbridge.demo.simulators import SimulatedERP, erp_time
from orderbridge.storage import cursors
from orderbridge.storage.db import Store
from orderbridge.storage.tables import observations, status_history

pytestmark = pytest.mark.slow
RECORDS = 400
PAGE = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def erp_records(count: int) -> list[dict[str, object]]:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    return [
        {
            "id": 10000 + i,
            "bill_no": f"SO-2026-{i:04d}",
            "status": "备货中",
            "modified": erp_time(start + timedelta(minutes=i)),
            "amount": "100.00",
            "currency": "CNY",
            "qty": 1,
            "customer_po": f"PO-{i}",
        }
        for i in range(1, count + 1)
    ]


@pytest.fixture
def erp() -> Iterator[SimulatedERP]:
    with SimulatedERP(erp_records(RECORDS)) as server:
        server.latency = 0.08
        yield server


def write_config(directory: Path, store_url: str, erp_url: str, port: int) -> Path:
    config = directory / "orderbridge.yaml"
    config.write_text(
        f"""
store: {{url: "{store_url}"}}
server: {{listen: "127.0.0.1:{port}"}}
log: {{file: orderbridge.log}}
systems:
  erp:
    type: rest
    base_url: {erp_url}
    auth: {{bearer: "${{DEMO_ERP_TOKEN:-demo-erp-token}}"}}
    poll: {{every: 1h}}
    list:
      path: /api/v1/sale-orders
      params: {{modified_since: "{{cursor}}"}}
      records: data.items
      paging: {{style: page, param: page, size_param: page_size, size: {PAGE}}}
    cursor: {{field: modified, overlap: 5m, sorted: true, initial: "2026-01-01T00:00:00+00:00"}}
    errors: {{field: code, ok: [0], message: message}}
    timezone: Asia/Shanghai
    order_id: {{field: bill_no, pattern: 'SO-\\d{{4}}-(\\d+)', format: 'SO-{{0:0>6}}'}}
    fields: {{record_id: id, updated: modified, ordered_qty: qty, order_amount: amount, currency: currency}}
    status: {{dimension: fulfillment, field: status, map: {{备货中: preparing}}}}
reconcile: {{every: 1h}}
""",
        encoding="utf-8",
    )
    return config


def start(config: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEMO_")}
    with (config.parent / "daemon.out").open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "orderbridge", "run", "-c", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def count(store: Store, table=observations) -> int:  # type: ignore[no-untyped-def]
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def stop_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    process.send_signal(sig)
    try:
        return process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()


def test_sigkill_mid_sync_then_restart_loses_and_duplicates_nothing(
    tmp_path: Path, store_url: str, erp: SimulatedERP
) -> None:
    """A daemon killed at an arbitrary instant of a sync resumes from its last committed page on
    restart: every record ends up stored exactly once, with exactly one history entry."""
    port = free_port()
    config = write_config(tmp_path, store_url, erp.url, port)
    store = Store(store_url)
    daemon = start(config)
    try:
        wait_for(lambda: count(store) >= 3 * PAGE, "the first pages to be committed")
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(timeout=30)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    killed_at = count(store)
    assert PAGE <= killed_at < RECORDS, "the kill must land in the middle of the sync"

    daemon = start(config)
    try:
        wait_for(lambda: count(store) == RECORDS, "the sync to complete after restart")
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert health.json() == {"status": "alive"}
        wait_for(
            lambda: httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200, "readiness"
        )
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json()
        assert ready["store"] is True and ready["systems"]["erp"]["healthy"] is True
        wait_for(
            lambda: (
                'orderbridge_records_polled_total{system="erp"}'
                in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            ),
            "poll metrics",
        )
    finally:
        assert stop_process(daemon) == 0
    with store.engine.connect() as conn:
        ids = list(conn.execute(select(observations.c.record_id)).scalars())
        history = int(conn.execute(select(func.count()).select_from(status_history)).scalar_one())
        cursor = cursors.load(conn, "erp")
    store.close()
    assert sorted(ids) == sorted(str(10000 + i) for i in range(1, RECORDS + 1))
    assert history == RECORDS
    assert cursor is not None
    last = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=RECORDS)
    assert datetime.fromisoformat(cursor["value"]) == last


def test_sigterm_finishes_the_current_page_commits_and_exits(
    tmp_path: Path, store_url: str, erp: SimulatedERP
) -> None:
    """SIGTERM during a sync: the process exits 0 promptly, having committed whole pages only, and
    the saved cursor covers exactly what was stored. Page 2 asks from the newest value page 1 read in
    full (its second newest) and brings PAGE - 2 new records; having seen that `modified_since` is
    inclusive, each later page asks from the newest value read and brings PAGE - 1. The cursor is the
    newest value stored."""
    config = write_config(tmp_path, store_url, erp.url, free_port())
    store = Store(store_url)
    daemon = start(config)
    try:
        wait_for(lambda: count(store) >= 2 * PAGE, "a few pages")
        assert stop_process(daemon) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
    stored = count(store)
    assert (stored - (2 * PAGE - 2)) % (PAGE - 1) == 0 and stored < RECORDS
    with store.engine.connect() as conn:
        cursor = cursors.load(conn, "erp")
    store.close()
    assert cursor is not None
    expected_last = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=stored)
    assert datetime.fromisoformat(cursor["value"]) == expected_last
    log = (tmp_path / "orderbridge.log").read_text(encoding="utf-8")
    assert "orderbridge stopped" in log
    assert "demo-erp-token" not in log


def test_sigterm_stops_after_the_page_in_hand(tmp_path: Path, store_url: str) -> None:
    """SIGTERM during a sync of many quick pages: at most the page in hand is read after the signal,
    and every page read is stored, but one whose request the stop cut short (the poll stops at the
    signal, not once the HTTP server has shut down, by which time several more pages had been read)."""
    with SimulatedERP(erp_records(100 * PAGE)) as erp:
        erp.latency = 0.005
        config = write_config(tmp_path, store_url, erp.url, free_port())
        store = Store(store_url)
        daemon = start(config)
        try:
            wait_for(lambda: count(store) >= 10 * PAGE, "a few pages")
            asked = len(erp.requests)
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=60) == 0
        finally:
            if daemon.poll() is None:
                daemon.kill()
        answered = len(erp.requests)
    stored = count(store)
    store.close()
    # one page may finish between counting and the signal, one more is the page in hand
    assert answered - asked <= 2, f"{answered - asked} pages were read after SIGTERM"
    # what was committed stays, and the rest is left for the next poll (pages overlap at the cursor,
    # so the count of records is not a multiple of the page size)
    assert 0 < stored < 100 * PAGE


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_demo_serve_keeps_the_daemon_and_the_simulated_systems_running(tmp_path: Path) -> None:
    """`demo --serve` prints its findings, then serves the read API on the demo's database while the
    simulated ERP and WMS keep answering the scheduled polls; SIGINT (Ctrl-C) ends it cleanly."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEMO_")}
    env["ORDERBRIDGE_LISTEN"] = f"127.0.0.1:{port}"
    env["COLUMNS"] = "200"
    with (tmp_path / "demo.out").open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "orderbridge", "demo", "--dir", str(tmp_path / "demo"), "--serve"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/readyz"), "the demo's daemon to be ready")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            before_login = client.get("/api/discrepancies").status_code
            # The demo user and password it prints, as a person would use them.
            user, password = re.search(
                r"log in as '([^']+)' with the password '([^']+)'", _printed(tmp_path)
            ).groups()
            logged_in = log_in(client, user, password)
            board = client.get("/")
            found = client.get("/api/discrepancies").json()
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json()
        wait_for(
            lambda: all(
                s["last_success"]
                for s in httpx.get(f"http://127.0.0.1:{port}/readyz").json()["systems"].values()
            ),
            "every system to be polled by the daemon",
        )
    finally:
        code = stop_process(process, signal.SIGINT)
    printed = (tmp_path / "demo.out").read_text(encoding="utf-8")
    assert "open discrepancies" in printed and f"serving on http://127.0.0.1:{port}" in printed
    assert before_login == 401 and logged_in.status_code == 303
    assert board.status_code == 200 and 'id="board"' in board.text
    assert {item["rule"] for item in found} >= {"status_conflict", "missing", "stuck", "unmapped_status"}
    assert set(ready["systems"]) == {"erp", "wms", "purchasing", "finance"}
    assert code == 0


def _printed(directory: Path) -> str:
    return (directory / "demo.out").read_text(encoding="utf-8")
