"""Notifications as the daemon and the CLI use them: the channels built from the settings, the
reconcile pass's observer that queues announcements, report scheduling (cron in each report's time
zone), the sender job, source-health announcements, and what /readyz and /metrics show of it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from orderbridge.notify.alerts import Alerting
from orderbridge.notify.channels.base import Channel
from orderbridge.notify.channels.registry import build_channel
from orderbridge.notify.mail import SmtpSettings
from orderbridge.notify.report import queue_report
from orderbridge.notify.sender import Sender, SendResult
from orderbridge.notify.settings import AlertSettings, ReportSettings, cron_trigger
from orderbridge.reconciler.settings import ReconcileSettings
from orderbridge.storage import health
from orderbridge.storage.db import Store
from orderbridge.storage.health import Change, SystemHealth

log = structlog.get_logger("orderbridge.notify")
SEND_EVERY = timedelta(seconds=10)


class Notifier:
    def __init__(
        self,
        store: Store,
        smtp: SmtpSettings | None,
        reports: Mapping[str, ReportSettings],
        alerts: AlertSettings,
        reconcile: ReconcileSettings,
    ) -> None:
        self.store = store
        self.smtp = smtp
        self.reports = dict(reports)
        self.alerts = alerts
        self.reconcile = reconcile
        self.channels: dict[str, Channel] = {
            name: build_channel(name, settings, smtp) for name, settings in alerts.channels.items()
        }
        self.alerting = Alerting(alerts)
        self.sent = Counter(
            "orderbridge_notifications_sent", "Messages delivered", ["channel"], registry=None
        )
        self.failures = Counter(
            "orderbridge_notification_failures", "Delivery attempts that failed", ["channel"], registry=None
        )
        self.sender = Sender(store, self.channels, smtp, alerts.language, self._observe, tuple(self.reports))

    @property
    def observer(self) -> Alerting | None:
        """For the Reconciler: None when no alert rule could announce a discrepancy."""
        return self.alerting if self.alerting.rules else None

    def queue_report(self, name: str, now: datetime | None = None, slot: str | None = None) -> int | None:
        now = now or datetime.now(UTC)
        slot = slot or now.replace(second=0, microsecond=0).isoformat()
        with self.store.begin() as conn:
            found = queue_report(conn, name, self.reports[name], self.reconcile, self.smtp, now, slot)
        log.info(
            "report queued" if found else "report already queued", report=name, slot=slot, outbox_id=found
        )
        return found

    def send(self, now: datetime | None = None, only: int | None = None) -> SendResult:
        return self.sender.run(now, only)

    def schedule(self, scheduler: Any) -> None:
        """Report cron jobs and the sender on an APScheduler scheduler."""
        for name, settings in self.reports.items():
            scheduler.add_job(
                self._scheduled_report,
                cron_trigger(settings.cron, settings.zone),
                args=[name],
                id=f"report:{name}",
            )
        if self.reports or self.channels:
            scheduler.add_job(
                self._send_job,
                "interval",
                id="outbox",
                seconds=SEND_EVERY.total_seconds(),
                next_run_time=datetime.now(UTC) + timedelta(seconds=2),
            )

    def source_polled(
        self, before: SystemHealth, after: SystemHealth, change: Change | None, now: datetime
    ) -> bool:
        """Saves a source's health after a poll and, when it turned unhealthy or recovered, announces
        that to the `source: unhealthy` alert rules' channels in the same transaction: once per
        episode, also across restarts. False when the store refused (it may be what is down)."""
        try:
            with self.store.begin() as conn:
                health.save(conn, after, now)
                if change is not None:
                    episode = before if change == "recovered" else after
                    assert episode.unhealthy_since is not None
                    self.alerting.source_changed(
                        conn,
                        after.system,
                        healthy=change == "recovered",
                        failures=episode.failures,
                        error=episode.last_error,
                        since=episode.unhealthy_since,
                        now=now,
                    )
        except Exception:
            log.exception("cannot save the source's health", system=after.system, change=change)
            return False
        if change is not None:
            log.warning("source " + change, system=after.system, failures=after.failures or before.failures)
        return True

    def health(self) -> dict[str, dict[str, Any]]:
        try:
            return self.sender.health()
        except Exception:
            return {}

    def register_metrics(self, registry: CollectorRegistry) -> None:
        registry.register(self.sent)
        registry.register(self.failures)
        registry.register(_ChannelCollector(self))

    def _observe(self, channel: str, delivered: bool) -> None:
        (self.sent if delivered else self.failures).labels(channel).inc()

    def _scheduled_report(self, name: str) -> None:
        try:
            self.queue_report(name)
        except Exception:
            log.exception("report failed", report=name)

    def _send_job(self) -> None:
        try:
            self.sender.run()
        except Exception:
            log.exception("outbox delivery round failed")


class _ChannelCollector(Collector):
    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pending = GaugeMetricFamily(
            "orderbridge_outbox_pending", "Messages waiting in the outbox", labels=["channel"]
        )
        healthy = GaugeMetricFamily(
            "orderbridge_channel_healthy",
            "1 unless the channel's oldest message keeps failing",
            labels=["channel"],
        )
        for name, entry in sorted(self.notifier.health().items()):
            pending.add_metric([name], entry["pending"])
            healthy.add_metric([name], 1 if entry["healthy"] else 0)
        yield pending
        yield healthy
