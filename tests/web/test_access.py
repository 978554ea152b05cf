"""Who may see and do what, checked with a plain HTTP client over a real socket: no staff page or
action without a session, no action without the session's CSRF token, sessions that expire, proxy
sign-on believed only from trusted addresses, and the security headers on every answer."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta

import httpx
import pytest
from itsdangerous import TimestampSigner
from pydantic import SecretStr
from web_client import USER, Serve, csrf_of, log_in

from orderbridge.config.loader import LoadedConfig
from orderbridge.storage import discrepancies
from orderbridge.storage.db import Store

STAFF_PAGES = ["/", "/?rule=stuck", "/orders?q=SO-000042", "/orders/SO-000042", "/stages", "/systems"]
SECRET = "a-test-session-secret"


def first_open(demo: LoadedConfig) -> discrepancies.Discrepancy:
    store = Store(demo.config.store.url, demo.base_dir)
    try:
        with store.engine.connect() as conn:
            return next(d for d in discrepancies.listing(conn, status="open") if d.status == "open")
    finally:
        store.close()


def state_of(demo: LoadedConfig, number: int) -> discrepancies.Discrepancy:
    store = Store(demo.config.store.url, demo.base_dir)
    try:
        with store.engine.connect() as conn:
            found = discrepancies.get(conn, number)
    finally:
        store.close()
    assert found is not None
    return found


def test_no_staff_page_or_action_without_a_session(serve_web: Serve, demo: LoadedConfig) -> None:
    """Every staff page sends a browser to the login page (and says 401 to htmx); every action is
    refused with 401 and changes nothing, even with a token from the login form."""
    target = first_open(demo)
    with serve_web() as url, httpx.Client(base_url=url) as client:
        pages = {path: client.get(path) for path in STAFF_PAGES}
        fragment = client.get("/", headers={"HX-Request": "true"})
        token = csrf_of(client.get("/login").text)
        actions = [
            client.post(f"/discrepancies/{target.id}/ack", data={"csrf": token, "note": "x"}),
            client.post(f"/discrepancies/{target.id}/snooze", data={"csrf": token, "for": "1d"}),
        ]
    for path, answer in pages.items():
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next="), path
        assert target.order_key not in answer.text
    assert fragment.status_code == 401
    assert [a.status_code for a in actions] == [401, 401]
    assert state_of(demo, target.id).status == "open"


def test_the_read_api_needs_the_login_too(serve_web: Serve) -> None:
    """With logins configured, /api/* answers 401 in JSON without a session and the data with one."""
    with serve_web() as url, httpx.Client(base_url=url) as client:
        refused = [
            client.get(path) for path in ("/api/discrepancies", "/api/orders", "/api/orders/SO-000042")
        ]
        log_in(client)
        answered = client.get("/api/discrepancies")
    assert [r.status_code for r in refused] == [401, 401, 401]
    assert all(r.json() == {"error": "log in first (/login)"} for r in refused)
    assert answered.status_code == 200 and {d["rule"] for d in answered.json()} >= {"stuck"}


def test_login_with_the_right_password_only_and_never_to_another_site(serve_web: Serve) -> None:
    """A wrong password or unknown name is a 401 and no session; the right one logs in with an
    HttpOnly, SameSite cookie; `next` pointing to another site lands on the board instead."""
    with serve_web() as url:
        with httpx.Client(base_url=url) as client:
            wrong = log_in(client, password="not-the-password")
            stranger = log_in(client, user="mallory")
            after_wrong = client.get("/")
        with httpx.Client(base_url=url) as client:
            token = csrf_of(client.get("/login").text)
            right = client.post(
                "/login",
                data={"csrf": token, "name": USER, "password": "demo-password", "next": "//evil.example/"},
            )
            board = client.get("/")
    assert wrong.status_code == 401 and stranger.status_code == 401
    assert after_wrong.status_code == 303
    assert right.status_code == 303 and right.headers["location"] == "/"
    cookie = right.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert board.status_code == 200 and "discrepancies/" in board.text


def test_password_guessing_is_slowed_per_client(serve_web: Serve) -> None:
    """Ten log-in attempts a minute from one client; the eleventh is a 429 with Retry-After, even
    with the right password, so the answer says nothing about the password tried."""
    with serve_web() as url, httpx.Client(base_url=url) as client:
        guesses = [log_in(client, password=f"guess-{n}") for n in range(10)]
        right = log_in(client)
        board = client.get("/")
    assert [g.status_code for g in guesses] == [401] * 10
    assert right.status_code == 429 and right.headers["retry-after"] == "60"
    assert "Too many log-in attempts" in right.text and "set-cookie" not in right.headers
    assert board.status_code == 303  # not logged in


def test_actions_without_the_sessions_csrf_token_are_refused(serve_web: Serve, demo: LoadedConfig) -> None:
    """Logged in, an action with no token, another session's token or a forged one is a 403 and
    changes nothing; with the page's token it is done and the history names the user and note."""
    target = first_open(demo)
    with serve_web() as url:
        with httpx.Client(base_url=url) as other:
            log_in(other)
            foreign = csrf_of(other.get("/").text)
        with httpx.Client(base_url=url) as client:
            log_in(client)
            own = csrf_of(client.get("/").text)
            path = f"/discrepancies/{target.id}/ack"
            refused = [
                client.post(path, data={"note": "no token"}),
                client.post(path, data={"csrf": foreign, "note": "their token"}),
                client.post(path, data={"csrf": own + "x", "note": "forged"}),
                client.post(path, json={"csrf": own, "note": "not a form"}),
            ]
            unchanged = state_of(demo, target.id)
            done = client.post(path, data={"csrf": own, "note": "checking with the warehouse"})
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert unchanged.status == "open" and not any(e.kind == "acknowledged" for e in unchanged.events)
    assert done.status_code == 303
    after = state_of(demo, target.id)
    assert after.status == "acknowledged" and after.acknowledged_by == USER
    event = [e for e in after.events if e.kind == "acknowledged"][-1]
    assert event.actor == USER and event.details == {"note": "checking with the warehouse"}


def _cookie(payload: dict[str, object]) -> str:
    """A session cookie as Starlette's SessionMiddleware signs it with SECRET."""
    data = base64.b64encode(json.dumps(payload).encode())
    return TimestampSigner(SECRET).sign(data).decode()


def test_a_session_expires_and_a_cookie_cannot_be_forged(serve_web: Serve) -> None:
    """A session older than `session_lifetime` no longer opens the pages; a cookie signed with another
    key is ignored; one signed with the server's key and fresh does (the test's control)."""
    fresh = {"user": USER, "since": int(time.time()), "csrf": "t"}
    stale = {"user": USER, "since": int(time.time()) - 7200, "csrf": "t"}
    forged = base64.b64encode(json.dumps(fresh).encode())
    with serve_web(session_secret=SecretStr(SECRET), session_lifetime=timedelta(hours=1)) as url:

        def board(cookie: str) -> int:
            with httpx.Client(base_url=url, cookies={"orderbridge_session": cookie}) as client:
                return client.get("/").status_code

        control = board(_cookie(fresh))
        expired = board(_cookie(stale))
        other_key = board(TimestampSigner("guess").sign(forged).decode())
    assert control == 200
    assert expired == 303 and other_key == 303


@pytest.mark.parametrize(
    ("proxies", "expected"), [(["127.0.0.1"], 200), (["10.0.0.0/8"], 303)], ids=["trusted", "untrusted"]
)
def test_a_reverse_proxy_header_names_the_user_only_from_a_trusted_address(
    serve_web: Serve, proxies: list[str], expected: int
) -> None:
    """With `user_header`, a request from a trusted proxy address is that user's; from any other
    address the header is ignored and the login asked for."""
    with serve_web(user_header="X-Forwarded-User", trusted_proxies=proxies) as url:
        answer = httpx.get(f"{url}/", headers={"X-Forwarded-User": "li.wei"})
    assert answer.status_code == expected
    if expected == 200:
        assert "li.wei" in answer.text


def test_security_headers_and_what_stays_outside_the_login(serve_web: Serve) -> None:
    """Pages, the API, health and metrics carry the security headers; /healthz, /readyz, /metrics,
    /track and /webhooks/* answer without a session (a webhook refuses an unsigned push by itself)."""
    with serve_web() as url, httpx.Client(base_url=url) as client:
        answers = {
            "login": client.get("/login"),
            "api": client.get("/api/discrepancies"),
            "healthz": client.get("/healthz"),
            "readyz": client.get("/readyz"),
            "metrics": client.get("/metrics"),
            "track": client.get("/track"),
            "webhook": client.post("/webhooks/carrier", data={"param": "{}", "sign": "forged"}),
        }
    for name, answer in answers.items():
        assert answer.headers["x-content-type-options"] == "nosniff", name
        assert answer.headers["x-frame-options"] == "DENY", name
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"], name
        assert answer.headers["referrer-policy"] == "no-referrer", name
        assert answer.status_code != 303, name
    assert answers["healthz"].status_code == 200 and answers["metrics"].status_code == 200
    assert answers["track"].status_code == 200
    assert answers["webhook"].status_code in (400, 401, 403), answers["webhook"].text
    assert answers["login"].headers["cache-control"] == "no-store"
