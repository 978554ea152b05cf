"""The reconcile queue: orders due for evaluation, now (they changed) or at a deadline.

Every write gives the row a fresh token. A pass claims the tokens of the orders it is about to load
and, once it has evaluated them, removes only rows whose token is still the one it claimed: a change
ingested meanwhile (another process, another connection) keeps its order queued for the next pass.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import Connection, bindparam, case, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from orderbridge.storage.bulk import Bulk
from orderbridge.storage.sql import chunks
from orderbridge.storage.tables import reconcile_queue as q

# Not an order: queued when records that link to no order appear, change or link, or when one of
# their deadlines comes; the pass then looks at the orphans. (A unit separator: no order key has one.)
ORPHANS = "\x1forphans"


def _token() -> str:
    """A fresh token: 128 random bits as 32 hex digits, as `uuid4().hex` gives without building a UUID
    (a sixth of the cost, once for every order ingest queues)."""
    return os.urandom(16).hex()


def changed(conn: Connection, keys: Iterable[str], now: datetime) -> None:
    """Orders whose data changed: due now, whatever was queued for them before."""
    bulk = Bulk(conn)
    due_at = bulk.time(now)
    rows = [(key, due_at, _token()) for key in sorted(set(keys))]
    bulk.upsert(q, ("order_key", "due_at", "token"), rows, ["order_key"])


def enqueue(conn: Connection, keys: Iterable[str], due_at: datetime) -> None:
    """A deadline: evaluate these orders at `due_at`, keeping an earlier due time if one is queued."""
    _upsert(conn, dict.fromkeys(keys, due_at), keep_earliest=True)


def enqueue_each(conn: Connection, deadlines: Mapping[str, datetime]) -> None:
    """Deadlines of several orders at once (one statement), each keeping an earlier one if queued."""
    _upsert(conn, deadlines, keep_earliest=True)


def _upsert(conn: Connection, due: Mapping[str, datetime], *, keep_earliest: bool) -> None:
    wanted = sorted(due)
    if not wanted:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(q)
    earliest = case((q.c.due_at < stmt.excluded.due_at, q.c.due_at), else_=stmt.excluded.due_at)
    stmt = stmt.on_conflict_do_update(
        index_elements=[q.c.order_key],
        set_={
            "due_at": earliest if keep_earliest else stmt.excluded.due_at,
            "token": stmt.excluded.token,
        },
    )
    for chunk in chunks(wanted):
        conn.execute(stmt, [{"order_key": k, "due_at": due[k], "token": _token()} for k in chunk])


def due(conn: Connection, now: datetime, limit: int | None = None) -> list[str]:
    query = select(q.c.order_key).where(q.c.due_at <= now)
    query = query.order_by(q.c.due_at, q.c.order_key)
    if limit is not None:
        query = query.limit(limit)
    return list(conn.execute(query).scalars())


def claim(conn: Connection, keys: Iterable[str], *, span: bool = False) -> dict[str, str]:
    """The current token of each queued order among `keys`; read before the orders are loaded. With
    `span`, `keys` are every order key from the first to the last (a full pass's chunk): the range of
    the queue between them is read instead of looking each key up."""
    claimed: dict[str, str] = {}
    wanted = sorted(set(keys))
    if span and wanted:
        query = select(q.c.order_key, q.c.token).where(q.c.order_key.between(wanted[0], wanted[-1]))
        kept = set(wanted)
        return {key: token for key, token in conn.execute(query) if key in kept}
    for chunk in chunks(wanted):
        query = select(q.c.order_key, q.c.token).where(q.c.order_key.in_(chunk))
        claimed.update({key: token for key, token in conn.execute(query)})
    return claimed


def done(conn: Connection, claimed: dict[str, str], cutoff: datetime) -> None:
    """Remove evaluated orders: not ones written again since they were claimed, nor ones queued for
    a time after `cutoff`."""
    if not claimed:
        return
    stmt = delete(q).where(
        q.c.order_key == bindparam("key"), q.c.token == bindparam("claimed"), q.c.due_at <= cutoff
    )
    conn.execute(stmt, [{"key": key, "claimed": token} for key, token in claimed.items()])


def pending(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(q)).scalar_one())
