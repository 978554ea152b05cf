"""Discrepancy lifecycle: findings become discrepancies once past their grace; the same problem seen
again updates its discrepancy; age escalates it; a problem no longer seen resolves it; a person may
acknowledge or snooze it. Every transition is an event."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from orderbridge.reconciler.rules.records import ORPHAN
from orderbridge.reconciler.settings import ReconcileSettings
from orderbridge.reconciler.types import Finding
from orderbridge.storage import discrepancies as repo
from orderbridge.storage.discrepancies import ACKNOWLEDGED, OPEN, RESOLVED, SNOOZED, Discrepancy
from orderbridge.storage.queue import ORPHANS, enqueue

AGREE = "the systems agree again"


@dataclass(frozen=True, slots=True)  # a pass keeps every change it made: as small as they go
class Change:
    kind: str  # opened, reopened, updated, escalated, snooze_ended, resolved
    id: int
    order_key: str
    rule: str
    dimension: str | None
    systems: tuple[str, ...]
    severity: str
    summary: str


@dataclass
class Settled:
    changes: list[Change]
    wakes: dict[str, datetime]  # order key -> earliest time it must be looked at again


def settle(
    conn: Connection,
    findings: dict[str, list[Finding]],
    active: Iterable[Discrepancy],
    settings: ReconcileSettings,
    now: datetime,
    resolution: str | Callable[[Discrepancy], str] = AGREE,
    *,
    known: Mapping[str, Discrepancy] | None = None,
) -> Settled:
    """Reconcile stored discrepancies with what the rules see now, for the orders in `findings`
    (keys with an empty list had no problem). `active` are the stored unresolved discrepancies of
    that same scope that the findings speak for: each one not seen again is resolved, with
    `resolution` (or what it says for that discrepancy). `known`: the stored discrepancies of these
    orders by fingerprint, when the caller has them (else they are looked up). What changed is written
    in bulk at the end."""
    changes: list[Change] = []
    wakes: dict[str, datetime] = {}
    writes = repo.Writes()
    opened: list[tuple[int, int]] = []  # (position in changes, number of the new row)

    def wake(key: str, at: datetime) -> None:
        if key not in wakes or at < wakes[key]:
            wakes[key] = at

    keyed = {
        repo.fingerprint(key, f.rule, f.dimension.value if f.dimension else None, f.systems): (key, f)
        for key, found in findings.items()
        for f in found
    }
    if known is None:
        known = repo.by_fingerprints(conn, list(keyed))
    for fp, (key, finding) in keyed.items():
        existing = known.get(fp)
        if existing is not None and existing.status != RESOLVED:
            changes.extend(_keep(writes, existing, finding, settings, now, wake))
            continue
        grace = timedelta(0) if finding.grace_exempt else settings.grace_for(finding.rule, finding.systems)
        if now < finding.since + grace:
            wake(key, finding.since + grace)
            continue
        if existing is not None:
            changes.append(_reopen(writes, existing, finding, now))
        else:
            opened.append((len(changes), _open(writes, fp, key, finding, now)))
            changes.append(
                _change(
                    "opened",
                    -1,
                    key,
                    finding.rule,
                    _dimension(finding),
                    finding.systems,
                    finding.severity,
                    finding.summary,
                )
            )
        if settings.escalation:
            wake(key, now + min(settings.escalation))
    for stale in active:
        if stale.fingerprint not in keyed:
            text = resolution if isinstance(resolution, str) else resolution(stale)
            # A snooze ends with the problem; the events keep that it was snoozed.
            values = {"status": RESOLVED, "resolved_at": now, "resolution": text, "snoozed_until": None}
            writes.change(stale.id, values)
            writes.event(stale.id, now, "resolved", {"resolution": text})
            changes.append(
                _change(
                    "resolved",
                    stale.id,
                    stale.order_key,
                    stale.rule,
                    stale.dimension,
                    stale.systems,
                    stale.severity,
                    stale.summary,
                )
            )
    ids = writes.flush(conn)
    for position, number in opened:
        changes[position] = replace(changes[position], id=ids[number])
    return Settled(changes, wakes)


def acknowledge(
    conn: Connection, discrepancy_id: int, by: str, note: str | None, now: datetime
) -> Discrepancy:
    found = _active(conn, discrepancy_id)
    repo.change(
        conn,
        found.id,
        {"status": ACKNOWLEDGED, "acknowledged_by": by, "acknowledged_at": now, "snoozed_until": None},
    )
    repo.add_event(conn, found.id, now, "acknowledged", {"note": note} if note else {}, actor=by)
    return found


def snooze(
    conn: Connection, discrepancy_id: int, until: datetime, by: str, note: str | None, now: datetime
) -> Discrepancy:
    found = _active(conn, discrepancy_id)
    if until <= now:
        raise ValueError("a snooze must end in the future")
    repo.change(conn, found.id, {"status": SNOOZED, "snoozed_until": until})
    details: dict[str, Any] = {"until": until.isoformat()}
    if note:
        details["note"] = note
    repo.add_event(conn, found.id, now, "snoozed", details, actor=by)
    # An orphan's "order key" names its record; the orphans are looked at together.
    enqueue(conn, [ORPHANS if found.rule == ORPHAN else found.order_key], until)
    return found


class LifecycleError(ValueError):
    pass


def _active(conn: Connection, discrepancy_id: int) -> Discrepancy:
    found = repo.get(conn, discrepancy_id)
    if found is None:
        raise LifecycleError(f"no discrepancy #{discrepancy_id}")
    if found.status == RESOLVED:
        raise LifecycleError(f"discrepancy #{discrepancy_id} is already resolved")
    return found


def _open(writes: repo.Writes, fp: str, key: str, finding: Finding, now: datetime) -> int:
    """The new discrepancy's number in `writes`."""
    values = {
        "fingerprint": fp,
        "order_key": key,
        "rule": finding.rule,
        "dimension": _dimension(finding),
        "systems": list(finding.systems),
        "severity": finding.severity,
        "status": OPEN,
        "tier": finding.tier,
        "escalation": 0,
        "summary": finding.summary,
        "details": finding.details,
        "since": finding.since,
        "opened_at": now,
        "last_seen_at": now,
    }
    number = writes.insert(values)
    writes.event(number, now, "opened", {"summary": finding.summary, "severity": finding.severity}, new=True)
    return number


def _dimension(finding: Finding) -> str | None:
    return finding.dimension.value if finding.dimension else None


def _reopen(writes: repo.Writes, existing: Discrepancy, finding: Finding, now: datetime) -> Change:
    writes.change(
        existing.id,
        {
            "status": OPEN,
            "resolved_at": None,
            "resolution": None,
            "acknowledged_by": None,
            "acknowledged_at": None,
            "snoozed_until": None,
            "severity": finding.severity,
            "tier": finding.tier,
            "escalation": 0,
            "summary": finding.summary,
            "details": finding.details,
            "since": finding.since,
            "opened_at": now,
            "last_seen_at": now,
        },
    )
    writes.event(existing.id, now, "reopened", {"summary": finding.summary})
    return _change(
        "reopened",
        existing.id,
        existing.order_key,
        finding.rule,
        existing.dimension,
        finding.systems,
        finding.severity,
        finding.summary,
    )


def _keep(
    writes: repo.Writes,
    existing: Discrepancy,
    finding: Finding,
    settings: ReconcileSettings,
    now: datetime,
    wake: Any,
) -> list[Change]:
    changes: list[Change] = []
    values: dict[str, Any] = {"last_seen_at": now, "details": finding.details}
    status = existing.status
    if status == SNOOZED and existing.snoozed_until is not None:
        if existing.snoozed_until <= now:
            status = OPEN
            values.update(status=OPEN, snoozed_until=None)
            writes.event(existing.id, now, "snooze_ended")
            changes.append(
                _change(
                    "snooze_ended",
                    existing.id,
                    existing.order_key,
                    existing.rule,
                    existing.dimension,
                    existing.systems,
                    finding.severity,
                    finding.summary,
                )
            )
        else:
            wake(existing.order_key, existing.snoozed_until)
    altered = (finding.severity, finding.tier, finding.summary) != (
        existing.severity,
        existing.tier,
        existing.summary,
    )
    if altered:
        values.update(severity=finding.severity, tier=finding.tier, summary=finding.summary)
        writes.event(
            existing.id,
            now,
            "updated",
            {
                "summary": finding.summary,
                "severity": finding.severity,
                "tier": finding.tier,
            },
        )
        changes.append(
            _change(
                "updated",
                existing.id,
                existing.order_key,
                existing.rule,
                existing.dimension,
                existing.systems,
                finding.severity,
                finding.summary,
            )
        )
    age = now - existing.opened_at
    tiers = sorted(settings.escalation)
    escalation = sum(1 for limit in tiers if age >= limit)
    if status == OPEN and escalation > existing.escalation:
        values["escalation"] = escalation
        writes.event(existing.id, now, "escalated", {"tier": escalation, "age_hours": _hours(age)})
        changes.append(
            _change(
                "escalated",
                existing.id,
                existing.order_key,
                existing.rule,
                existing.dimension,
                existing.systems,
                finding.severity,
                finding.summary,
            )
        )
    following = [limit for limit in tiers if age < limit]
    if following and status == OPEN:
        wake(existing.order_key, existing.opened_at + following[0])
    writes.change(existing.id, values)
    return changes


def _change(
    kind: str,
    id_: int,
    key: str,
    rule: str,
    dimension: str | None,
    systems: Iterable[str],
    severity: str,
    summary: str,
) -> Change:
    return Change(kind, id_, key, rule, dimension, tuple(systems), severity, summary)


def _hours(age: timedelta) -> float:
    return round(age.total_seconds() / 3600, 1)
