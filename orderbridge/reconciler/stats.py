"""The numbers people ask for, from the status history and the discrepancy events: time spent in each
stage (average, 90th percentile, share within the SLA), where orders wait longest, and open
discrepancies by rule and system, now and day by day. The reports, `orderbridge stats` and (later)
web pages all compute them here.

An order's stay in a stage is read from one system per order and dimension: the dimension's
authority when it reported the order, else the system that reported that dimension most often. A
stay lasts from the first report of a status to the first report of a different one; the stay still
under way counts towards "waiting now", not towards the averages."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from orderbridge.mapping.model import (
    PROGRESS,
    UNMAPPED,
    BillingStatus,
    Dimension,
    FulfillmentStatus,
    ShipmentStatus,
)
from orderbridge.reconciler.rules.deadlines import sla_targets
from orderbridge.reconciler.settings import ReconcileSettings
from orderbridge.storage.discrepancies import ACTIVE
from orderbridge.storage.tables import discrepancies, discrepancy_events, status_history

# Where an order rests when it is done: a stay there is not waiting.
FINAL: frozenset[str] = frozenset(
    {
        FulfillmentStatus.delivered,
        FulfillmentStatus.cancelled,
        FulfillmentStatus.returned,
        FulfillmentStatus.closed,
        ShipmentStatus.delivered,
        ShipmentStatus.returned,
        ShipmentStatus.cancelled,
        ShipmentStatus.expired,
        BillingStatus.paid,
        BillingStatus.refunded,
        BillingStatus.voided,
    }
)


@dataclass
class StageStats:
    dimension: str
    stage: str
    orders: int  # completed stays
    average_hours: float | None
    p90_hours: float | None
    sla_hours: float | None  # the first SLA tier, when one is configured
    within_sla: float | None  # share (0..1) of stays that took no longer than the SLA
    waiting_now: int
    longest_waiting_hours: float | None


@dataclass
class DaySnapshot:
    date: str  # the day's date, in the zone asked for
    total: int
    by_rule: dict[str, int]
    by_system: dict[str, int]


@dataclass
class Stats:
    as_of: str
    since: str | None
    stages: list[StageStats] = field(default_factory=list)
    longest_wait: dict[str, Any] | None = None
    open_by_rule: dict[str, int] = field(default_factory=dict)
    open_by_system: dict[str, int] = field(default_factory=dict)
    open_by_day: list[DaySnapshot] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def compute(
    conn: Connection,
    settings: ReconcileSettings,
    now: datetime,
    *,
    since: datetime | None = None,
    days: int = 30,
    zone: ZoneInfo | None = None,
) -> Stats:
    stats = Stats(as_of=now.isoformat(), since=since.isoformat() if since else None)
    stats.stages = stage_stats(conn, settings, now, since)
    timed = [s for s in stats.stages if s.average_hours is not None]
    if timed:
        worst = max(timed, key=lambda s: (s.average_hours or 0.0, s.orders))
        stats.longest_wait = {
            "dimension": worst.dimension,
            "stage": worst.stage,
            "average_hours": worst.average_hours,
        }
    stats.open_by_rule, stats.open_by_system = open_now(conn)
    stats.open_by_day = open_by_day(conn, now, days, zone or ZoneInfo("UTC"))
    return stats


def stage_stats(
    conn: Connection, settings: ReconcileSettings, now: datetime, since: datetime | None = None
) -> list[StageStats]:
    durations: dict[tuple[str, str], list[timedelta]] = defaultdict(list)
    waiting: dict[tuple[str, str], list[timedelta]] = defaultdict(list)
    for dimension, stays in _stays(conn, settings):
        for index, (status, start) in enumerate(stays):
            if status == UNMAPPED or (since is not None and start < since):
                continue  # an unmapped word is no stage: the unmapped_status rule reports it
            if index + 1 < len(stays):
                durations[(dimension, status)].append(stays[index + 1][1] - start)
            elif status not in FINAL:
                waiting[(dimension, status)].append(now - start)
    slas: dict[tuple[str, str], timedelta] = {}
    for dimension, status, limits in sla_targets(settings):
        slas[(dimension.value, status)] = limits[0]
    order = {(d.value, s): (i, j) for i, d in enumerate(Dimension) for j, s in enumerate(PROGRESS[d])}
    keys = sorted(set(durations) | set(waiting) | set(slas), key=lambda k: (*order.get(k, (9, 99)), k))
    found = []
    for stage_key in keys:
        done = sorted(durations.get(stage_key, []))
        now_waiting = waiting.get(stage_key, [])
        sla = slas.get(stage_key)
        within = None
        if sla is not None:
            late_now = sum(1 for w in now_waiting if w > sla)
            judged = len(done) + late_now
            within = sum(1 for d in done if d <= sla) / judged if judged else None
        found.append(
            StageStats(
                dimension=stage_key[0],
                stage=stage_key[1],
                orders=len(done),
                average_hours=_hours(sum(done, timedelta(0)) / len(done)) if done else None,
                p90_hours=_hours(done[math.ceil(0.9 * len(done)) - 1]) if done else None,
                sla_hours=_hours(sla) if sla is not None else None,
                within_sla=round(within, 4) if within is not None else None,
                waiting_now=len(now_waiting),
                longest_waiting_hours=_hours(max(now_waiting)) if now_waiting else None,
            )
        )
    return found


def _stays(conn: Connection, settings: ReconcileSettings) -> Any:
    """(dimension, [(status, entered at), ...]) per order and dimension, oldest first."""
    h = status_history.c
    query = (
        select(h.order_key, h.system, h.record_id, h.dimension, h.status, h.status_at, h.observed_at)
        .where(h.order_key.is_not(None))
        .order_by(h.order_key, h.dimension, h.id)
    )
    current: tuple[str, str] | None = None
    entries: dict[tuple[str, str], list[tuple[str, datetime]]] = defaultdict(list)
    for row in conn.execute(query):
        key = (row.order_key, row.dimension)
        if key != current:
            if current is not None:
                yield current[1], _chosen(entries, settings, current[1])
            current, entries = key, defaultdict(list)
        entries[(row.system, row.record_id)].append((row.status, row.status_at or row.observed_at))
    if current is not None:
        yield current[1], _chosen(entries, settings, current[1])


def _chosen(
    entries: dict[tuple[str, str], list[tuple[str, datetime]]], settings: ReconcileSettings, dimension: str
) -> list[tuple[str, datetime]]:
    authority = settings.authority.get(Dimension(dimension))
    counts = Counter({source: len(found) for source, found in entries.items()})
    ranked = sorted(counts, key=lambda s: (s[0] != authority, -counts[s], s))
    history = sorted(entries[ranked[0]], key=lambda e: e[1])
    stays: list[tuple[str, datetime]] = []
    for status, at in history:
        if not stays or stays[-1][0] != status:
            stays.append((status, at))
    return stays


def open_now(conn: Connection) -> tuple[dict[str, int], dict[str, int]]:
    query = select(discrepancies.c.rule, discrepancies.c.systems).where(discrepancies.c.status.in_(ACTIVE))
    by_rule: Counter[str] = Counter()
    by_system: Counter[str] = Counter()
    for rule, systems in conn.execute(query):
        by_rule[rule] += 1
        by_system.update(systems)
    return dict(sorted(by_rule.items())), dict(sorted(by_system.items()))


def open_by_day(conn: Connection, now: datetime, days: int, zone: ZoneInfo) -> list[DaySnapshot]:
    """Discrepancies open at the end of each of the last `days` days (today: now), from the events."""
    e, d = discrepancy_events.c, discrepancies.c
    query = (
        select(e.discrepancy_id, e.at, e.kind, d.rule, d.systems)
        .join(discrepancies, discrepancies.c.id == e.discrepancy_id)
        .where(e.kind.in_(("opened", "reopened", "resolved")))
        .order_by(e.discrepancy_id, e.at, e.id)
    )
    spans: list[tuple[datetime, datetime | None, str, list[str]]] = []
    started: dict[int, datetime] = {}
    meta: dict[int, tuple[str, list[str]]] = {}
    for row in conn.execute(query):
        meta[row.discrepancy_id] = (row.rule, list(row.systems))
        if row.kind in ("opened", "reopened"):
            started.setdefault(row.discrepancy_id, row.at)
        elif row.discrepancy_id in started:
            spans.append((started.pop(row.discrepancy_id), row.at, *meta[row.discrepancy_id]))
    spans.extend((at, None, *meta[key]) for key, at in started.items())
    today = now.astimezone(zone).date()
    found = []
    for back in range(days - 1, -1, -1):
        day = today - timedelta(days=back)
        end = now if back == 0 else datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
        by_rule: Counter[str] = Counter()
        by_system: Counter[str] = Counter()
        for start, stop, rule, systems in spans:
            if start <= end and (stop is None or stop > end):
                by_rule[rule] += 1
                by_system.update(systems)
        found.append(
            DaySnapshot(
                date=day.isoformat(),
                total=sum(by_rule.values()),
                by_rule=dict(sorted(by_rule.items())),
                by_system=dict(sorted(by_system.items())),
            )
        )
    return found


def _hours(span: timedelta) -> float:
    return round(span.total_seconds() / 3600, 2)
