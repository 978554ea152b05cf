"""What the order, stages and systems pages show, gathered from the store: an order's whole history
across systems, time in each stage (the numbers of `orderbridge stats`), and each source's health."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from orderbridge.connectors.base import SystemSettings
from orderbridge.mapping.model import HistoryEntry
from orderbridge.notify.i18n import Language, format_hours, format_share, label
from orderbridge.reconciler import stats
from orderbridge.reconciler.settings import ReconcileSettings
from orderbridge.reconciler.urgency import by_urgency
from orderbridge.storage import discrepancies, health, observations, quarantine
from orderbridge.storage.health import SystemHealth
from orderbridge.storage.tables import observations as observations_table
from orderbridge.web.charts import Bar, bar_chart


def order_context(conn: Connection, key: str) -> dict[str, Any]:
    """The order's timeline (time order, native and canonical side by side), its records no longer
    listed, and every discrepancy it had with its events."""
    entries: list[HistoryEntry] = observations.timeline(conn, key)
    found = by_urgency(discrepancies.listing(conn, status="all", order_key=key))
    with_events = [discrepancies.get(conn, d.id) or d for d in found]
    return {
        "key": key,
        "timeline": entries,
        "retired": observations.retired(conn, key),
        "discrepancies": with_events,
    }


def stages_context(
    conn: Connection, settings: ReconcileSettings, now: datetime, language: Language
) -> dict[str, Any]:
    numbers = stats.compute(conn, settings, now, days=30)
    timed = [s for s in numbers.stages if s.average_hours is not None]

    def name(stage: stats.StageStats) -> str:
        return f"{stage.dimension} · {stage.stage}"

    average = [
        Bar(name(s), s.average_hours or 0.0, format_hours(s.average_hours, language), s.sla_hours)
        for s in timed
    ]
    p90 = [Bar(name(s), s.p90_hours or 0.0, format_hours(s.p90_hours, language), s.sla_hours) for s in timed]
    within = [
        Bar(name(s), s.within_sla, format_share(s.within_sla))
        for s in numbers.stages
        if s.within_sla is not None
    ]
    waiting = [
        Bar(
            name(s),
            s.longest_waiting_hours or 0.0,
            f"{s.waiting_now} · {format_hours(s.longest_waiting_hours, language)}",
        )
        for s in numbers.stages
        if s.waiting_now
    ]
    return {
        "stats": numbers,
        "charts": [
            bar_chart(label(language, "average"), average),
            bar_chart(label(language, "p90"), p90, colour="#72b7b2"),
            bar_chart(label(language, "share_within_sla"), within, colour="#54a24b", top=1.0),
            bar_chart(label(language, "waiting_longest"), waiting, colour="#e45756"),
        ],
        "format_hours": lambda value: format_hours(value, language),
        "format_share": format_share,
    }


@dataclass
class SourceView:
    name: str
    type: str
    polled: bool
    health: SystemHealth
    records: int = 0
    last_observed: datetime | None = None
    lag: timedelta | None = None
    quarantined: list[quarantine.QuarantinedRecord] = field(default_factory=list)


def systems_context(
    conn: Connection, systems: Mapping[str, SystemSettings], polled: Mapping[str, bool], now: datetime
) -> dict[str, Any]:
    """Each configured system: its health as the store keeps it (failures in a row, last success and
    error, lag from its cursor), what the store holds of it (records, newest observation), and its
    quarantined records."""
    counts = observations.counts_by_system(conn)
    newest = dict(
        conn.execute(
            select(observations_table.c.system, func.max(observations_table.c.observed_at)).group_by(
                observations_table.c.system
            )
        ).all()
    )
    held = quarantine.listing(conn)
    views = []
    for found in health.listing(conn, list(systems)):
        seconds = found.lag(now)
        views.append(
            SourceView(
                name=found.system,
                type=systems[found.system].type,
                polled=polled.get(found.system, True),
                health=found,
                records=counts.get(found.system, 0),
                last_observed=newest.get(found.system),
                lag=timedelta(seconds=seconds) if seconds is not None else None,
                quarantined=[q for q in held if q.system == found.system],
            )
        )
    return {"sources": views}
