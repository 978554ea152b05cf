"""Processing the inbox, after the acknowledgement: parse each pending event with its system's receiver,
map the records with the same step polling uses, ingest them ordered by status time, and mark the
events processed in the same transaction, so that a crash at any instant processes each exactly once.
An event that cannot be parsed or mapped is marked failed with its error; `replay` tries it again."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from pydantic import ValidationError
from sqlalchemy import Connection
from sqlalchemy.exc import DataError, IntegrityError

from orderbridge.connectors import registry
from orderbridge.connectors.base import Batch, SystemSettings
from orderbridge.connectors.intake import map_batch
from orderbridge.connectors.push.base import Receiver, StoredEvent, body_bytes
from orderbridge.connectors.push.request import EventError, Rejected
from orderbridge.mapping.model import Observation
from orderbridge.storage import inbox
from orderbridge.storage.db import Store
from orderbridge.storage.observations import ingest

log = structlog.get_logger("orderbridge.inbox")
BATCH = 500
BATCH_UNDER_LOAD = 100  # while intake is busy: short transactions, so intake waits little for the store
QUIET = 0.05  # seconds without an intake write before processing runs at full batches


@dataclass
class ProcessResult:
    processed: int = 0
    failed: int = 0
    late: int = 0
    orders: set[str] = field(default_factory=set)
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def events(self) -> int:
        return self.processed + self.failed


def receivers(systems: Mapping[str, SystemSettings]) -> dict[str, Receiver]:
    return {name: found for name, settings in systems.items() if (found := registry.receiver(name, settings))}


def process_pending(
    store: Store,
    systems: Mapping[str, SystemSettings],
    receivers_by_name: Mapping[str, Receiver],
    *,
    limit: int = BATCH,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ProcessResult:
    """Process up to `limit` pending events in one transaction. An event whose records the store
    refuses (a value too long for a column, say) does not hold the others back: the batch is then
    processed one event at a time, and that event alone is marked failed."""
    with store.begin() as conn:
        events = inbox.claim_pending(conn, limit, receivers_by_name)
        if not events:
            return ProcessResult()
        try:
            with conn.begin_nested():
                return _process(conn, events, systems, receivers_by_name, clock())
        except (DataError, IntegrityError) as exc:
            log.warning("inbox batch refused by the store; processing it event by event", error=str(exc.orig))
    result = ProcessResult()
    for event in events:
        try:
            with store.begin() as conn:
                part = _process(conn, [event], systems, receivers_by_name, clock())
        except (DataError, IntegrityError) as exc:
            with store.begin() as conn:
                error = f"the store refused its records: {exc.orig}"
                inbox.mark(conn, [event.id], inbox.FAILED, clock(), error)
            part = ProcessResult(failed=1, errors=[(event.id, error)])
        result.processed += part.processed
        result.failed += part.failed
        result.late += part.late
        result.orders |= part.orders
        result.errors += part.errors
    return result


def _process(
    conn: Connection,
    events: Sequence[inbox.InboxEvent],
    systems: Mapping[str, SystemSettings],
    receivers_by_name: Mapping[str, Receiver],
    now: datetime,
) -> ProcessResult:
    result = ProcessResult()
    by_system: dict[str, list[tuple[Observation, object]]] = {}
    done: list[int] = []
    for event in events:
        receiver, settings = receivers_by_name[event.system], systems[event.system]
        stored = StoredEvent(
            event.id, event.system, event.received_at, event.headers, body_bytes(event.body, event.headers)
        )
        try:
            records = receiver.parse(stored)
            items, problems = map_batch(Batch(f"inbox event {event.id}", records), settings, now)
        except (EventError, Rejected, ValidationError, ValueError) as exc:
            error = exc.reason if isinstance(exc, Rejected) else str(exc)
            items, problems = [], []
            _failed(conn, event, error, now, result)
            continue
        if problems:
            _failed(conn, event, "; ".join(f"{p.location}: {p.reason}" for p in problems), now, result)
            continue
        by_system.setdefault(event.system, []).extend(items)
        done.append(event.id)
    for system, items in by_system.items():
        written = ingest(conn, items, now, systems[system].link_by, newest_wins=True)
        result.late += written.late
        result.orders |= written.orders
    inbox.mark(conn, done, inbox.PROCESSED, now)
    result.processed += len(done)
    return result


def _failed(
    conn: Connection, event: inbox.InboxEvent, error: str, now: datetime, result: ProcessResult
) -> None:
    inbox.mark(conn, [event.id], inbox.FAILED, now, error)
    result.failed += 1
    result.errors.append((event.id, error))
    log.warning("inbox event failed", system=event.system, event_id=event.id, error=error)


class InboxProcessor:
    """The daemon's processing thread: woken when intake stores an event (and every `interval`, for
    events stored by another process), it processes pending events batch by batch and then calls
    `after` (the daemon's reconcile pass) when orders changed.

    Intake comes first: while requests keep arriving (`quiet()` says how long since intake last
    wrote), processing waits, at most `interval`, and then takes a smaller batch, so that a burst is
    acknowledged at intake speed and processed right after it."""

    def __init__(
        self,
        store: Store,
        systems: Mapping[str, SystemSettings],
        receivers_by_name: Mapping[str, Receiver],
        after: Callable[[], None] | None = None,
        interval: float = 1.0,
        quiet: Callable[[], float] | None = None,
    ) -> None:
        self.store, self.systems, self.receivers, self.after, self.interval = (
            store,
            systems,
            receivers_by_name,
            after,
            interval,
        )
        self.quiet = quiet
        self.wake = threading.Event()
        self.stop_event = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None and self.receivers:
            self._thread = threading.Thread(target=self._run, name="inbox-processor", daemon=True)
            self._thread.start()

    def notify(self) -> None:
        self.wake.set()

    def stop(self) -> None:
        self.stop_event.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None

    def _run(self) -> None:
        while not self.stop_event.is_set():
            self.wake.wait(self.interval)
            self.wake.clear()
            try:
                self.drain()
            except Exception as exc:  # the store is down, say: the events wait in the inbox
                reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
                log.error("inbox processing failed", error=f"{type(exc).__name__}: {reason}")
                self.stop_event.wait(self.interval)

    def drain(self) -> ProcessResult:
        total = ProcessResult()
        waited = 0.0
        while not self.stop_event.is_set():
            limit = BATCH
            if self.quiet is not None and self.quiet() < QUIET:
                if waited < self.interval:  # intake is busy: let it have the store a moment longer
                    self.stop_event.wait(QUIET)
                    waited += QUIET
                    continue
                limit, waited = BATCH_UNDER_LOAD, 0.0
            result = process_pending(self.store, self.systems, self.receivers, limit=limit)
            total.processed += result.processed
            total.failed += result.failed
            total.orders |= result.orders
            if result.events:
                log.info(
                    "inbox processed", processed=result.processed, failed=result.failed, late=result.late
                )
            if result.orders and self.after is not None:
                self.after()
            if result.events < limit:
                break
        return total
