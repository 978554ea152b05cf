"""Fixtures of the connector tests: real local HTTP servers (see tests/live_http.py) and no cached
tokens across tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from live_http import Handler, LiveServer, Seen

from orderbridge.connectors.auth import TOKENS

__all__ = ["Handler", "LiveServer", "Seen"]


@pytest.fixture
def live_server() -> Iterator[Callable[[Handler], LiveServer]]:
    """A factory of real local servers, each stopped at the end of the test."""
    started: list[LiveServer] = []

    def start(handler: Handler) -> LiveServer:
        server = LiveServer(handler).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(autouse=True)
def _no_tokens_across_tests() -> Iterator[None]:
    """Tokens are cached per process; each test starts without any."""
    TOKENS.clear()
    yield
    TOKENS.clear()
