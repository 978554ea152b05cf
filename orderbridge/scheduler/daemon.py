"""The daemon: one process running each system's poll and the reconcile pass on APScheduler, beside
the HTTP app on uvicorn. SIGTERM finishes the current batch, commits it, and exits."""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

import structlog
import uvicorn
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from orderbridge.config.loader import LoadedConfig
from orderbridge.connectors import registry
from orderbridge.connectors.base import ConnectorContext, SourceError
from orderbridge.notify.service import Notifier
from orderbridge.reconciler.engine import Reconciler
from orderbridge.scheduler import logs
from orderbridge.scheduler.http import Metrics, create_app, web_pages
from orderbridge.scheduler.sync import SyncError, sync_system
from orderbridge.scheduler.webhooks import Webhooks
from orderbridge.storage.db import Store

log = structlog.get_logger("orderbridge.daemon")
MAX_BACKOFF = timedelta(hours=1)
# Failed polls in a row before alerts announce a source as failing (one failure is often a blip);
# /readyz and /metrics show it unhealthy from the first.
UNHEALTHY_AFTER = 3


@dataclass
class Health:
    """A system's poll health: unhealthy from its first failed poll until one succeeds; each failure
    in a row doubles the wait before the next attempt."""

    failures: int = 0
    last_error: str | None = None
    last_success: datetime | None = None
    failing_since: datetime | None = None
    retry_at: datetime | None = None
    history: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.failures == 0

    @property
    def keeps_failing(self) -> bool:
        return self.failures >= UNHEALTHY_AFTER


class Daemon:
    def __init__(self, loaded: LoadedConfig, context: ConnectorContext | None = None) -> None:
        self.loaded = loaded
        self.config = loaded.config
        self.context = context or ConnectorContext(base_dir=loaded.base_dir)
        self.store = Store(self.config.store.url, loaded.base_dir)
        self.stop = threading.Event()
        self.metrics = Metrics()
        self.systems = {n: s for n, s in self.config.systems.items() if s.enabled}
        self.polled = {n: s for n, s in self.systems.items() if registry.polls(s)}  # push-only: not polled
        self.health = {name: Health() for name in self.polled}
        cfg, streams = self.config, self.config.streams()
        self.notifier = Notifier(self.store, cfg.smtp, cfg.reports, cfg.alerts, cfg.reconcile)
        self.reconciler = Reconciler(
            self.store,
            self.config.reconcile,
            tuple(streams),
            streams,
            observer=self.notifier.observer,
            zone=self.config.display.zone,
        )
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=max(2, len(self.polled) + 3))},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
            timezone=UTC,
        )
        self.metrics.watch_store(self.store, list(self.polled))
        self.notifier.register_metrics(self.metrics.registry)
        self._reconciling = threading.Lock()  # the scheduled pass and the one after webhook processing
        self.webhooks = Webhooks(self.store, self.systems, self.metrics, after_processing=self.reconcile)

    def schedule(self) -> None:
        now = datetime.now(UTC)
        for name, settings in self.polled.items():
            self.scheduler.add_job(
                self.poll,
                "interval",
                args=[name],
                id=f"poll:{name}",
                seconds=settings.poll.every.total_seconds(),
                next_run_time=now,
            )
        self.scheduler.add_job(
            self.reconcile,
            "interval",
            id="reconcile",
            seconds=self.config.reconcile.every.total_seconds(),
            next_run_time=now + timedelta(seconds=5),
        )
        self.notifier.schedule(self.scheduler)

    def poll(self, name: str) -> None:
        health = self.health[name]
        now = datetime.now(UTC)
        if self.stop.is_set() or (health.retry_at is not None and now < health.retry_at):
            return
        try:
            result = sync_system(self.store, name, self.polled[name], self.context, self.stop)
        except Exception as exc:
            health.failures += 1
            health.failing_since = health.failing_since or now
            known = isinstance(exc, SourceError | SyncError)
            health.last_error = str(exc) if known else f"{type(exc).__name__}: {exc}"
            every = self.polled[name].poll.every
            wait = min(every * (2 ** (health.failures - 1)), MAX_BACKOFF)
            asked = exc.retry_after if isinstance(exc, SourceError) else None
            if asked is not None:
                wait = max(wait, timedelta(seconds=asked))  # the source said how long; respect it
            health.retry_at = now + wait
            # The next attempt is at retry_at itself, not at the first interval tick after it.
            self._reschedule(f"poll:{name}", health.retry_at)
            self.metrics.poll_failed(name, health.failures)
            log.error(
                "poll failed",
                system=name,
                error=health.last_error,
                failures=health.failures,
                retry_at=health.retry_at.isoformat(),
                # An error of our own (not the source's) is a bug: where it happened, with its traceback.
                **({} if isinstance(exc, SourceError) else {"batch": getattr(exc, "batch", None)}),
                exc_info=not isinstance(exc, SourceError),
            )
            self.notifier.source_health(
                name, healthy=not health.keeps_failing, failures=health.failures, error=health.last_error
            )
            return
        if health.failures:
            log.info("system healthy again", system=name, failures=health.failures)
        health.failures, health.last_error, health.retry_at, health.failing_since = 0, None, None, None
        health.last_success = datetime.now(UTC)
        self.notifier.source_health(name, healthy=True, failures=0, error=None)
        self.metrics.poll_succeeded(name, result.records, result.quarantined)
        coverage = result.coverage
        if coverage.records:
            self.metrics.field_coverage(
                name, coverage.ratio(coverage.without_order), coverage.ratio(coverage.without_status)
            )

    def _reschedule(self, job_id: str, at: datetime) -> None:
        if self.scheduler.get_job(job_id) is not None:
            self.scheduler.modify_job(job_id, next_run_time=at)

    def reconcile(self) -> None:
        if self.stop.is_set():
            return
        try:
            with self._reconciling:
                self.reconciler.run()
            self.metrics.passes.inc()
        except Exception:
            log.exception("reconcile pass failed")

    def ready(self) -> dict[str, Any]:
        return {
            "store": self.store.ping(),
            "scheduler": bool(self.scheduler.running) and not self.stop.is_set(),
            "systems": {
                name: {
                    "healthy": h.healthy,
                    "failures": h.failures,
                    "last_error": logs.mask(h.last_error) if h.last_error else None,
                    "last_success": h.last_success.isoformat() if h.last_success else None,
                    "failing_since": h.failing_since.isoformat() if h.failing_since else None,
                    "retry_at": h.retry_at.isoformat() if h.retry_at else None,
                }
                for name, h in self.health.items()
            },
            "channels": self.notifier.health(),
        }

    def run(self) -> None:
        # While uvicorn serves, _Server sets the stop event the moment SIGTERM/SIGINT arrives; this
        # handler covers the moments before and after (uvicorn re-raises the signal once it stopped).
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        self.schedule()
        self.scheduler.start()
        self.webhooks.start()
        log.info(
            "orderbridge started",
            listen=self.config.server.listen,
            store=self.store.display_url,
            systems=list(self.systems),
        )
        try:
            server = _Server(
                self.stop,
                uvicorn.Config(
                    create_app(
                        self.store,
                        self.metrics,
                        self.ready,
                        systems=self.config.systems,
                        mounted=self.webhooks.routes(),
                        web=web_pages(self.config, self.store, self.ready),
                        https=self.config.server.secure_cookies,
                    ),
                    host=self.config.server.host,
                    port=self.config.server.port,
                    log_config=None,
                    access_log=False,
                    lifespan="off",
                ),
            )
            server.run()
        finally:
            self.shutdown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def shutdown(self) -> None:
        self.stop.set()
        self.webhooks.stop()  # every event acknowledged is on disk already; processing resumes on start
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.store.close()
        log.info("orderbridge stopped")

    def _on_signal(self, signum: int, _frame: Any) -> None:
        if not self.stop.is_set():
            log.info("stopping", signal=signal.Signals(signum).name)
            self.stop.set()


class _Server(uvicorn.Server):
    """uvicorn, telling the polls to stop the moment SIGTERM or SIGINT arrives: they finish the page
    in hand and commit it while the HTTP server shuts down, instead of reading on until it has."""

    def __init__(self, stop: threading.Event, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._stop = stop

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self._stop.is_set():
            log.info("stopping", signal=signal.Signals(sig).name)
            self._stop.set()
        super().handle_exit(sig, frame)
