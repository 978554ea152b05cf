"""Connector cursors, saved in the same transaction as the records they cover."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from orderbridge.storage.sql import upsert
from orderbridge.storage.tables import cursors


def load(conn: Connection, system: str) -> dict[str, Any] | None:
    value = conn.execute(select(cursors.c.value).where(cursors.c.system == system)).scalar()
    return dict(value) if value is not None else None


def save(conn: Connection, system: str, value: dict[str, Any], now: datetime) -> None:
    upsert(conn, cursors, [{"system": system, "value": value, "updated_at": now}], ["system"])


def all_cursors(conn: Connection) -> dict[str, tuple[dict[str, Any], datetime]]:
    return {r.system: (r.value, r.updated_at) for r in conn.execute(select(cursors))}
