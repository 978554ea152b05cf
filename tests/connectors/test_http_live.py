"""The HTTP layer against real local servers, where sockets matter: a stop ends an in-flight request
without waiting for a slow source, connection failures name the host, and redirects to another origin
are refused or followed without any credential."""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest

from orderbridge.connectors.base import ConnectorContext, PollStopped, SourceError
from orderbridge.connectors.http import HttpApi
from orderbridge.connectors.rest.settings import RestSettings
from orderbridge.scheduler.sync import sync_system
from orderbridge.storage import observations
from orderbridge.storage.db import Store

KEY = "live-key-90210"
GENEROUS = 20.0  # seconds: far above what a stop takes, far below the 60 s the slow server would take


def settings(base_url: str, **more: Any) -> RestSettings:
    block = {
        "type": "rest",
        "base_url": base_url,
        "auth": {"type": "api_key", "header": "X-Api-Key", "value": KEY},
        "list": {"path": "/orders", "records": "data"},
        "order_id": {"field": "ref"},
        "fields": {"record_id": "id"},
        "status": {"field": "status", "dimension": "fulfillment", "map": {"PICKING": "preparing"}},
        "retry": {"attempts": 2, "initial_wait": "1s", "max_wait": "2s"},
        **more,
    }
    return RestSettings.model_validate(block)


def slow_after_first_page(arrived: threading.Event, release: threading.Event) -> Any:
    """Page 1 at once; page 2 only after a minute (or the end of the test)."""

    def handle(seen: Any) -> tuple[Any, ...]:
        if seen.query.get("page", "1") == "1":
            return 200, {"data": [{"id": i, "ref": f"SO-{i:06d}", "status": "PICKING"} for i in (1, 2)]}
        arrived.set()
        release.wait(60)
        return 200, {"data": []}

    return handle


def test_a_stop_ends_an_in_flight_request_without_waiting_for_the_answer(live_server: Any) -> None:
    """A request to a source that takes a minute to answer (timeout 30 s) gives way as soon as the
    poll's stop event is set: PollStopped, long before the source answers or the timeout ends."""
    arrived, release = threading.Event(), threading.Event()
    server = live_server(slow_after_first_page(arrived, release))
    made = HttpApi.from_settings("slow", settings(server.url, timeout="30s"))
    stop = threading.Event()
    outcome: dict[str, BaseException] = {}

    def call() -> None:
        try:
            made.fetch("GET", "/orders", params={"page": 2}, stop=stop)
        except BaseException as exc:
            outcome["error"] = exc

    caller = threading.Thread(target=call)
    caller.start()
    assert arrived.wait(GENEROUS), "the slow request never reached the server"
    stop.set()
    caller.join(GENEROUS)
    release.set()
    assert not caller.is_alive(), "the stopped request still held the poll"
    assert isinstance(outcome.get("error"), PollStopped)
    assert "stopped during the request" in str(outcome["error"])


def test_a_sync_stopped_during_a_request_keeps_what_it_committed(live_server: Any, store: Store) -> None:
    """SIGTERM's stop event during page 2 of a sync: the sync ends at once as stopped (not failed),
    and page 1's records stay committed."""
    arrived, release = threading.Event(), threading.Event()
    server = live_server(slow_after_first_page(arrived, release))
    config = settings(
        server.url, list={"path": "/orders", "records": "data", "paging": {"style": "page", "param": "page"}}
    )
    stop = threading.Event()
    results: list[Any] = []
    worker = threading.Thread(
        target=lambda: results.append(sync_system(store, "slow", config, ConnectorContext(), stop))
    )
    worker.start()
    assert arrived.wait(GENEROUS)
    stop.set()
    worker.join(GENEROUS)
    release.set()
    assert not worker.is_alive()
    assert results and results[0].stopped and results[0].records == 2
    with store.engine.connect() as conn:
        assert [e.record_id for e in observations.timeline(conn, "SO-000001")] == ["1"]


def test_connection_refused_names_the_host_and_port() -> None:
    """Nothing listening: the error says which host and port could not be reached."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    made = HttpApi.from_settings("gone", settings(f"http://127.0.0.1:{port}/api"))
    made.sleep = lambda seconds: None
    with pytest.raises(SourceError) as failure:
        made.fetch("GET", "/orders")
    message = str(failure.value)
    assert message.startswith(
        f"gone: GET 127.0.0.1:{port}/api/orders failed after 2 attempts: cannot connect to 127.0.0.1:{port}"
    )
    assert KEY not in message


def test_a_redirect_within_the_origin_is_followed_with_the_credentials(live_server: Any) -> None:
    """A 301 to another path of the same host is followed, and the key goes along."""

    def handle(seen: Any) -> tuple[Any, ...]:
        if seen.path == "/old/orders":
            return 301, None, [("Location", "/orders?page=1")]
        return 200, {"data": []}

    server = live_server(handle)
    made = HttpApi.from_settings("moved", settings(server.url))
    assert made.fetch("GET", "/old/orders") == {"data": []}
    assert [(s.path, s.headers.get("x-api-key")) for s in server.seen] == [
        ("/old/orders", KEY),
        ("/orders", KEY),
    ]


def two_origins(live_server: Any) -> tuple[Any, Any]:
    elsewhere = live_server(lambda seen: (200, {"data": []}))

    def handle(seen: Any) -> tuple[Any, ...]:
        return 302, None, [("Location", f"{elsewhere.url}/orders?page=2&key={KEY}&app_secret=sec-31337")]

    return live_server(handle), elsewhere


def test_a_redirect_to_another_origin_is_refused_by_default(live_server: Any) -> None:
    """A redirect to another host:port is not followed: nothing reaches the other origin, and the
    error names the setting that allows it."""
    origin, elsewhere = two_origins(live_server)
    made = HttpApi.from_settings(
        "moved", settings(origin.url, auth={"type": "static", "params": {"app_secret": "sec-31337"}})
    )
    with pytest.raises(SourceError) as failure:
        made.fetch("GET", "/orders")
    assert elsewhere.seen == []
    message = str(failure.value)
    assert "redirected to another host" in message and "redirects: strip_credentials" in message
    assert "sec-31337" not in message


def test_a_redirect_to_another_origin_can_be_followed_without_any_credential(live_server: Any) -> None:
    """With `redirects: strip_credentials` the other origin is asked, but receives no API-key header,
    no configured secret header, no cookie and no credential parameter."""
    origin, elsewhere = two_origins(live_server)
    made = HttpApi.from_settings(
        "moved",
        settings(
            origin.url,
            headers={"X-App-Secret": "hdr-secret-4242", "X-Tenant": "t1"},
            redirects="strip_credentials",
            auth={"type": "static", "headers": {"X-Api-Key": KEY}, "params": {"app_secret": "sec-31337"}},
        ),
    )
    assert made.fetch("GET", "/orders") == {"data": []}
    assert origin.seen[0].headers["x-api-key"] == KEY and origin.seen[0].query["app_secret"] == "sec-31337"
    [arrived] = elsewhere.seen
    assert arrived.query == {"page": "2"}
    assert not {"x-api-key", "x-app-secret", "x-tenant", "authorization", "cookie"} & set(arrived.headers)
    everything = repr(arrived)
    assert KEY not in everything and "sec-31337" not in everything and "hdr-secret-4242" not in everything
