"""The web pages' routes and what wraps them (signed-cookie sessions): staff pages behind the login,
the customers' /track page and the static files outside it."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from sqlalchemy.engine import Engine
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from orderbridge.connectors import registry
from orderbridge.connectors.base import SystemSettings
from orderbridge.mapping.model import Dimension
from orderbridge.notify.i18n import format_datetime, label
from orderbridge.reconciler.lifecycle import LifecycleError, acknowledge, snooze
from orderbridge.reconciler.rules import RULE_NAMES
from orderbridge.reconciler.settings import ReconcileSettings
from orderbridge.storage import discrepancies
from orderbridge.storage.limits import usable_key
from orderbridge.storage.orders import find as find_order
from orderbridge.storage.orders import nearest
from orderbridge.web import board, pages, track
from orderbridge.web.access import Access, csrf_ok, log_in, read_form, safe_next, trusted
from orderbridge.web.render import Renderer, language
from orderbridge.web.settings import TrackSettings
from orderbridge.web.track import RateLimit

STATIC = Path(__file__).parent / "static"
SESSION_COOKIE = "orderbridge_session"
NOTE_LIMIT = 500  # characters of a note kept with an action
MAX_ID = 2**63 - 1  # the largest id a store holds; a larger one names no discrepancy
LOGIN_ATTEMPTS_PER_MINUTE = 10  # per client: enough for typing mistakes, too few for guessing


class Web:
    """The pages, reading and acting on the store."""

    def __init__(
        self,
        engine: Engine,
        access: Access,
        *,
        systems: Mapping[str, SystemSettings],
        reconcile: ReconcileSettings,
        zone: tzinfo,
        track: TrackSettings,
        secret: str | None = None,
        secure_cookies: bool = False,
        board_refresh: float = 30,
    ) -> None:
        self.engine = engine
        self.access = access
        self.systems = systems
        self.reconcile = reconcile
        self.zone = zone
        self.track = track
        self.secret = secret or secrets.token_urlsafe(32)
        self.secure_cookies = secure_cookies
        self.board_refresh = max(1, round(board_refresh))
        self.render = Renderer(zone)  # type: ignore[arg-type]
        self.rules = {name: settings.order_id for name, settings in systems.items()}
        self.limit = RateLimit(track.per_minute)
        self.login_limit = RateLimit(LOGIN_ATTEMPTS_PER_MINUTE)

    def middleware(self) -> list[Middleware]:
        return [
            Middleware(
                SessionMiddleware,
                secret_key=self.secret,
                session_cookie=SESSION_COOKIE,
                max_age=int(self.access.lifetime_seconds),
                same_site="strict",
                https_only=self.secure_cookies,
            )
        ]

    def routes(self) -> list[BaseRoute]:
        staff = self.access.staff
        return [
            Route("/", staff(self.board_page)),
            Route("/login", self.login, methods=["GET", "POST"]),
            Route("/logout", staff(self.logout), methods=["POST"]),
            Route("/discrepancies/{id:int}/ack", staff(self.ack), methods=["POST"]),
            Route("/discrepancies/{id:int}/snooze", staff(self.snooze), methods=["POST"]),
            Route("/orders", staff(self.search)),
            Route("/orders/{key:path}", staff(self.order)),
            Route("/stages", staff(self.stages)),
            Route("/systems", staff(self.sources)),
            Route("/track", self.track_page, methods=["GET", "POST"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]

    async def login(self, request: Request) -> Response:
        failed = False
        target = safe_next(request.query_params.get("next", "/"))
        if request.method == "POST":
            fields = await read_form(request)
            if not await csrf_ok(request):
                return self.render.page(request, "login.html.j2", {"failed": True, "next": target}, 403)
            if not self.login_limit.allow(self._client(request)):
                # Password guessing is slowed per client whatever the names tried; the right password
                # waits too, so the answer tells nothing.
                answer = self.render.page(request, "login.html.j2", {"limited": True, "next": target}, 429)
                answer.headers["Retry-After"] = "60"
                return answer
            name, password = fields.get("name", "").strip(), fields.get("password", "")
            if self.access.check_password(name, password):
                log_in(request, name)
                return RedirectResponse(safe_next(fields.get("next", "/")), status_code=303)
            failed = True
        return self.render.page(
            request, "login.html.j2", {"failed": failed, "next": target}, 401 if failed else 200
        )

    async def logout(self, request: Request) -> Response:
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    async def board_page(self, request: Request) -> Response:
        filters = board.Filters.read(request.query_params, list(self.systems))
        return self._board(request, filters, flash=request.session.pop("flash", None))

    def _board(self, request: Request, filters: board.Filters, flash: str | None = None) -> Response:
        with self.engine.connect() as conn:
            found = discrepancies.listing(conn, status="open")
        context = board.board(found, filters, datetime.now(UTC), language(request))
        context.update(
            flash=flash,
            refresh_seconds=self.board_refresh,
            systems=list(self.systems),
            rules=RULE_NAMES,
            ages=board.AGES,
            snoozes=board.SNOOZES,
            dimensions=[d.value for d in Dimension],
            severities=["critical", "warning", "info"],
        )
        fragment = "hx-request" in request.headers and "hx-boosted" not in request.headers
        return self.render.page(request, "_board.html.j2" if fragment else "board.html.j2", context)

    async def ack(self, request: Request) -> Response:
        return await self._act(request, "ack")

    async def snooze(self, request: Request) -> Response:
        return await self._act(request, "snooze")

    async def _act(self, request: Request, what: str) -> Response:
        fields = await read_form(request)
        user: str = request.state.user
        number = int(request.path_params["id"])
        note = fields.get("note", "").strip()[:NOTE_LIMIT] or None
        lang = language(request)
        now = datetime.now(UTC)
        try:
            if number > MAX_ID:
                raise LifecycleError(f"no discrepancy #{number}")
            with self.engine.begin() as conn:
                if what == "ack":
                    acknowledge(conn, number, user, note, now)
                    flash = label(lang, "done_ack", id=number, user=user)
                else:
                    length = board.snooze_length(fields.get("for", ""))
                    if length is None:
                        raise LifecycleError(f"snooze for one of {', '.join(board.SNOOZES)}")
                    snooze(conn, number, now + length, user, note, now)
                    until = format_datetime(now + length, lang, self.zone)  # type: ignore[arg-type]
                    flash = label(lang, "done_snooze", id=number, until=until)
        except (LifecycleError, ValueError) as exc:
            flash = label(lang, "action_failed", id=number, reason=str(exc))
        filters = board.Filters.read(_query(fields.get("back", "")), list(self.systems))
        if "hx-request" in request.headers:
            return self._board(request, filters, flash)
        request.session["flash"] = flash
        back = filters.query()
        return RedirectResponse("/" + (f"?{back}" if back else ""), status_code=303)

    async def search(self, request: Request) -> Response:
        """An order by any system's number: straight to it when one order has that number, else the
        orders it names or those with the closest numbers."""
        text = request.query_params.get("q", "").strip()
        with self.engine.connect() as conn:
            matches = find_order(conn, text, self.rules) if usable_key(text) else []
            if len(matches) == 1:
                target = "/orders/" + quote(matches[0].order_key, safe="") + "?" + urlencode({"q": text})
                return RedirectResponse(target, status_code=303)
            close = [m.order_key for m in matches] or (nearest(conn, text, self.rules) if text else [])
        context = {"q": text, "several": bool(matches), "candidates": close}
        return self.render.page(request, "search.html.j2", context, 200 if matches else 404)

    async def order(self, request: Request) -> Response:
        key = request.path_params["key"]
        with self.engine.connect() as conn:
            matches = find_order(conn, key, self.rules) if usable_key(key) else []
            if len(matches) != 1:
                return RedirectResponse("/orders?" + urlencode({"q": key}), status_code=303)
            context = pages.order_context(conn, matches[0].order_key)
        context["q"] = request.query_params.get("q", "")
        context["matched_by"] = matches[0].how
        return self.render.page(request, "order.html.j2", context)

    async def stages(self, request: Request) -> Response:
        with self.engine.connect() as conn:
            context = pages.stages_context(conn, self.reconcile, datetime.now(UTC), language(request))
        return self.render.page(request, "stages.html.j2", context)

    async def sources(self, request: Request) -> Response:
        polled = {name: registry.polls(settings) for name, settings in self.systems.items()}
        with self.engine.connect() as conn:
            context = pages.systems_context(conn, self.systems, polled, datetime.now(UTC))
        return self.render.page(request, "systems.html.j2", context)

    async def track_page(self, request: Request) -> Response:
        """The customers' page: the same answer for every failed look-up, a 429 past the rate limit,
        and a 404 (as if it did not exist) unless enabled."""
        if not self.track.enabled:
            return PlainTextResponse("Not Found", status_code=404)
        context: dict[str, Any] = {"track": self.track, "found": None, "failed": False, "limited": False}
        if request.method == "POST":
            fields = await read_form(request)
            context["number"] = fields.get("order", "")[:100]
            if not self.limit.allow(self._client(request)):
                context["limited"] = True
                return self.render.page(request, "track.html.j2", context, 429)
            authority = self.reconcile.authority.get(Dimension.fulfillment)
            with self.engine.connect() as conn:
                found = track.lookup(
                    conn, self.track, self.rules, authority, fields.get("order", ""), fields.get("factor", "")
                )
            context.update(found=found, failed=found is None)
        return self.render.page(request, "track.html.j2", context)

    def _client(self, request: Request) -> str:
        """The client the rate limit counts: the proxy's word for it when the proxy is trusted."""
        header = self.track.client_header
        if header and trusted(request, self.access.trusted_proxies):
            forwarded = request.headers.get(header, "").split(",")[0].strip()
            if forwarded:
                return forwarded
        return request.client.host if request.client else "unknown"


def _query(text: str) -> dict[str, str]:
    return dict(parse_qsl(text))
