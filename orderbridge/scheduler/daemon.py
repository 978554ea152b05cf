"""The daemon: one process running each system's poll and the reconcile pass on APScheduler, beside
the HTTP app on uvicorn. SIGTERM finishes the current batch, commits it, and exits."""

from __future__ import annotations

import dataclasses
import signal
import threading
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
from orderbridge.storage import health, inbox
from orderbridge.storage.db import Store
from orderbridge.storage.health import Change, SystemHealth

log = structlog.get_logger("orderbridge.daemon")
MAX_BACKOFF = timedelta(hours=1)


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
        # Each polled system's health as saved (a restart neither forgets a failing source nor
        # announces it again); the daemon owns its systems' polls, so this copy is the current one.
        self.health = {h.system: h for h in health.for_all(self.store, self.polled)}
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
        self.scheduler.add_job(
            self.prune_inbox, "interval", id="prune-inbox", days=1, next_run_time=now + timedelta(minutes=1)
        )
        self.notifier.schedule(self.scheduler)

    def poll(self, name: str) -> None:
        before = self.health[name]
        now = datetime.now(UTC)
        if self.stop.is_set() or (before.retry_at is not None and now < before.retry_at):
            return
        try:
            result = sync_system(self.store, name, self.polled[name], self.context, self.stop)
        except Exception as exc:
            known = isinstance(exc, SourceError | SyncError)
            error = logs.mask(str(exc) if known else f"{type(exc).__name__}: {exc}")
            every = self.polled[name].poll.every
            wait = min(every * (2**before.failures), MAX_BACKOFF)  # doubles with each failure in a row
            asked = exc.retry_after if isinstance(exc, SourceError) else None
            if asked is not None:
                wait = max(wait, timedelta(seconds=asked))  # the source said how long; respect it
            after, change = health.failed(
                before, error, now, threshold=self.config.unhealthy_after(name), retry_at=now + wait
            )
            self._keep(before, after, change, now)
            # The next attempt is at retry_at itself, not at the first interval tick after it.
            self._reschedule(f"poll:{name}", now + wait)
            self.metrics.poll_errors.labels(name).inc()
            log.error(
                "poll failed",
                system=name,
                error=error,
                failures=after.failures,
                retry_at=(now + wait).isoformat(),
                # An error of our own (not the source's) is a bug: where it happened, with its traceback.
                **({} if isinstance(exc, SourceError) else {"batch": getattr(exc, "batch", None)}),
                exc_info=not isinstance(exc, SourceError),
            )
            return
        if before.failures:
            log.info("system healthy again", system=name, failures=before.failures)
        now = datetime.now(UTC)
        self._keep(before, *health.succeeded(before, now), now)
        self.metrics.poll_succeeded(name, result.records, result.quarantined)
        coverage = result.coverage
        if coverage.records:
            self.metrics.field_coverage(
                name, coverage.ratio(coverage.without_order), coverage.ratio(coverage.without_status)
            )

    def _keep(self, before: SystemHealth, after: SystemHealth, change: Change | None, now: datetime) -> None:
        """Saves a poll's outcome and announces a change of health with it; when the store refuses
        (it may be what is down), the change stays unmade here so the next outcome announces it."""
        if not self.notifier.source_polled(before, after, change, now) and change is not None:
            after = dataclasses.replace(after, unhealthy_since=before.unhealthy_since)
        self.health[after.system] = after

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

    def prune_inbox(self) -> int:
        """Deletes the webhook events processed or rejected longer ago than `store.keep_webhook_events`."""
        cutoff = datetime.now(UTC) - self.config.store.keep_webhook_events
        try:
            with self.store.begin() as conn:
                gone = inbox.prune(conn, cutoff)
        except Exception:
            log.exception("pruning the webhook inbox failed")
            return 0
        if gone:
            log.info("webhook inbox pruned", events=gone, received_before=cutoff.isoformat())
        return gone

    def ready(self) -> dict[str, Any]:
        """What /readyz answers. Its status is about this process (store reachable, scheduler running):
        an unhealthy source does not make it unready (webhooks are still received, the other systems
        polled, restarting would not help); `systems` shows each one's health."""
        now = datetime.now(UTC)
        return {
            "store": self.store.ping(),
            "scheduler": bool(self.scheduler.running) and not self.stop.is_set(),
            "systems": {name: h.as_dict(now) for name, h in self._health_now().items()},
            "channels": self.notifier.health(),
        }

    def _health_now(self) -> dict[str, SystemHealth]:
        """This process's health of each polled system, with the lag read from the saved cursors."""
        try:
            saved = {h.system: h for h in health.for_all(self.store, self.polled)}
        except Exception:  # the store is down: /readyz says so; the rest is what this process knows
            return dict(self.health)
        return {
            name: dataclasses.replace(h, cursor_at=saved[name].cursor_at, lag_basis=saved[name].lag_basis)
            for name, h in self.health.items()
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
                        web=web_pages(self.config, self.store),
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
