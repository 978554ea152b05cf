"""Quarantined records: what could not be read, where it came from and why. The same bad record
read again (overlapping polls, an unchanged file re-read) is counted, not duplicated."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

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


def add(conn: Connection, system: str, location: str, reason: str, raw: Any, now: datetime) -> None:
    safe_raw = json.loads(json.dumps(raw, default=str, ensure_ascii=False))
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
