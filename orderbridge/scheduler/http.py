"""The daemon's HTTP app: liveness, readiness, Prometheus metrics and a small read API."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from orderbridge.config.models import OrderbridgeConfig
from orderbridge.connectors.base import SystemSettings
from orderbridge.reconciler.rules import RULE_NAMES
from orderbridge.reconciler.urgency import by_urgency
from orderbridge.scheduler import http_guard
from orderbridge.scheduler.views import (
    discrepancy_item,
    order_item,
    parse_since,
    retired_item,
    status_names,
)
from orderbridge.storage import discrepancies, health, observations
from orderbridge.storage.db import Store
from orderbridge.storage.orders import find as find_order
from orderbridge.storage.orders import listing as order_listing
from orderbridge.storage.orders import nearest as nearest_orders
from orderbridge.web.access import Access
from orderbridge.web.app import Web
from orderbridge.web.headers import SecurityHeaders

ORDERS_LIMIT = 500  # orders an /api/orders answer holds unless `limit` says otherwise


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.records = Counter(
            "orderbridge_records_polled", "Records read from a source", ["system"], registry=self.registry
        )
        self.quarantined = Counter(
            "orderbridge_records_quarantined",
            "Records that could not be read",
            ["system"],
            registry=self.registry,
        )
        self.poll_errors = Counter(
            "orderbridge_poll_errors", "Polls that failed", ["system"], registry=self.registry
        )
        self.webhook_events = Counter(
            "orderbridge_webhook_events", "Webhook events received", ["system"], registry=self.registry
        )
        self.passes = Counter("orderbridge_reconcile_passes", "Reconcile passes run", registry=self.registry)
        self.missing_fields = Gauge(
            "orderbridge_last_poll_missing_ratio",
            "Share of the last poll's records lacking the order field (field=order) or every status "
            "field (field=status); above 0.5 the poll logged a warning",
            ["system", "field"],
            registry=self.registry,
        )

    def poll_succeeded(self, system: str, records: int, quarantined: int) -> None:
        self.records.labels(system).inc(records)
        self.quarantined.labels(system).inc(quarantined)

    def field_coverage(self, system: str, order: float, status: float) -> None:
        self.missing_fields.labels(system, "order").set(order)
        self.missing_fields.labels(system, "status").set(status)

    def watch_store(self, store: Store, systems: list[str]) -> None:
        self.registry.register(_StoreCollector(store, systems, self))


class _StoreCollector(Collector):
    """What the store knows, read at each scrape: open discrepancies, and each system's health."""

    def __init__(self, store: Store, systems: list[str], metrics: Metrics) -> None:
        self.store = store
        self.systems = systems
        self.metrics = metrics

    def collect(self) -> Iterator[GaugeMetricFamily]:
        def gauge(name: str, text: str, labels: Sequence[str] = ("system",)) -> GaugeMetricFamily:
            return GaugeMetricFamily(f"orderbridge_{name}", text, labels=list(labels))

        open_ = gauge("open_discrepancies", "Unresolved discrepancies", ["rule", "severity"])
        up = gauge("source_up", "1 when the last poll of a system succeeded, 0 from its first failed poll")
        healthy = gauge(
            "source_healthy",
            "0 once a system's failed polls in a row reached its unhealthy_after, until one succeeds",
        )
        failures = gauge("poll_consecutive_failures", "Failed polls of a system in a row (0 after a success)")
        success = gauge("last_successful_poll_timestamp_seconds", "When the last poll of a system succeeded")
        error = gauge("last_poll_error_timestamp_seconds", "When the last poll of a system failed")
        lag = gauge(
            "connector_lag_seconds",
            "Seconds from a system's cursor to now (a timestamp cursor's own time, else when the cursor "
            "was last saved)",
        )
        now = datetime.now(UTC)
        try:
            with self.store.engine.connect() as conn:
                for (rule, severity), count in sorted(discrepancies.open_counts(conn).items()):
                    open_.add_metric([rule, severity], count)
                found = health.listing(conn, self.systems)
        except Exception:  # a scrape must not fail because the store is down; /readyz says so
            found = []
        for h in found:
            if h.last_success_at is None and h.last_error_at is None:
                continue  # never polled yet: nothing to say
            up.add_metric([h.system], 1 if h.up else 0)
            healthy.add_metric([h.system], 1 if h.healthy else 0)
            failures.add_metric([h.system], h.failures)
            if h.last_success_at is not None:
                success.add_metric([h.system], h.last_success_at.timestamp())
            if h.last_error_at is not None:
                error.add_metric([h.system], h.last_error_at.timestamp())
            if (seconds := h.lag(now)) is not None:
                lag.add_metric([h.system], seconds)
        yield from (open_, up, healthy, failures, success, error, lag)


def create_app(
    store: Store,
    metrics: Metrics,
    ready: Callable[[], dict[str, Any]],
    *,
    systems: Mapping[str, SystemSettings] | None = None,
    mounted: Sequence[BaseRoute] = (),
    web: Web | None = None,
    https: bool = False,
) -> Starlette:
    """The app. `systems` (the configured ones) let /api/orders filter by system and find an order by
    any system's number; `mounted` routes of other areas (the webhook endpoint) are served beside the
    read API; `web` adds the web pages. Every answer carries the security headers (HSTS with `https`)."""
    systems = systems or {}
    rules = {name: settings.order_id for name, settings in systems.items()}

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(_: Request) -> Response:
        checks = ready()
        ok = all(v is True for v in checks.values() if isinstance(v, bool))
        return JSONResponse(
            {"status": "ready" if ok else "not ready", **checks}, status_code=200 if ok else 503
        )

    async def metrics_endpoint(_: Request) -> Response:
        return PlainTextResponse(
            generate_latest(metrics.registry).decode(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    def list_discrepancies(request: Request) -> Response:
        status = request.query_params.get("status", "open")
        if status not in ("open", "resolved", "all"):
            return JSONResponse({"error": "status must be open, resolved or all"}, status_code=400)
        rule = request.query_params.get("rule")
        if rule is not None and rule not in RULE_NAMES:
            return _unknown("rule", rule, RULE_NAMES)
        with store.engine.connect() as conn:
            found = by_urgency(discrepancies.listing(conn, status=status, rule=rule))
        return JSONResponse([discrepancy_item(d) for d in found])

    def list_orders(request: Request) -> Response:
        params = request.query_params
        system = params.get("system")
        if system is not None and system not in systems:
            return _unknown("system", system, list(systems))
        wanted = [s.strip() for value in params.getlist("status") for s in value.split(",") if s.strip()]
        accepted = status_names()
        for name in wanted:
            if name not in accepted:
                return _unknown("status", name, [n for n in accepted if "." not in n])
        try:
            since = parse_since(params["since"], UTC) if "since" in params else None
            limit = int(params.get("limit", ORDERS_LIMIT))
            if limit < 1:
                raise ValueError("limit must be 1 or more")
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        with store.engine.connect() as conn:
            found = order_listing(conn, system=system, statuses=wanted, since=since, limit=limit)
        return JSONResponse([order_item(view) for view in found])

    def order(request: Request) -> Response:
        text = request.path_params["key"]
        if (refused := http_guard.bad_key(text)) is not None:
            return refused
        with store.engine.connect() as conn:
            matches = find_order(conn, text, rules)
            if len(matches) != 1:
                close = [m.order_key for m in matches] or nearest_orders(conn, text, rules)
                what = "names several orders" if matches else "is no known order"
                return JSONResponse({"error": f"{text} {what}", "candidates": close}, status_code=404)
            key = matches[0].order_key
            entries = observations.timeline(conn, key)
            gone = observations.retired(conn, key)
            found = by_urgency(discrepancies.listing(conn, status="all", order_key=key))
        return JSONResponse(
            {
                "order_key": key,
                "matched_by": matches[0].how,
                "timeline": [timeline_item(e) for e in entries],
                "retired": [retired_item(row) for row in gone],
                "discrepancies": [discrepancy_item(d) for d in found],
            }
        )

    reader = web.access.reader if web is not None else _open
    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            Route("/api/discrepancies", reader(list_discrepancies)),
            Route("/api/orders", reader(list_orders)),
            Route("/api/orders/{key:path}", reader(order)),
            *mounted,
            *(web.routes() if web is not None else []),
        ],
        middleware=[
            Middleware(SecurityHeaders, https=https),
            *(web.middleware() if web is not None else []),
        ],
        exception_handlers=http_guard.HANDLERS,
    )


def web_pages(config: OrderbridgeConfig, store: Store) -> Web:
    """The web pages as the configuration's `server` section sets them up."""
    server = config.server
    access = Access(
        users=server.users,
        lifetime_seconds=server.session_lifetime.total_seconds(),
        user_header=server.user_header,
        trusted_proxies=server.trusted_proxies,
    )
    secret = server.session_secret.get_secret_value() if server.session_secret else None
    return Web(
        store.engine,
        access,
        systems=config.systems,
        reconcile=config.reconcile,
        zone=config.display.zone,
        track=server.track,
        secret=secret,
        secure_cookies=server.secure_cookies,
        board_refresh=server.board_refresh.total_seconds(),
    )


def _open(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
    return handler


def _unknown(kind: str, name: str, choices: Sequence[str]) -> Response:
    several = kind + ("es" if kind.endswith("s") else "s")
    return JSONResponse({"error": f"unknown {kind} {name!r}", several: list(choices)}, status_code=400)


def timeline_item(entry: Any) -> dict[str, Any]:
    return {
        "at": entry.at.isoformat(),
        "observed_at": entry.observed_at.isoformat(),
        "system": entry.system,
        "record_id": entry.record_id,
        "dimension": entry.dimension.value,
        "status": entry.status,
        "native": entry.native,
    }
