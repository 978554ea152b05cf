"""Durable intake with group commit: requests hand their row to one writer thread, which writes every
row that is waiting in one transaction, commits once (one fsync), and only then tells each request
whether its row is on disk. Concurrent deliveries share a commit instead of queueing behind each
other's.

"On disk" means: on SQLite the writer's connection runs with `synchronous=FULL`, so in WAL mode each
commit fsyncs the write-ahead log before it returns (the store's other connections keep NORMAL);
on PostgreSQL the writer's session sets `synchronous_commit=on`, so the commit returns once the WAL
is flushed, whatever the server's default."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Connection

from orderbridge.storage import inbox
from orderbridge.storage.db import Store

log = structlog.get_logger("orderbridge.intake")
BUSY_TIMEOUT_MS = 5000  # SQLite: a write lock held longer than this answers 503, the sender retries


class StoreUnavailable(RuntimeError):
    """The row could not be written; the request must not be acknowledged."""


@dataclass
class _Item:
    row: dict[str, Any]
    done: Future[bool]


class GroupCommitWriter:
    def __init__(
        self, store: Store, *, max_batch: int = 1000, on_commit: Callable[[], None] | None = None
    ) -> None:
        self.store, self.max_batch, self.on_commit = store, max_batch, on_commit
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._conn: Connection | None = None
        self.commits = 0  # transactions written so far; rows / commits is how well requests share them
        self.rows = 0
        self.last_commit = 0.0

    def quiet(self) -> float:
        """Seconds since the last commit (how long intake has been idle)."""
        return time.monotonic() - self.last_commit

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="inbox-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None
            log.info("inbox writer stopped", rows=self.rows, commits=self.commits)
        self._close()

    def submit(self, row: dict[str, Any]) -> Future[bool]:
        """Queue a row; once committed the future says whether it is new (False: a delivery stored
        before); it fails with StoreUnavailable when the row could not be written."""
        item = _Item(row, Future())
        if self._thread is None:
            item.done.set_exception(StoreUnavailable("the inbox writer is not running"))
        else:
            self._queue.put(item)
        return item.done

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            self._write(batch)

    def _write(self, batch: list[_Item]) -> None:
        try:
            conn = self._connection()
            with conn.begin():
                new = inbox.insert_many(conn, [item.row for item in batch])
        except Exception as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            log.error("inbox write failed", error=f"{type(exc).__name__}: {reason}", events=len(batch))
            self._close()
            for item in batch:
                item.done.set_exception(StoreUnavailable("the store is unavailable"))
            return
        self.commits += 1
        self.rows += len(batch)
        self.last_commit = time.monotonic()
        for item, stored in zip(batch, new, strict=True):
            item.done.set_result(stored)
        if self.on_commit is not None and any(new):
            self.on_commit()

    def _connection(self) -> Connection:
        if self._conn is None:
            conn = self.store.engine.connect()
            if conn.dialect.name == "sqlite":
                raw = conn.connection.driver_connection
                assert raw is not None
                raw.execute("PRAGMA synchronous=FULL")
                raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            else:
                conn.exec_driver_sql("SET synchronous_commit = on")
                conn.commit()
            self._conn = conn
        return self._conn

    def _close(self) -> None:
        # Always discarded, never returned to the pool: its settings (synchronous=FULL) are its own.
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.invalidate()
            conn.close()
        except Exception:  # a connection that broke may not close cleanly; it is dropped either way
            pass
