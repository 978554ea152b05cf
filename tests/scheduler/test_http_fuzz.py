"""The HTTP endpoint under hostile requests, served by uvicorn on a real socket over each real store:
no request is answered with a 5xx except 503 while the store is unavailable, and none makes the
server log a traceback. Generated requests (hypothesis) cover every route, method, path and query;
a second run does the same with the store unreachable."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from http_fuzz import FUZZ, no_tracebacks, requests_to, send
from hypothesis import given
from hypothesis import strategies as st

from orderbridge.mapping.model import CanonicalStatus, Dimension, Observation
from orderbridge.scheduler.http import Metrics, create_app
from orderbridge.storage.db import Store
from orderbridge.storage.observations import ingest

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ROUTES = ["/api/orders/", "/api/discrepancies", "/readyz", "/healthz", "/metrics", "/", "/api/", "/webhooks/"]


Serve = Callable[[Any], AbstractContextManager[str]]


@contextmanager
def served(serve: Serve, store: Store) -> Iterator[str]:
    """The daemon's app over `store` on a real socket; yields its base URL."""
    metrics = Metrics()
    metrics.watch_store(store, ["erp"])
    with serve(create_app(store, metrics, lambda: {"store": store.ping(), "scheduler": True})) as base:
        yield base


def with_an_order(store: Store) -> Store:
    obs = Observation(
        system="erp",
        record_id="1",
        order_key="SO-000001",
        statuses={Dimension.fulfillment: CanonicalStatus(status="placed", native="NEW")},
        observed_at=NOW,
    )
    with store.begin() as conn:
        ingest(conn, [(obs, {"id": 1})], NOW)
    return store


requests = requests_to(ROUTES, ["rule", "status", "key"])


def fuzz_answers(base: str, *, unavailable: bool) -> Any:
    @FUZZ
    @given(requests)
    def check(request: dict[str, Any]) -> None:
        answer = send(client, base, request)
        if answer.status_code >= 500:
            assert answer.status_code == 503 and unavailable, (request, answer.status_code, answer.text)

    with httpx.Client(timeout=30) as client:
        check()


def test_no_request_makes_a_server_error(
    store: Store, caplog: pytest.LogCaptureFixture, serve: Serve
) -> None:
    """Generated requests to every route (any method, percent-encoded bytes including NUL and invalid
    UTF-8 in path and query, long keys, odd headers and bodies) get answers below 500, and the server
    logs no traceback."""
    caplog.set_level(logging.WARNING)
    with served(serve, with_an_order(store)) as base:
        fuzz_answers(base, unavailable=False)
        with httpx.Client(base_url=base, timeout=30) as client:
            nul_key = client.get("/api/orders/%00")
            nul_rule = client.get("/api/discrepancies", params={"rule": "\x00"})
            found = client.get("/api/orders/SO-000001")
    assert nul_key.status_code == 404 and nul_rule.status_code == 400
    assert "unknown rule" in nul_rule.json()["error"] and "status_lag" in str(nul_rule.json())
    assert found.status_code == 200
    no_tracebacks(caplog.records)


def test_a_store_that_is_down_answers_503(
    caplog: pytest.LogCaptureFixture, store_url: str, tmp_path: Path, serve: Serve
) -> None:
    """With the store unreachable (a PostgreSQL server that is not there; a SQLite file whose folder
    has gone) the read API answers 503 with a reason and a Retry-After; generated requests still get
    nothing else above 500, and no traceback is logged."""
    caplog.set_level(logging.WARNING)
    if store_url.startswith("sqlite"):
        folder = tmp_path / "gone"
        store = Store(f"sqlite:///{folder / 'orderbridge.db'}", migrate=False)
        folder.rmdir()
        folder.write_text("a file where the folder was")
    else:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        store = Store(f"postgresql+psycopg://nobody@127.0.0.1:{port}/none", migrate=False)
    try:
        with served(serve, store) as base:
            with httpx.Client(base_url=base, timeout=30) as client:
                order = client.get("/api/orders/SO-000001")
                listing = client.get("/api/discrepancies")
                ready = client.get("/readyz")
                metrics = client.get("/metrics")
            fuzz_answers(base, unavailable=True)
    finally:
        store.close()
    assert order.status_code == 503 and listing.status_code == 503
    assert "store is not available" in order.json()["error"] and order.headers["Retry-After"] == "30"
    assert ready.status_code == 503 and ready.json()["store"] is False
    assert metrics.status_code == 200
    no_tracebacks(caplog.records)


PUSH_CONFIG = """
systems:
  partner:
    type: webhook
    webhook:
      secret: "tok-fuzz-push-123456"
      signature: {type: token, header: X-Token}
    record: {id: event.id, order: event.order_ref, status: event.state, updated: event.at}
    status: {dimension: shipment, map: {IN_TRANSIT: in_transit, DONE: delivered}}
"""
HOSTILE_JSON = [
    '"\\u0000"',
    '"\\ud800"',
    "1e400",
    "NaN",
    "-Infinity",
    '"2025年13月45日"',
    "1e20",
    '"' + "9" * 300 + '"',
]
pushes = st.fixed_dictionaries(
    {
        "path": st.sampled_from(["/webhooks/partner", "/webhooks/partner/x", "/webhooks/nope", "/webhooks/"]),
        "token": st.sampled_from(["tok-fuzz-push-123456", "wrong", None]),
        "type": st.sampled_from(
            ["application/json", "application/json; charset=latin-1", "text/plain", None]
        ),
        "body": st.one_of(
            st.binary(max_size=200),
            st.fixed_dictionaries(
                {
                    key: st.sampled_from([*HOSTILE_JSON, '"SO-1"', '"DONE"', "null", "[]", "{}"])
                    for key in ("id", "order_ref", "state", "at")
                }
            ).map(lambda e: ('{"event": {' + ", ".join(f'"{k}": {v}' for k, v in e.items()) + "}}").encode()),
        ),
    }
)


def test_no_push_makes_a_server_error(store: Store, caplog: pytest.LogCaptureFixture, serve: Serve) -> None:
    """Generated pushes to the webhook endpoint (wrong, missing and right tokens, any body, hostile
    values in the fields it maps) get answers below 500; what is stored is processed without a
    traceback, each bad event failed with its reason."""
    from orderbridge.config.loader import parse_config
    from orderbridge.scheduler.processing import process_pending
    from orderbridge.scheduler.webhooks import Webhooks
    from orderbridge.storage import inbox

    caplog.set_level(logging.WARNING)
    systems = parse_config(PUSH_CONFIG).systems
    metrics = Metrics()
    webhooks = Webhooks(store, systems, metrics)
    webhooks.start()
    app = create_app(
        store,
        metrics,
        lambda: {"store": store.ping(), "scheduler": True},
        systems=systems,
        mounted=webhooks.routes(),
    )
    try:
        with serve(app) as base, httpx.Client(base_url=base, timeout=30) as client:

            @FUZZ
            @given(pushes)
            def check(push: dict[str, Any]) -> None:
                headers = {"X-Token": push["token"]} if push["token"] else {}
                if push["type"]:
                    headers["Content-Type"] = push["type"]
                answer = client.post(push["path"], content=push["body"], headers=headers)
                assert answer.status_code < 500, (push, answer.status_code, answer.text)

            check()
            nul = (
                b'{"event": {"id": "E-nul", "order_ref": "SO-\\u0000", "state": "DONE", "at": "2026-11-22"}}'
            )
            accepted = client.post(
                "/webhooks/partner",
                content=nul,
                headers={"X-Token": "tok-fuzz-push-123456", "Content-Type": "application/json"},
            )
    finally:
        webhooks.stop()
    process_pending(store, systems, webhooks.receivers, limit=10_000)  # what the processing thread left
    with store.engine.connect() as conn:
        states = inbox.counts(conn)
        (failed,) = [e for e in inbox.listing(conn, state=inbox.FAILED) if "E-nul" in e.body]
    assert accepted.status_code == 200
    assert states.get(inbox.PENDING, 0) == 0
    assert "NUL character" in (failed.error or "")
    no_tracebacks(caplog.records)
