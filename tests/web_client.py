"""What the web page tests share: the demo's login, logging in through the form as a browser does, and
the records the demo's store holds of an order."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager

import httpx

from orderbridge.config.loader import LoadedConfig
from orderbridge.demo.config import DEMO_CREDENTIALS
from orderbridge.mapping.model import Observation
from orderbridge.storage import observations
from orderbridge.storage.db import Store

USER, PASSWORD = DEMO_CREDENTIALS.web_user, DEMO_CREDENTIALS.web_password
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
Serve = Callable[..., AbstractContextManager[str]]


def log_in(client: httpx.Client, user: str = USER, password: str = PASSWORD) -> httpx.Response:
    """Fetch the login form for its CSRF token and post it."""
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"csrf": token, "name": user, "password": password, "next": "/"})


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "the page holds no form with a CSRF token"
    return found.group(1)


def records(demo: LoadedConfig, key: str) -> dict[str, Observation]:
    """The order's records in the demo's store, by system."""
    store = Store(demo.config.store.url, demo.base_dir)
    try:
        with store.engine.connect() as conn:
            return {obs.system: obs for obs in observations.observations_of(conn, key)}
    finally:
        store.close()
