"""The webhook endpoint on uvicorn over a real socket, sent real HTTP requests, on both stores: every
provider's signed event acknowledged in the provider's form and on the order's timeline; refused
requests answered 4xx with a reason and changing no order; a replayed delivery changing nothing; a
store that cannot take the write answered 503, never 2xx; inbox and replay on the command line."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import push_samples as samples
import pytest
import uvicorn
import yaml
from sqlalchemy import func, select

from orderbridge.config.loader import parse_config
from orderbridge.mapping.model import CanonicalStatus, Dimension, Observation
from orderbridge.scheduler.http import Metrics, create_app
from orderbridge.scheduler.webhooks import Webhooks
from orderbridge.storage import inbox, observations
from orderbridge.storage.db import Store
from orderbridge.storage.tables import inbox as inbox_table
from orderbridge.storage.tables import observations as observations_table
from orderbridge.storage.tables import status_history


class Served:
    """The daemon's app with its webhook endpoint, on uvicorn in a thread, on a port of its own."""

    def __init__(self, store: Store, blocks: dict[str, dict[str, Any]]) -> None:
        self.config = parse_config(yaml.safe_dump({"systems": blocks}, allow_unicode=True))
        self.webhooks = Webhooks(store, self.config.systems, Metrics())
        app = create_app(store, Metrics(), lambda: {"store": True}, mounted=self.webhooks.routes())
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> Served:
        self.webhooks.start()
        self.thread.start()
        wait_for(lambda: self.server.started, "uvicorn to start")
        self.client = httpx.Client(base_url=self.url, timeout=30)
        return self

    def __exit__(self, *_: object) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.webhooks.stop()
        self.sock.close()

    def post(self, sample: samples.Sample, body: bytes | None = None, **headers: str) -> httpx.Response:
        return self.client.post(
            sample.path,
            content=sample.body if body is None else body,
            headers={**sample.headers, **headers},
            params=sample.query,
        )


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def pending(store: Store) -> int:
    with store.engine.connect() as conn:
        return inbox.counts(conn).get(inbox.PENDING, 0)


def count(store: Store, table: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def seed_parcels(store: Store, every: list[samples.Sample]) -> None:
    """A warehouse record per parcel whose tracking number it knows, as a polled WMS would write it."""
    now = datetime(2026, 11, 19, tzinfo=UTC)
    items = [
        (
            Observation(
                system="wms",
                record_id=f"W-{s.type}",
                order_key=s.order_key,
                status_at=now,
                observed_at=now,
                statuses={Dimension.fulfillment: CanonicalStatus(status="shipped", native="SHIPPED")},
                links={"tracking_number": s.tracking},
            ),
            {},
        )
        for s in every
        if s.tracking
    ]
    with store.begin() as conn:
        observations.ingest(conn, items, now)


@pytest.fixture
def served(store: Store) -> Iterator[Served]:
    every = samples.every_sample()
    seed_parcels(store, every)
    with Served(store, {s.system: s.block for s in every}) as server:
        yield server


def test_every_provider_is_acknowledged_in_its_form_and_reaches_the_orders_timeline(
    served: Served, store: Store
) -> None:
    """A correctly signed event of each provider is answered as that provider expects (Kuaidi100's
    JSON, SF's return_code, Cainiao's success, 2xx for the rest) and, once processed, its status is on
    the timeline of the order it belongs to, by its own reference or by its tracking number."""
    every = samples.every_sample()
    for sample in every:
        answer = served.post(sample)
        assert answer.status_code == 200, (sample.type, answer.text)
        if sample.ack is not None:
            assert answer.content == sample.ack, sample.type  # byte for byte, as documented
    wait_for(lambda: pending(store) == 0, "the inbox to be processed")
    with store.engine.connect() as conn:
        assert inbox.counts(conn) == {inbox.PROCESSED: len(every)}
        for sample in every:
            entries = [e for e in observations.timeline(conn, sample.order_key) if e.system == sample.system]
            assert (sample.dimension, sample.status) in {(e.dimension, e.status) for e in entries}, (
                sample.type
            )
            assert entries[-1].record_id == sample.record_id


def test_refused_requests_get_their_4xx_with_a_reason_and_change_no_order(
    served: Served, store: Store
) -> None:
    """Wrong or missing signature: 401; oversize: 413; wrong media type: 415; unknown system: 404; a
    signed body that cannot be read: 400, kept in the inbox as rejected. No order changes."""
    sample = samples.aftership()
    before = count(store, status_history)
    wrong = served.post(sample, **{"aftership-hmac-sha256": samples.b64_hmac("not-the-secret", sample.body)})
    missing = served.client.post(
        sample.path, content=sample.body, headers={"Content-Type": "application/json"}
    )
    huge = served.post(sample, body=b"{" + b" " * (1 << 20) + b"}")
    media = served.post(sample, **{"Content-Type": "text/plain"})
    nobody = served.client.post(
        "/webhooks/nosuch", content=b"{}", headers={"Content-Type": "application/json"}
    )
    broken_body = b'{"event":"tracking_update","msg":[]}'
    broken = served.post(
        sample, body=broken_body, **{"aftership-hmac-sha256": samples.b64_hmac(samples.SECRET, broken_body)}
    )
    token_sample = samples.sf_express()
    no_token = served.client.post("/webhooks/sf", content=token_sample.body, headers=token_sample.headers)
    assert (wrong.status_code, missing.status_code, huge.status_code) == (401, 401, 413)
    assert (media.status_code, nobody.status_code, broken.status_code, no_token.status_code) == (
        415,
        404,
        400,
        401,
    )
    assert "does not match" in wrong.json()["error"] and "missing signature" in missing.json()["error"]
    assert "event_id" in broken.json()["error"] and "application/json" in media.json()["error"]
    assert samples.SECRET not in wrong.text + missing.text + broken.text
    with store.engine.connect() as conn:
        (kept,) = inbox.listing(conn)
    assert (kept.state, kept.body) == (inbox.REJECTED, broken_body.decode())
    assert count(store, status_history) == before


def test_a_body_nested_too_deeply_to_parse_is_a_400_and_kept(served: Served, store: Store) -> None:
    """JSON nested deeper than the parser recurses (valid JSON, 100,000 levels) is a 400 with the
    reason, kept in the inbox as rejected, not a 500."""
    sample = samples.aftership()
    deep = b"[" * 100_000 + b"]" * 100_000
    answer = served.post(
        sample, body=deep, **{"aftership-hmac-sha256": samples.b64_hmac(samples.SECRET, deep)}
    )
    assert answer.status_code == 400, answer.text
    assert "nested too deeply" in answer.json()["error"]
    with store.engine.connect() as conn:
        (kept,) = inbox.listing(conn)
    assert (kept.state, kept.body) == (inbox.REJECTED, deep.decode())


def test_a_replayed_delivery_is_acknowledged_and_changes_nothing(served: Served, store: Store) -> None:
    """The same delivery sent again (a provider's retry) is acknowledged in the same form, stored once
    and processed once."""
    sample = samples.kuaidi100()
    first = served.post(sample)
    wait_for(lambda: pending(store) == 0, "processing")
    history = count(store, status_history)
    again = served.post(sample)
    wait_for(lambda: pending(store) == 0, "processing")
    assert first.content == again.content == sample.ack
    assert count(store, inbox_table) == 1
    assert count(store, status_history) == history


def test_an_event_pushed_late_does_not_overwrite_a_newer_one(served: Served, store: Store) -> None:
    """Delivered, then (retried late) the older out-for-delivery event: the parcel still says delivered,
    and the older event is in its history before it."""
    newer = samples.aftership(
        tag="Delivered", subtag="Delivered_001", event_id="e-2", updated="2026-11-20T10:00:00+00:00"
    )
    older = samples.aftership(
        tag="OutForDelivery", subtag="OutForDelivery_001", event_id="e-1", updated="2026-11-20T07:00:00+00:00"
    )
    for sample in (newer, older):
        assert served.post(sample).status_code == 200
        wait_for(lambda: pending(store) == 0, "processing")
    with store.engine.connect() as conn:
        parcel = next(
            o for o in observations.observations_of(conn, "ORD-AFTERSHIP") if o.system == "aftership"
        )
        trail = [
            e.status
            for e in observations.timeline(conn, "ORD-AFTERSHIP")
            if e.system == "aftership" and e.dimension == Dimension.shipment
        ]
    assert parcel.status(Dimension.shipment) == "delivered"
    assert trail == ["out_for_delivery", "delivered"]


class Proxy:
    """A TCP proxy in front of PostgreSQL that can be cut, as a network or database outage would."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.open = True
        self.peers: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.peers += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, target):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def cut(self) -> None:
        self.open = False
        for peer in self.peers:
            with contextlib.suppress(OSError):
                peer.shutdown(socket.SHUT_RDWR)
        self.peers.clear()
        time.sleep(0.2)  # the pipes see the shutdown and close their sockets

    def close(self) -> None:
        self.cut()
        self.listener.close()


def test_a_store_that_cannot_take_the_write_answers_503_never_2xx(store_url: str, tmp_path: Path) -> None:
    """With the store unavailable (SQLite: another process holds the write lock; PostgreSQL: the
    connection to the server is cut), the endpoint answers 503 with Retry-After, stores nothing, and
    takes events again once the store is back."""
    from sqlalchemy.engine import make_url

    sample = samples.aftership()
    proxy = None
    url = store_url
    if store_url.startswith("postgresql"):
        parsed = make_url(store_url)
        proxy = Proxy(parsed.port or 5432)
        url = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    store = Store(url)
    try:
        with Served(store, {"aftership": sample.block}) as served:
            assert served.post(samples.aftership(event_id="warm-up")).status_code == 200
            if proxy is not None:
                proxy.cut()
                refused = served.post(sample)
                proxy.open = True
            else:
                path = make_url(store_url).database
                locker = sqlite3.connect(path, isolation_level=None)
                locker.execute("BEGIN IMMEDIATE")
                try:
                    refused = served.post(sample)
                finally:
                    locker.execute("ROLLBACK")
                    locker.close()
            assert refused.status_code == 503 and refused.headers["Retry-After"]
            with store.engine.connect() as conn:
                assert [e.dedupe_key for e in inbox.listing(conn)] == ["event:warm-up"]
            assert served.post(sample).status_code == 200
    finally:
        store.close()
        if proxy is not None:
            proxy.close()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "orderbridge", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_inbox_lists_events_and_replay_processes_failed_ones_after_a_fix(
    tmp_path: Path, store_url: str
) -> None:
    """An event whose order number the system's rule cannot read is kept as failed with its error;
    `inbox --status failed --format json` shows it; after the rule is fixed, `replay --system` processes
    it, and replaying it again (now processed) changes nothing."""
    sample = samples.generic()
    block = {**sample.block, "order_id": {"field": "event.order_ref", "pattern": r"^ORD-(\d+)$"}}
    config = tmp_path / "orderbridge.yaml"
    config.write_text(
        yaml.safe_dump({"store": {"url": store_url}, "systems": {"webhook": block}}), encoding="utf-8"
    )
    store = Store(store_url)
    try:
        with Served(store, {"webhook": block}) as served:
            assert served.post(sample).status_code == 200
            wait_for(lambda: pending(store) == 0, "processing")
        listed = cli("inbox", "-c", str(config), "--status", "failed", "--format", "json")
        assert listed.returncode == 0, listed.stderr
        (event,) = json.loads(listed.stdout)
        assert "does not match the pattern" in event["error"] and event["body"] == sample.body.decode()
        fixed = {
            **block,
            "order_id": {"field": "event.order_ref", "pattern": r"^SO-\d{4}-(\d+)$", "format": "SO-{0:0>6}"},
        }
        config.write_text(
            yaml.safe_dump({"store": {"url": store_url}, "systems": {"webhook": fixed}}), encoding="utf-8"
        )
        replayed = cli("replay", "-c", str(config), "--system", "webhook")
        assert replayed.returncode == 0, replayed.stderr
        assert "replayed 1 events: 1 processed, 0 failed" in replayed.stdout
        history = count(store, status_history)
        again = cli("replay", "-c", str(config), "--id", str(event["id"]))
        assert again.returncode == 0 and "1 processed" in again.stdout
        with store.engine.connect() as conn:
            (obs,) = observations.observations_of(conn, "SO-000099")
        assert obs.status(Dimension.shipment) == "delivered"
        assert count(store, status_history) == history
        assert count(store, observations_table) == 1
    finally:
        store.close()


def test_a_parcel_pushed_before_its_order_is_known_is_attached_when_the_warehouse_tells(
    store: Store,
) -> None:
    """A carrier event whose tracking number no record knows is an orphan; when the WMS record carrying
    that tracking number arrives, the parcel and its history attach to the order."""
    sample = samples.aftership()
    with Served(store, {sample.system: sample.block}) as served:
        assert served.post(sample).status_code == 200
        wait_for(lambda: pending(store) == 0, "processing")
    with store.engine.connect() as conn:
        assert [o.record_id for o in observations.unlinked(conn)] == [sample.record_id]
    seed_parcels(store, [sample])
    with store.engine.connect() as conn:
        assert observations.unlinked(conn) == []
        entries = observations.timeline(conn, sample.order_key)
    assert ("aftership", "delivered") in {(e.system, e.status) for e in entries}


def test_check_config_warns_about_an_endpoint_nothing_signs(tmp_path: Path) -> None:
    """SF Express signs nothing: the config is valid, and check-config says the endpoint is guarded by
    its path token only (never showing the token)."""
    config = tmp_path / "orderbridge.yaml"
    config.write_text(yaml.safe_dump({"systems": {"sf": samples.sf_express().block}}), encoding="utf-8")
    checked = cli("check-config", "-c", str(config))
    assert checked.returncode == 0
    assert "warning: systems.sf.webhook: pushes are not signed" in checked.stderr
    assert samples.TOKEN not in checked.stdout + checked.stderr
