"""The daemon's view of a failing source: failing (not up) in /readyz and /metrics from its first
failed poll, unhealthy from its threshold (while readiness itself stays about the process), the next
attempt exactly when the backoff says, and an error of our own logged with the system and the batch
it happened in."""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import structlog

from orderbridge.config.loader import load_config
from orderbridge.connectors.base import ConnectorContext
from orderbridge.scheduler import sync
from orderbridge.scheduler.daemon import Daemon
from orderbridge.scheduler.http import create_app
from orderbridge.scheduler.sync import SyncError, sync_system
from orderbridge.storage import observations
from orderbridge.storage.db import Store


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(directory: Path, base_url: str, store_url: str = "sqlite:///ob.db") -> Path:
    path = directory / "orderbridge.yaml"
    path.write_text(
        f"""
store: {{url: "{store_url}"}}
systems:
  wms:
    type: rest
    base_url: {base_url}
    poll: {{every: 10m}}
    list: {{path: /orders, records: data, paging: {{style: page, param: page, size_param: size, size: 2}}}}
    retry: {{attempts: 1}}
    order_id: {{field: ref}}
    status: {{dimension: fulfillment, map: {{NEW: placed}}}}
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def down(tmp_path: Path) -> Iterator[Daemon]:
    daemon = Daemon(load_config(write_config(tmp_path, f"http://127.0.0.1:{closed_port()}")))
    try:
        yield daemon
    finally:
        daemon.shutdown()


def test_a_source_is_failing_from_its_first_failed_poll(
    down: Daemon, serve: Callable[[Any], AbstractContextManager[str]]
) -> None:
    """After one failed poll /readyz says the system is not up (still healthy: one failure is below
    the threshold), since when, and when it is tried again, while its status stays 200 (the process
    serves; webhooks keep coming in); /metrics has orderbridge_source_up 0 and one consecutive
    failure."""
    down.scheduler.start(paused=True)  # readiness counts a running scheduler
    down.poll("wms")
    with serve(create_app(down.store, down.metrics, down.ready)) as base:
        ready = httpx.get(f"{base}/readyz", timeout=10)
        metrics = httpx.get(f"{base}/metrics", timeout=10).text
    wms = ready.json()["systems"]["wms"]
    assert ready.status_code == 200
    assert wms["up"] is False and wms["healthy"] is True and wms["failures"] == 1
    assert wms["failing_since"] is not None and wms["retry_at"] is not None
    assert 'orderbridge_source_up{system="wms"} 0.0' in metrics
    assert 'orderbridge_poll_consecutive_failures{system="wms"} 1.0' in metrics
    assert 'orderbridge_source_healthy{system="wms"} 1.0' in metrics


def test_the_retry_after_a_failed_poll_comes_when_the_backoff_says(down: Daemon) -> None:
    """The poll job's next run is moved to the backoff's retry time itself (one interval after the
    first failure, two after the second), not to the first interval tick after it."""
    down.schedule()
    down.scheduler.start(paused=True)
    every = timedelta(minutes=10)
    for failures in (1, 2):
        down.poll("wms")
        health = down.health["wms"]
        job = down.scheduler.get_job("poll:wms")
        assert health.retry_at is not None and job is not None
        assert job.next_run_time == health.retry_at
        assert health.failing_since is not None
        assert health.retry_at - health.failing_since >= every * 2 ** (failures - 1)
        health.retry_at = None  # let the next call poll at once instead of waiting


def pages(request: httpx.Request) -> httpx.Response:
    page = int(request.url.params["page"])
    data = [{"ref": f"SO-{page}{i}", "status": "NEW"} for i in range(2)] if page <= 3 else []
    return httpx.Response(200, json={"data": data})


def test_an_error_of_our_own_names_the_system_and_the_batch(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure that is not the source's (here the store refusing the second page) fails the sync
    with the system and the page named, keeps the first page committed, and the daemon logs it with
    the batch and the traceback."""
    loaded = load_config(write_config(tmp_path, "https://wms.example.com", store_url))
    written: list[int] = []

    def ingest(*args: Any, **kwargs: Any) -> Any:
        written.append(1)
        if len(written) == 2:
            raise RuntimeError("the store refused the batch")
        return real_ingest(*args, **kwargs)

    real_ingest = sync.ingest
    monkeypatch.setattr(sync, "ingest", ingest)
    store = Store(store_url)
    router = respx.mock(assert_all_called=True)
    router.get("https://wms.example.com/orders").mock(side_effect=pages)
    try:
        with router, pytest.raises(SyncError) as failed:
            sync_system(store, "wms", loaded.config.systems["wms"], ConnectorContext(base_dir=tmp_path))
        with store.engine.connect() as conn:
            kept = observations.order_keys(conn)
    finally:
        store.close()
    assert failed.value.batch == "page 2"
    assert str(failed.value) == "wms: page 2: RuntimeError: the store refused the batch"
    assert kept == ["SO-10", "SO-11"]

    written.clear()
    daemon = Daemon(loaded, ConnectorContext(base_dir=tmp_path))
    try:
        with router, structlog.testing.capture_logs() as logged:
            daemon.poll("wms")
    finally:
        daemon.shutdown()
    (failure,) = [entry for entry in logged if entry["event"] == "poll failed"]
    assert failure["system"] == "wms" and failure["batch"] == "page 2" and failure["exc_info"] is True
    assert "page 2" in failure["error"]


class StopAtSignal(threading.Event):
    """The daemon's stop event, noting whether the HTTP port still accepted connections when it was
    set: true at the signal itself, false once uvicorn has shut down."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port
        self.listening: bool | None = None

    def set(self) -> None:
        if self.listening is None:
            with socket.socket() as sock:
                self.listening = sock.connect_ex(("127.0.0.1", self.port)) == 0
        super().set()


def test_sigterm_sets_the_stop_event_at_the_signal(tmp_path: Path) -> None:
    """The polls are told to stop the moment SIGTERM arrives, while the HTTP server still runs,
    rather than once it has shut down (polls read on in between)."""
    port = closed_port()
    (tmp_path / "orderbridge.yaml").write_text(
        f'store: {{url: "sqlite:///ob.db"}}\nserver: {{listen: "127.0.0.1:{port}"}}\nsystems: {{}}\n',
        encoding="utf-8",
    )
    daemon = Daemon(load_config(tmp_path / "orderbridge.yaml"))
    daemon.stop = stop = StopAtSignal(port)

    def terminate_once_serving() -> None:
        for _ in range(600):
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except httpx.TransportError:
                threading.Event().wait(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=terminate_once_serving, daemon=True).start()
    daemon.run()
    assert stop.listening is True
