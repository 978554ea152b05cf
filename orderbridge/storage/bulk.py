"""Many rows in one go at the driver level, for the write path of ingest: values already in the form
the store keeps (JSON as text, times as `UTCDateTime` binds them), `executemany` of one statement, and
on PostgreSQL `COPY` (into a staging table for an upsert) once a batch is large enough to gain by it."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from json.encoder import c_make_encoder, encode_basestring, encode_basestring_ascii  # type: ignore[attr-defined]
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import JSON, Connection, Table
from sqlalchemy.exc import DBAPIError

from orderbridge.storage.tables import metadata, observations

COPY_FROM = 200  # rows: below this a batch's round trips are too few for COPY's extra statements to pay
TIMES_KEPT = 4096  # datetimes a Bulk remembers converted: a few pages' worth


def encoder(
    *,
    ascii: bool = True,
    sort_keys: bool = False,
    allow_nan: bool = True,
    default: Callable[[Any], Any] | None = None,
) -> Callable[[Any], str]:
    """`json.dumps` with these settings, its encoder made once rather than on every call (half the
    time of a small value). Without the check for circular values: what it is given is JSON already
    or read from JSON, and a circular value ends in RecursionError instead of ValueError."""
    if c_make_encoder is None:  # an interpreter without the C accelerator
        return json.JSONEncoder(
            ensure_ascii=ascii, sort_keys=sort_keys, allow_nan=allow_nan, default=default
        ).encode
    text = encode_basestring_ascii if ascii else encode_basestring
    made = c_make_encoder(None, default, text, None, ": ", ", ", sort_keys, False, allow_nan)

    def encode(value: Any) -> str:
        return "".join(made(value, 0))

    return encode


_STANDARD_TEXT = encoder(default=str)
_COMPACT = orjson.OPT_PASSTHROUGH_DATETIME  # times by `str`, as the standard library's `default` writes them


def json_text(value: Any) -> str:
    """A JSON column's value as the store keeps it: compact, as orjson writes it (a seventh of the
    standard library's time on a raw record); what orjson cannot write (an integer beyond 64 bits, a
    key that is not text, a lone surrogate) as the standard library writes it. Either reads back as
    the same value."""
    try:
        return orjson.dumps(value, default=str, option=_COMPACT).decode()
    except orjson.JSONEncodeError:
        return _STANDARD_TEXT(value)


class Bulk:
    """Writes of one connection's transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"
        # Exactly the conversion of the UTC datetime columns (all share one type), read from the type.
        column_type = observations.c.observed_at.type
        bind = column_type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        self._bind: Callable[[Any], Any] = bind if bind is not None else _same
        self._times: dict[datetime, Any] = {}

    def time(self, value: datetime | None) -> Any:
        """A datetime as the driver is given it; values are remembered for the transaction's writes (a
        batch's `now`, and each record's status time, which its row and its history entry both hold)."""
        if value is None:
            return None
        found = self._times.get(value)
        if found is None:
            if len(self._times) >= TIMES_KEPT:
                self._times.clear()
            found = self._times[value] = self._bind(value)
        return found

    def upsert(
        self,
        table: Table,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        keys: Sequence[str],
        update: Sequence[str] | None = None,
    ) -> None:
        """Insert `rows` (values in `columns` order); on a key conflict set `update` (default: every
        column but the keys; none: keep the stored row). Rows repeating a key: the last one wins."""
        if not rows:
            return
        updated = tuple(c for c in columns if c not in keys) if update is None else tuple(update)
        key = itemgetter(*[columns.index(k) for k in keys])
        unique = list({key(row): row for row in rows}.values())
        if self.postgres and len(unique) >= COPY_FROM:
            self._copy_upsert(table, tuple(columns), unique, tuple(keys), updated)
            return
        sql = _upsert_sql(self.conn.dialect.name, table.name, tuple(columns), tuple(keys), updated, "")
        self.conn.exec_driver_sql(sql, unique)

    def insert(self, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.postgres and len(rows) >= COPY_FROM:
            self._copy(table.name, tuple(columns), rows)
            return
        self.conn.exec_driver_sql(_insert_sql(self.conn.dialect.name, table.name, tuple(columns)), list(rows))

    def _copy_upsert(
        self,
        table: Table,
        columns: tuple[str, ...],
        rows: Sequence[tuple[Any, ...]],
        keys: tuple[str, ...],
        update: tuple[str, ...],
    ) -> None:
        stage = f"staging_{table.name}"
        # Rows of a temporary table go at commit; within one transaction (a batch tried record by
        # record in savepoints) each use empties it after itself.
        self.conn.exec_driver_sql(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} (LIKE {table.name}) ON COMMIT DELETE ROWS"
        )
        self._copy(stage, columns, rows)
        self.conn.exec_driver_sql(_upsert_sql("postgresql", table.name, columns, keys, update, stage))
        self.conn.exec_driver_sql(f"DELETE FROM {stage}")

    def _copy(self, table: str, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]) -> None:
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        driver = self.conn.connection.driver_connection
        assert driver is not None
        try:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        except Exception as exc:
            # What the rest of the store raises (the sync tells an unreachable store by these classes).
            dbapi = self.conn.dialect.loaded_dbapi
            if isinstance(exc, dbapi.Error):
                raise DBAPIError.instance(statement, None, exc, dbapi.Error) from exc
            raise


def _same(value: Any) -> Any:
    return value


@cache
def _insert_sql(dialect: str, table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({_marks(dialect, table, columns)})"


@cache
def _upsert_sql(
    dialect: str,
    table: str,
    columns: tuple[str, ...],
    keys: tuple[str, ...],
    update: tuple[str, ...],
    stage: str,
) -> str:
    names = ", ".join(columns)
    source = f"SELECT {names} FROM {stage}" if stage else f"VALUES ({_marks(dialect, table, columns)})"
    sets = ", ".join(f"{c} = excluded.{c}" for c in update)
    action = f"DO UPDATE SET {sets}" if update else "DO NOTHING"
    # SQLite needs a WHERE to tell an upsert's ON CONFLICT from a join in INSERT ... SELECT.
    where = " WHERE true" if stage else ""
    return f"INSERT INTO {table} ({names}) {source}{where} ON CONFLICT ({', '.join(keys)}) {action}"


def _marks(dialect: str, table: str, columns: tuple[str, ...]) -> str:
    if dialect != "postgresql":
        return ", ".join("?" for _ in columns)
    types = metadata.tables[table].c
    return ", ".join("%s::jsonb" if isinstance(types[c].type, JSON) else "%s" for c in columns)
