"""Quarantined records: what could not be read, where it came from and why. The same bad record
read again (overlapping polls, an unchanged file re-read) is counted, not duplicated. An entry is
settled when its record is later read successfully, or when its file is read whole again without it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from orderbridge.storage.limits import storable_json, storable_key, storable_text
from orderbridge.storage.sql import chunks
from orderbridge.storage.tables import quarantine


@dataclass(frozen=True)
class QuarantinedRecord:
    id: int
    system: str
    location: str
    reason: str
    raw: Any
    first_seen_at: datetime
    last_seen_at: datetime
    times_seen: int
    resolved_at: datetime | None


def add(
    conn: Connection,
    system: str,
    location: str,
    reason: str,
    raw: Any,
    now: datetime,
    *,
    record_id: str | None = None,
    scope: str | None = None,
) -> None:
    # What could not be read may hold what no store keeps (NUL, lone surrogates, NaN): keep it storable.
    safe_raw = storable_json(raw)
    location, reason = storable_text(location), storable_text(reason)
    record_id, scope = storable_key(record_id), storable_key(scope)
    digest = hashlib.sha256(
        json.dumps([location, reason, safe_raw], sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    found = conn.execute(
        select(quarantine.c.id).where(quarantine.c.system == system, quarantine.c.fingerprint == digest)
    ).scalar()
    if found is None:
        conn.execute(
            quarantine.insert().values(
                system=system,
                fingerprint=digest,
                location=location,
                scope=scope,
                record_id=record_id,
                reason=reason,
                raw=safe_raw,
                first_seen_at=now,
                last_seen_at=now,
                times_seen=1,
            )
        )
    else:
        conn.execute(
            update(quarantine)
            .where(quarantine.c.id == found)
            .values(last_seen_at=now, times_seen=quarantine.c.times_seen + 1, resolved_at=None)
        )


def settle(
    conn: Connection, system: str, now: datetime, *, record_ids: Iterable[str] = (), scope: str | None = None
) -> int:
    """Mark open entries resolved: those of `record_ids` (read successfully now) and, when `scope` was
    read whole, those of that scope not seen again in this read. Returns how many."""
    settled = 0
    still_open = (
        quarantine.c.system == system,
        quarantine.c.resolved_at.is_(None),
        quarantine.c.last_seen_at < now,
    )
    # One bound list, not one bound value per id (a sync settles every record of every page it reads).
    of_records = (
        update(quarantine)
        .where(*still_open, quarantine.c.record_id.in_(bindparam("ids", expanding=True)))
        .values(resolved_at=now)
    )
    for chunk in chunks(sorted(set(record_ids))):
        settled += conn.execute(of_records, {"ids": chunk}).rowcount
    if scope is not None:
        settled += conn.execute(
            update(quarantine)
            .where(*still_open, quarantine.c.scope == storable_key(scope))
            .values(resolved_at=now)
        ).rowcount
    return settled


def listing(
    conn: Connection, system: str | None = None, include_resolved: bool = False
) -> list[QuarantinedRecord]:
    query = select(quarantine).order_by(quarantine.c.id)
    if system is not None:
        query = query.where(quarantine.c.system == system)
    if not include_resolved:
        query = query.where(quarantine.c.resolved_at.is_(None))
    return [
        QuarantinedRecord(
            id=r.id,
            system=r.system,
            location=r.location,
            reason=r.reason,
            raw=r.raw,
            first_seen_at=r.first_seen_at,
            last_seen_at=r.last_seen_at,
            times_seen=r.times_seen,
            resolved_at=r.resolved_at,
        )
        for r in conn.execute(query)
    ]


def resolve(conn: Connection, ids: list[int], now: datetime) -> None:
    if ids:
        conn.execute(update(quarantine).where(quarantine.c.id.in_(ids)).values(resolved_at=now))
