"""The daemon's HTTP app: liveness, readiness, Prometheus metrics and a small read API."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from orderbridge.storage import discrepancies, observations
from orderbridge.storage.db import Store


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
        self.last_success = Gauge(
            "orderbridge_last_successful_poll_timestamp_seconds",
            "When the last poll of a system succeeded",
            ["system"],
            registry=self.registry,
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
        self.last_success_at: dict[str, float] = {}

    def poll_succeeded(self, system: str, records: int, quarantined: int) -> None:
        now = datetime.now(UTC).timestamp()
        self.records.labels(system).inc(records)
        self.quarantined.labels(system).inc(quarantined)
        self.last_success.labels(system).set(now)
        self.last_success_at[system] = now

    def field_coverage(self, system: str, order: float, status: float) -> None:
        self.missing_fields.labels(system, "order").set(order)
        self.missing_fields.labels(system, "status").set(status)

    def watch_store(self, store: Store, systems: list[str]) -> None:
        self.registry.register(_StoreCollector(store, systems, self))


class _StoreCollector(Collector):
    def __init__(self, store: Store, systems: list[str], metrics: Metrics) -> None:
        self.store = store
        self.systems = systems
        self.metrics = metrics

    def collect(self) -> Iterator[GaugeMetricFamily]:
        open_ = GaugeMetricFamily(
            "orderbridge_open_discrepancies", "Unresolved discrepancies", labels=["rule", "severity"]
        )
        lag = GaugeMetricFamily(
            "orderbridge_connector_lag_seconds",
            "Seconds since the last successful poll of a system",
            labels=["system"],
        )
        try:
            with self.store.engine.connect() as conn:
                for (rule, severity), count in sorted(discrepancies.open_counts(conn).items()):
                    open_.add_metric([rule, severity], count)
        except Exception:  # a scrape must not fail because the store is down; /readyz says so
            pass
        now = datetime.now(UTC).timestamp()
        for system in self.systems:
            last = self.metrics.last_success_at.get(system)
            if last is not None:
                lag.add_metric([system], now - last)
        yield open_
        yield lag


def create_app(
    store: Store,
    metrics: Metrics,
    ready: Callable[[], dict[str, Any]],
    mounted: Sequence[BaseRoute] = (),
) -> Starlette:
    """The app; `mounted` routes of other areas (the webhook endpoint) are served beside the read API."""

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
        with store.engine.connect() as conn:
            found = discrepancies.listing(conn, status=status, rule=request.query_params.get("rule"))
        return JSONResponse([d.as_dict() for d in found])

    def order(request: Request) -> Response:
        key = request.path_params["key"]
        with store.engine.connect() as conn:
            entries = observations.timeline(conn, key)
            found = discrepancies.listing(conn, status="all", order_key=key)
        if not entries and not found:
            return JSONResponse({"error": f"no order {key}"}, status_code=404)
        return JSONResponse(
            {
                "order_key": key,
                "timeline": [timeline_item(e) for e in entries],
                "discrepancies": [d.as_dict() for d in found],
            }
        )

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            Route("/api/discrepancies", list_discrepancies),
            Route("/api/orders/{key:path}", order),
            *mounted,
        ]
    )


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
