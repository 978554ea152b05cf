"""The outbox: everything to be sent, written in the transaction of the change that caused it, then
delivered with retries. An item is claimed (its next attempt pushed back) before it is sent, so a
process killed while sending leaves it to be tried again, never lost."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from orderbridge.storage.sql import chunks
from orderbridge.storage.tables import outbox

REPORT, ALERT, DIGEST = "report", "alert", "digest"
PENDING, SENT, FAILED, PACKED = "pending", "sent", "failed", "packed"


@dataclass
class Item:
    id: int
    kind: str
    channel: str
    recipient: str
    subject: str
    body: str
    payload: dict[str, Any]
    state: str
    created_at: datetime
    next_attempt_at: datetime
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    dedupe_key: str | None
    message_id: str | None
    packed_into: int | None

    def as_dict(self) -> dict[str, Any]:
        """What `orderbridge outbox` shows: everything but the body."""
        return {
            "id": self.id,
            "kind": self.kind,
            "channel": self.channel,
            "recipient": self.recipient,
            "subject": self.subject,
            "state": "failing" if self.state == PENDING and self.last_error else self.state,
            "attempts": self.attempts,
            "created_at": self.created_at.isoformat(),
            "next_attempt_at": self.next_attempt_at.isoformat() if self.state == PENDING else None,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "last_error": self.last_error,
            "message_id": self.message_id,
            "packed_into": self.packed_into,
        }


def add(
    conn: Connection,
    *,
    kind: str,
    channel: str,
    recipient: str,
    subject: str,
    body: str,
    payload: dict[str, Any],
    now: datetime,
    dedupe_key: str | None = None,
    message_id: str | None = None,
) -> int | None:
    """Queue one item; None when an item with the same `dedupe_key` exists already (it is not added)."""
    values = {
        "kind": kind,
        "channel": channel,
        "recipient": recipient,
        "subject": subject,
        "body": body,
        "payload": payload,
        "created_at": now,
        "next_attempt_at": now,
        "attempts": 0,
        "state": PENDING,
        "dedupe_key": dedupe_key,
        "message_id": message_id,
    }
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(outbox).values(**values)
    if dedupe_key is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=["dedupe_key"])
    found = conn.execute(stmt.returning(outbox.c.id)).scalar_one_or_none()
    return int(found) if found is not None else None


def existing_keys(conn: Connection, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunks(sorted(set(keys))):
        query = select(outbox.c.dedupe_key).where(outbox.c.dedupe_key.in_(chunk))
        found.update(k for k in conn.execute(query).scalars() if k is not None)
    return found


def get(conn: Connection, item_id: int) -> Item | None:
    row = conn.execute(select(outbox).where(outbox.c.id == item_id)).mappings().first()
    return _item(row) if row is not None else None


def due(conn: Connection, now: datetime, kinds: Sequence[str]) -> list[Item]:
    query = (
        select(outbox)
        .where(outbox.c.state == PENDING, outbox.c.kind.in_(kinds), outbox.c.next_attempt_at <= now)
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
    )
    return [_item(r) for r in conn.execute(query).mappings()]


def unpacked_alerts(conn: Connection, channel: str) -> list[Item]:
    query = (
        select(outbox)
        .where(outbox.c.state == PENDING, outbox.c.kind == ALERT, outbox.c.channel == channel)
        .order_by(outbox.c.id)
    )
    return [_item(r) for r in conn.execute(query).mappings()]


def pack(conn: Connection, member_ids: Sequence[int], into: int, now: datetime) -> None:
    for chunk in chunks(list(member_ids)):
        conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(chunk), outbox.c.state == PENDING)
            .values(state=PACKED, packed_into=into, sent_at=None)
        )


def claim(conn: Connection, item: Item, retry_at: datetime) -> bool:
    """Take `item` for one attempt: count it and push its next attempt to `retry_at` (what happens
    if this process dies while sending). False when another sender took it first."""
    result = conn.execute(
        update(outbox)
        .where(outbox.c.id == item.id, outbox.c.state == PENDING, outbox.c.attempts == item.attempts)
        .values(attempts=item.attempts + 1, next_attempt_at=retry_at)
    )
    return result.rowcount == 1


def sent(conn: Connection, item_id: int, now: datetime) -> None:
    conn.execute(
        update(outbox).where(outbox.c.id == item_id).values(state=SENT, sent_at=now, last_error=None)
    )


def failed(conn: Connection, item_id: int, error: str, *, final: bool) -> None:
    values: dict[str, Any] = {"last_error": error}
    if final:
        values["state"] = FAILED
    conn.execute(update(outbox).where(outbox.c.id == item_id).values(**values))


def sent_since(conn: Connection, channel: str, since: datetime) -> int:
    query = select(func.count()).where(
        outbox.c.channel == channel, outbox.c.kind != ALERT, outbox.c.sent_at >= since
    )
    return int(conn.execute(query).scalar_one())


def latest(conn: Connection, kind: str, channel: str) -> Item | None:
    query = (
        select(outbox)
        .where(outbox.c.kind == kind, outbox.c.channel == channel)
        .order_by(outbox.c.id.desc())
        .limit(1)
    )
    row = conn.execute(query).mappings().first()
    return _item(row) if row is not None else None


def listing(conn: Connection, state: str = "all", limit: int = 200) -> list[Item]:
    """state: pending (incl. failing), failing, sent, failed, packed or all; newest first."""
    query = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if state == "failing":
        query = query.where(outbox.c.state == PENDING, outbox.c.last_error.is_not(None))
    elif state != "all":
        query = query.where(outbox.c.state == state)
    return [_item(r) for r in conn.execute(query).mappings()]


def channel_status(conn: Connection) -> dict[str, dict[str, Any]]:
    """Per channel: pending items, and the oldest pending one's attempts and last error."""
    query = (
        select(outbox)
        .where(outbox.c.state == PENDING, outbox.c.kind != ALERT)
        .order_by(outbox.c.channel, outbox.c.id)
    )
    status: dict[str, dict[str, Any]] = {}
    for row in conn.execute(query).mappings():
        entry = status.setdefault(
            row["channel"], {"pending": 0, "attempts": row["attempts"], "last_error": row["last_error"]}
        )
        entry["pending"] += 1
    return status


def _item(row: RowMapping) -> Item:
    return Item(
        id=row["id"],
        kind=row["kind"],
        channel=row["channel"],
        recipient=row["recipient"],
        subject=row["subject"],
        body=row["body"],
        payload=dict(row["payload"]),
        state=row["state"],
        created_at=row["created_at"],
        next_attempt_at=row["next_attempt_at"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        sent_at=row["sent_at"],
        dedupe_key=row["dedupe_key"],
        message_id=row["message_id"],
        packed_into=row["packed_into"],
    )


def retry_at(conn: Connection, item_id: int, at: datetime) -> None:
    conn.execute(update(outbox).where(outbox.c.id == item_id).values(next_attempt_at=at))


def digest_waiting(conn: Connection, channel: str) -> bool:
    query = select(outbox.c.id).where(
        outbox.c.state == PENDING, outbox.c.kind == DIGEST, outbox.c.channel == channel
    )
    return conn.execute(query.limit(1)).first() is not None
