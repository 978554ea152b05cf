"""The web pages under hostile requests, on a real socket over a copy of the demo's store: generated
requests to every page (any method, percent-encoded bytes including NUL and invalid UTF-8 in path
and query, odd headers, form bodies with hostile values and the session's real CSRF token) get
answers below 500, logged in or not, and the server logs no traceback."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from http_fuzz import FUZZ, NASTY, fragments, no_tracebacks, requests_to, send
from hypothesis import given
from hypothesis import strategies as st
from web_client import csrf_of, log_in

from orderbridge.config.loader import LoadedConfig, load_config

from .conftest import demo_site

PAGES = [
    "/",
    "/login",
    "/discrepancies/1/ack",
    "/discrepancies/2/snooze",
    "/discrepancies/99999999999999999999/ack",
    "/orders",
    "/orders/",
    "/stages",
    "/systems",
    "/track",
    "/static/",
]
FIELDS = ["csrf", "order", "factor", "name", "password", "next", "note", "for", "back", "q"]
TOKEN = "{csrf}"  # replaced by the session's token when sent
values = st.one_of(fragments, st.sampled_from([TOKEN, "1h", "1d", "/", "//evil.example", "SO-000041"]))
forms = st.dictionaries(st.sampled_from(FIELDS), values, max_size=5).map(
    lambda fields: "&".join(f"{quote(k)}={v}" for k, v in fields.items()).encode()
)
bodies = st.one_of(st.binary(max_size=64), forms, st.sampled_from([s.encode() for s in NASTY]))
QUERY = ["severity", "dimension", "system", "rule", "age", "amount", "q", "lang", "next"]


@pytest.fixture(scope="module")
def own_demo(demo: LoadedConfig, tmp_path_factory: pytest.TempPathFactory) -> LoadedConfig:
    """A copy of the demo's folder: the generated requests acknowledge and snooze what they find."""
    folder = tmp_path_factory.mktemp("web-fuzz") / "demo"
    shutil.copytree(demo.base_dir, folder)
    return load_config(folder / "orderbridge.yaml")


def fuzz(client: httpx.Client, base: str, token: str) -> None:
    @FUZZ
    @given(requests_to(PAGES, QUERY, bodies))
    def check(request: dict[str, Any]) -> None:
        request = {**request, "body": request["body"].replace(TOKEN.encode(), token.encode())}
        answer = send(client, base, request)
        assert answer.status_code < 500, (request, answer.status_code, answer.text[:500])

    check()


def test_no_web_request_makes_a_server_error(
    own_demo: LoadedConfig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    with demo_site(own_demo) as base:
        with httpx.Client(base_url=base, timeout=30) as anonymous:
            token = csrf_of(anonymous.get("/login").text)
            fuzz(anonymous, base, token)
            board = anonymous.get("/")
        with httpx.Client(base_url=base, timeout=30) as staff:
            assert log_in(staff).status_code in (200, 303)
            token = csrf_of(staff.get("/").text)
            fuzz(staff, base, token)
            still_in = staff.get("/")
    assert board.status_code in (302, 303) and "/login" in board.headers["location"]
    assert still_in.status_code == 200 and 'id="board"' in still_in.text  # the session survived
    no_tracebacks(caplog.records)


def test_the_copy_is_what_the_fuzzing_acts_on(own_demo: LoadedConfig, demo: LoadedConfig) -> None:
    """The fuzzing acts on a copy of the demo's store, never on the one the other page tests read."""
    assert Path(own_demo.base_dir) != Path(demo.base_dir)
    assert (Path(own_demo.base_dir) / "orderbridge.yaml").is_file()
