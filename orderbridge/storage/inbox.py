"""The inbox: raw pushed events as received, written before they are acknowledged, then processed.

States: pending (stored, not processed yet), processed, failed (processing raised; the error is kept
and `replay` tries again), rejected (a correctly signed body that could not be read; answered 400)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from orderbridge.storage.sql import chunks
from orderbridge.storage.tables import inbox

PENDING, PROCESSED, FAILED, REJECTED = "pending", "processed", "failed", "rejected"
STATES = (PENDING, PROCESSED, FAILED, REJECTED)


@dataclass(frozen=True)
class InboxEvent:
    id: int
    system: str
    dedupe_key: str
    received_at: datetime
    headers: dict[str, Any]
    body: str
    state: str
    error: str | None
    processed_at: datetime | None


_INSERT = {
    name: dialect.insert(inbox).on_conflict_do_nothing(index_elements=["system", "dedupe_key"])
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


def insert_many(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[bool]:
    """Store events; for each, whether it is new (False: its (system, dedupe_key) is stored already, or
    came earlier in `rows`: a replay). A few statements whatever the number of rows."""
    known: set[tuple[str, str]] = set()
    by_system: dict[str, list[str]] = {}
    for row in rows:
        by_system.setdefault(row["system"], []).append(row["dedupe_key"])
    for system, keys in by_system.items():
        for chunk in chunks(sorted(set(keys))):
            query = select(inbox.c.dedupe_key).where(inbox.c.system == system, inbox.c.dedupe_key.in_(chunk))
            known.update((system, key) for key in conn.execute(query).scalars())
    new: list[bool] = []
    fresh: list[dict[str, Any]] = []
    for row in rows:
        key = (row["system"], row["dedupe_key"])
        new.append(key not in known)
        if key not in known:
            known.add(key)
            fresh.append(row)
    if fresh:
        # ON CONFLICT DO NOTHING still: another process may have stored the same delivery meanwhile.
        conn.execute(_INSERT["postgresql" if conn.dialect.name == "postgresql" else "sqlite"], fresh)
    return new


def claim_pending(conn: Connection, limit: int, systems: Iterable[str] | None = None) -> list[InboxEvent]:
    """The oldest pending events, locked for this transaction (other processes skip them)."""
    query = select(inbox).where(inbox.c.state == PENDING).order_by(inbox.c.id).limit(limit)
    if systems is not None:
        query = query.where(inbox.c.system.in_(list(systems)))
    return [_event(r) for r in conn.execute(query.with_for_update(skip_locked=True)).mappings()]


def mark(
    conn: Connection, event_ids: Sequence[int], state: str, now: datetime, error: str | None = None
) -> None:
    for chunk in chunks(list(event_ids)):
        conn.execute(
            update(inbox)
            .where(inbox.c.id.in_(chunk))
            .values(state=state, error=error, processed_at=now if state in (PROCESSED, FAILED) else None)
        )


def listing(
    conn: Connection,
    *,
    state: str | None = None,
    system: str | None = None,
    since: datetime | None = None,
    ids: Sequence[int] | None = None,
    limit: int | None = None,
) -> list[InboxEvent]:
    query = select(inbox).order_by(inbox.c.id)
    if state is not None:
        query = query.where(inbox.c.state == state)
    if system is not None:
        query = query.where(inbox.c.system == system)
    if since is not None:
        query = query.where(inbox.c.received_at >= since)
    if ids is not None:
        query = query.where(inbox.c.id.in_(list(ids)))
    if limit is not None:
        query = query.limit(limit)
    return [_event(r) for r in conn.execute(query).mappings()]


def requeue(conn: Connection, event_ids: Sequence[int]) -> None:
    """Make events pending again (replay): processed, failed and rejected ones alike."""
    for chunk in chunks(list(event_ids)):
        conn.execute(
            update(inbox).where(inbox.c.id.in_(chunk)).values(state=PENDING, error=None, processed_at=None)
        )


def prune(conn: Connection, received_before: datetime) -> int:
    """Deletes processed and rejected events received before the cutoff; pending and failed ones stay
    until processed or replayed. Returns how many went."""
    done = (PROCESSED, REJECTED)
    query = delete(inbox).where(inbox.c.state.in_(done), inbox.c.received_at < received_before)
    return int(conn.execute(query).rowcount or 0)


def counts(conn: Connection) -> dict[str, int]:
    query = select(inbox.c.state, func.count()).group_by(inbox.c.state)
    return {state: int(count) for state, count in conn.execute(query)}


def _event(row: Any) -> InboxEvent:
    return InboxEvent(
        id=row["id"],
        system=row["system"],
        dedupe_key=row["dedupe_key"],
        received_at=row["received_at"],
        headers=dict(row["headers"]),
        body=row["body"],
        state=row["state"],
        error=row["error"],
        processed_at=row["processed_at"],
    )
