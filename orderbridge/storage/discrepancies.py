"""Discrepancies and their lifecycle events. Nothing is deleted: the events answer "when did we
first know, and who was told"."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, func, select, update

from orderbridge.storage.sql import chunks
from orderbridge.storage.tables import discrepancies, discrepancy_events

OPEN, ACKNOWLEDGED, SNOOZED, RESOLVED = "open", "acknowledged", "snoozed", "resolved"
ACTIVE = (OPEN, ACKNOWLEDGED, SNOOZED)
SYSTEM_ACTOR = "orderbridge"


@dataclass
class Event:
    at: datetime
    kind: str
    actor: str
    details: dict[str, Any]


@dataclass
class Discrepancy:
    id: int
    fingerprint: str
    order_key: str
    rule: str
    dimension: str | None
    systems: list[str]
    severity: str
    status: str
    tier: int
    escalation: int
    summary: str
    details: dict[str, Any]
    since: datetime
    opened_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    snoozed_until: datetime | None
    events: list[Event] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "order_key": self.order_key,
            "rule": self.rule,
            "dimension": self.dimension,
            "systems": self.systems,
            "severity": self.severity,
            "status": self.status,
            "tier": self.tier,
            "escalation": self.escalation,
            "summary": self.summary,
            "since": _iso(self.since),
            "opened_at": _iso(self.opened_at),
            "last_seen_at": _iso(self.last_seen_at),
            "resolved_at": _iso(self.resolved_at),
            "resolution": self.resolution,
            "acknowledged_by": self.acknowledged_by,
            "snoozed_until": _iso(self.snoozed_until),
            "details": self.details,
        }


def fingerprint(order_key: str, rule: str, dimension: str | None, systems: Sequence[str]) -> str:
    identity = "\x1f".join([order_key, rule, dimension or "", *sorted(systems)])
    return hashlib.sha256(identity.encode()).hexdigest()


def by_fingerprints(conn: Connection, fingerprints: Sequence[str]) -> dict[str, Discrepancy]:
    found: dict[str, Discrepancy] = {}
    for chunk in chunks(sorted(set(fingerprints))):
        query = select(discrepancies).where(discrepancies.c.fingerprint.in_(chunk))
        for row in conn.execute(query).mappings():
            found[row["fingerprint"]] = _discrepancy(row)
    return found


def active_for(conn: Connection, order_keys: Sequence[str], rule: str | None = None) -> list[Discrepancy]:
    out: list[Discrepancy] = []
    for chunk in chunks(sorted(set(order_keys))):
        query = select(discrepancies).where(
            discrepancies.c.order_key.in_(chunk), discrepancies.c.status.in_(ACTIVE)
        )
        # Without statistics (SQLite's are never gathered) the planner picks the status index and
        # reads every open discrepancy of the store for each chunk; the order key finds a few.
        query = query.with_hint(discrepancies, "INDEXED BY ix_discrepancies_order_key", "sqlite")
        if rule is not None:
            query = query.where(discrepancies.c.rule == rule)
        out.extend(_discrepancy(r) for r in conn.execute(query).mappings())
    return out


def active_by_rule(conn: Connection, rule: str) -> list[Discrepancy]:
    query = select(discrepancies).where(discrepancies.c.rule == rule, discrepancies.c.status.in_(ACTIVE))
    return [_discrepancy(r) for r in conn.execute(query).mappings()]


def change(conn: Connection, discrepancy_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(discrepancies).where(discrepancies.c.id == discrepancy_id).values(**values))


def add_event(
    conn: Connection,
    discrepancy_id: int,
    at: datetime,
    kind: str,
    details: dict[str, Any] | None = None,
    actor: str = SYSTEM_ACTOR,
) -> None:
    conn.execute(
        discrepancy_events.insert().values(
            discrepancy_id=discrepancy_id, at=at, kind=kind, actor=actor, details=details or {}
        )
    )


class Writes:
    """The discrepancy writes of one pass over a chunk of orders, made in bulk by `flush`: new rows in one
    statement (their ids come back in order), changed rows in one statement per set of changed columns,
    events in one. A new row is referred to by the number `insert` returns until it has an id."""

    def __init__(self) -> None:
        self.new: list[dict[str, Any]] = []
        self.changed: dict[int, dict[str, Any]] = {}
        self.events: list[tuple[int, bool, dict[str, Any]]] = []  # (id or new row's number, is new, event)

    def insert(self, values: dict[str, Any]) -> int:
        self.new.append(values)
        return len(self.new) - 1

    def change(self, discrepancy_id: int, values: dict[str, Any]) -> None:
        self.changed.setdefault(discrepancy_id, {}).update(values)

    def event(
        self,
        target: int,
        at: datetime,
        kind: str,
        details: dict[str, Any] | None = None,
        *,
        new: bool = False,
        actor: str = SYSTEM_ACTOR,
    ) -> None:
        self.events.append((target, new, {"at": at, "kind": kind, "actor": actor, "details": details or {}}))

    def flush(self, conn: Connection) -> list[int]:
        """Write everything; the ids of the new rows, in the order they were inserted."""
        ids: list[int] = []
        if self.new:
            stmt = discrepancies.insert().returning(discrepancies.c.id, sort_by_parameter_order=True)
            ids = [int(found) for found in conn.execute(stmt, self.new).scalars()]
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for discrepancy_id, values in self.changed.items():
            groups.setdefault(tuple(sorted(values)), []).append({"changed_id": discrepancy_id, **values})
        for rows in groups.values():
            conn.execute(update(discrepancies).where(discrepancies.c.id == bindparam("changed_id")), rows)
        if self.events:
            rows = [
                {"discrepancy_id": ids[target] if new else target, **event}
                for target, new, event in self.events
            ]
            conn.execute(discrepancy_events.insert(), rows)
        self.new, self.changed, self.events = [], {}, []
        return ids


def for_orders(conn: Connection, order_keys: Sequence[str]) -> dict[str, Discrepancy]:
    """Every discrepancy of these orders, resolved ones included, by fingerprint (one statement)."""
    if not order_keys:
        return {}
    query = select(discrepancies).where(discrepancies.c.order_key.in_(sorted(set(order_keys))))
    return {row["fingerprint"]: _discrepancy(row) for row in conn.execute(query).mappings()}


def get(conn: Connection, discrepancy_id: int) -> Discrepancy | None:
    row = conn.execute(select(discrepancies).where(discrepancies.c.id == discrepancy_id)).mappings().first()
    if row is None:
        return None
    found = _discrepancy(row)
    query = (
        select(discrepancy_events)
        .where(discrepancy_events.c.discrepancy_id == discrepancy_id)
        .order_by(discrepancy_events.c.id)
    )
    found.events = [Event(r.at, r.kind, r.actor, r.details) for r in conn.execute(query)]
    return found


def listing(
    conn: Connection, status: str = "open", rule: str | None = None, order_key: str | None = None
) -> list[Discrepancy]:
    """status: open (everything not resolved: open, acknowledged, snoozed), resolved, or all."""
    query = select(discrepancies).order_by(discrepancies.c.opened_at, discrepancies.c.id)
    if status == "open":
        query = query.where(discrepancies.c.status.in_(ACTIVE))
    elif status != "all":
        query = query.where(discrepancies.c.status == status)
    if rule is not None:
        query = query.where(discrepancies.c.rule == rule)
    if order_key is not None:
        query = query.where(discrepancies.c.order_key == order_key)
    return [_discrepancy(r) for r in conn.execute(query).mappings()]


def open_counts(conn: Connection) -> dict[tuple[str, str], int]:
    query = (
        select(discrepancies.c.rule, discrepancies.c.severity, func.count())
        .where(discrepancies.c.status.in_(ACTIVE))
        .group_by(discrepancies.c.rule, discrepancies.c.severity)
    )
    return {(rule, severity): count for rule, severity, count in conn.execute(query)}


def _discrepancy(row: RowMapping) -> Discrepancy:
    return Discrepancy(
        id=row["id"],
        fingerprint=row["fingerprint"],
        order_key=row["order_key"],
        rule=row["rule"],
        dimension=row["dimension"],
        systems=list(row["systems"]),
        severity=row["severity"],
        status=row["status"],
        tier=row["tier"],
        escalation=row["escalation"],
        summary=row["summary"],
        details=dict(row["details"]),
        since=row["since"],
        opened_at=row["opened_at"],
        last_seen_at=row["last_seen_at"],
        resolved_at=row["resolved_at"],
        resolution=row["resolution"],
        acknowledged_by=row["acknowledged_by"],
        acknowledged_at=row["acknowledged_at"],
        snoozed_until=row["snoozed_until"],
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def resolved_since(conn: Connection, since: datetime) -> list[Discrepancy]:
    query = select(discrepancies).where(
        discrepancies.c.status == RESOLVED, discrepancies.c.resolved_at > since
    )
    return [_discrepancy(r) for r in conn.execute(query).mappings()]
