"""What the web page tests share: the demo's login, and logging in through the form as a browser does."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager

import httpx

from orderbridge.demo.config import DEMO_CREDENTIALS

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
