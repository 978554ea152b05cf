"""The reconcile queue: orders due for evaluation, now (they changed) or at a deadline."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, delete, select

from orderbridge.storage.sql import chunks
from orderbridge.storage.tables import reconcile_queue


def enqueue(conn: Connection, keys: Iterable[str], due_at: datetime) -> None:
    """Queue orders for evaluation at `due_at`, keeping an earlier due time if one is queued."""
    wanted = sorted(set(keys))
    for chunk in chunks(wanted):
        query = select(reconcile_queue.c.order_key, reconcile_queue.c.due_at).where(
            reconcile_queue.c.order_key.in_(chunk)
        )
        current = {key: at for key, at in conn.execute(query)}
        inserts = [{"order_key": k, "due_at": due_at} for k in chunk if k not in current]
        later = [k for k in chunk if k in current and current[k] > due_at]
        if inserts:
            conn.execute(reconcile_queue.insert(), inserts)
        if later:
            conn.execute(
                reconcile_queue.update().where(reconcile_queue.c.order_key.in_(later)).values(due_at=due_at)
            )


def due(conn: Connection, now: datetime, limit: int | None = None) -> list[str]:
    query = select(reconcile_queue.c.order_key).where(reconcile_queue.c.due_at <= now)
    query = query.order_by(reconcile_queue.c.due_at, reconcile_queue.c.order_key)
    if limit is not None:
        query = query.limit(limit)
    return list(conn.execute(query).scalars())


def done(conn: Connection, keys: Iterable[str], cutoff: datetime) -> None:
    """Remove evaluated orders, but not ones re-queued for a later time meanwhile."""
    for chunk in chunks(sorted(set(keys))):
        conn.execute(
            delete(reconcile_queue).where(
                reconcile_queue.c.order_key.in_(chunk), reconcile_queue.c.due_at <= cutoff
            )
        )


def pending(conn: Connection) -> int:
    from sqlalchemy import func

    return int(conn.execute(select(func.count()).select_from(reconcile_queue)).scalar_one())
