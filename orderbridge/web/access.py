"""Who is asking: staff log in with a name and password (`server.users`) or come through a trusted
reverse proxy that names them; the session lives in a signed cookie that expires; every form carries
the session's CSRF token, and an action without it is refused."""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from orderbridge.web.passwords import hash_password, verify_password

FORM_LIMIT = 64 * 1024  # no staff or customer form comes near this; a bigger body is refused
# Checked against when the name is unknown, so an unknown name takes as long as a wrong password.
_UNKNOWN_USER = hash_password(secrets.token_urlsafe(16))

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Access:
    users: Mapping[str, str]  # name -> password hash
    lifetime_seconds: float
    user_header: str | None = None
    trusted_proxies: Collection[str] = ()

    def user(self, request: Request) -> str | None:
        """The logged-in user's name: from a session that has not expired, or from the trusted proxy."""
        if self.user_header and trusted(request, self.trusted_proxies):
            named = request.headers.get(self.user_header, "").strip()
            if named:
                return named[:64]
        name = request.session.get("user")
        started = request.session.get("since")
        if not isinstance(name, str) or not isinstance(started, int | float):
            return None
        if time.time() - started > self.lifetime_seconds or name not in self.users:
            request.session.pop("user", None)
            return None
        return name

    @property
    def configured(self) -> bool:
        """Whether anyone can log in at all (users, or a proxy naming them)."""
        return bool(self.users or self.user_header)

    def reader(self, handler: Callable[[Request], Response]) -> Handler:
        """A read API `handler` for logged-in staff (the session cookie or the proxy's header), once
        logins are configured; others get a 401 in JSON. Without logins the API stays open, as before
        they existed (keep it on 127.0.0.1 then)."""

        async def guarded(request: Request) -> Response:
            if self.configured and self.user(request) is None:
                return JSONResponse({"error": "log in first (/login)"}, status_code=401)
            return await run_in_threadpool(handler, request)

        return guarded

    def check_password(self, name: str, password: str) -> bool:
        stored = self.users.get(name)
        matches = verify_password(password, stored or _UNKNOWN_USER)
        return stored is not None and matches

    def staff(self, handler: Handler) -> Handler:
        """`handler` for logged-in staff only: others are sent to the login page (a page) or refused
        (an htmx or other non-page request); a POST must carry the session's CSRF token."""

        async def guarded(request: Request) -> Response:
            user = self.user(request)
            if user is None:
                if request.method == "GET" and "hx-request" not in request.headers:
                    return RedirectResponse(f"/login?next={_next(request)}", status_code=303)
                return PlainTextResponse("log in first", status_code=401)
            if request.method == "POST" and not await csrf_ok(request):
                return PlainTextResponse("the form has expired; reload the page", status_code=403)
            request.state.user = user
            return await handler(request)

        return guarded


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use; every form sends it back as `csrf`."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


async def read_form(request: Request) -> dict[str, str]:
    """A urlencoded form's fields (the first value of each), read once per request; {} for any other
    body or one too large."""
    if hasattr(request.state, "form"):
        cached: dict[str, str] = request.state.form
        return cached
    fields: dict[str, str] = {}
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > FORM_LIMIT:
                body = b""
                break
        parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        fields = {key: values[0] for key, values in parsed.items()}
    request.state.form = fields
    return fields


async def csrf_ok(request: Request) -> bool:
    sent = (await read_form(request)).get("csrf", "") or request.headers.get("x-csrf-token", "")
    expected = request.session.get("csrf")
    return isinstance(expected, str) and bool(sent) and hmac.compare_digest(sent, expected)


def log_in(request: Request, name: str) -> None:
    """A fresh session for `name`: the old one's values (and CSRF token) are dropped."""
    request.session.clear()
    request.session.update({"user": name, "since": int(time.time()), "csrf": secrets.token_urlsafe(24)})


def trusted(request: Request, proxies: Collection[str]) -> bool:
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    for proxy in proxies:
        try:
            if address in ipaddress.ip_network(proxy, strict=False):
                return True
        except ValueError:
            continue
    return False


def safe_next(target: str) -> str:
    """Where to go after logging in: a path of this site only, never another site."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _next(request: Request) -> str:
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return quote(path, safe="")
