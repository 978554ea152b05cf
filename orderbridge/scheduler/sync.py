"""One incremental sync of one system: poll its connector batch by batch, map each record, and
commit the batch's observations, quarantined records and cursor in one transaction."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError, TimeoutError

from orderbridge.connectors import registry
from orderbridge.connectors.base import (
    Batch,
    ConnectorContext,
    PollStopped,
    RecordProblem,
    SourceError,
    SystemSettings,
)
from orderbridge.connectors.intake import Mapped, map_batch, record_location
from orderbridge.mapping.model import SourceRecord
from orderbridge.storage import cursors, quarantine
from orderbridge.storage.db import Store
from orderbridge.storage.observations import IngestResult, ingest, retire_missing

log = structlog.get_logger("orderbridge.sync")
# A sync that has written this many new records since the planner statistics were last refreshed
# refreshes them; the threshold doubles each time, so only large loads pay for it, a few times.
STATISTICS_AFTER = 2000


class SyncError(RuntimeError):
    """A sync failed for a reason other than the source (the store, or a bug); `batch` says where:
    the batch being written (`page 3`), or `after page 3` while the connector read the next."""

    def __init__(self, message: str, batch: str) -> None:
        super().__init__(message)
        self.batch = batch


@dataclass
class FieldCoverage:
    """How many records of a sync lacked the order field (and any link) or every status field: a
    wrong field path makes nearly all of them orphans or statusless, which must not pass silently."""

    records: int = 0
    without_order: int = 0
    without_status: int = 0

    def add(self, records: list[SourceRecord], settings: SystemSettings) -> None:
        self.records += len(records)
        self.without_order += sum(1 for r in records if not (r.order_ref or r.parent_ref or r.links))
        if settings.status:
            self.without_status += sum(1 for r in records if all(v is None for v in r.native_status.values()))

    def ratio(self, missing: int) -> float:
        return missing / self.records if self.records else 0.0

    def warnings(self, system: str, settings: SystemSettings) -> list[str]:
        found = []
        probe = f"see what the records hold with: orderbridge probe {system}"
        if self.ratio(self.without_order) > 0.5:
            found.append(
                f"{system}: {self.without_order} of {self.records} records have no order number at "
                f"{settings.order_id.field!r} (order_id.field); {probe}"
            )
        if self.ratio(self.without_status) > 0.5:
            fields = ", ".join(repr(f) for table in settings.status for f in table.fields)
            found.append(
                f"{system}: {self.without_status} of {self.records} records have none of the status "
                f"fields {fields}; {probe}"
            )
        return found


@dataclass
class SyncResult:
    system: str
    batches: int = 0
    records: int = 0
    quarantined: int = 0
    stopped: bool = False
    ingest: IngestResult | None = None
    # Units (files) that gave nothing usable: could not be read at all, or not one of their records.
    unread: list[str] = field(default_factory=list)
    retired_from: dict[str, int] = field(default_factory=dict)  # scope -> records it no longer holds
    coverage: FieldCoverage = field(default_factory=FieldCoverage)
    warnings: list[str] = field(default_factory=list)

    @property
    def retired(self) -> int:
        return sum(self.retired_from.values())

    @property
    def new(self) -> int:
        return self.ingest.new if self.ingest else 0

    @property
    def changed(self) -> int:
        return self.ingest.changed if self.ingest else 0

    @property
    def unchanged(self) -> int:
        return self.ingest.unchanged if self.ingest else 0


BatchProgress = Callable[[Batch], None]


def sync_system(
    store: Store,
    name: str,
    settings: SystemSettings,
    context: ConnectorContext,
    stop: threading.Event | None = None,
    on_batch: BatchProgress | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SyncResult:
    """Poll `name` once. Raises SourceError when the source as a whole fails, SyncError naming the
    batch for any other failure (the store's, or a bug); what was committed before stays committed,
    and the next sync resumes from the last saved cursor."""
    stop = stop or threading.Event()
    result = SyncResult(system=name, ingest=IngestResult())
    if context.store is None:
        context = dataclasses.replace(context, store=store)
    connector = registry.create(name, settings, context)
    refresh_at = STATISTICS_AFTER
    writer = BatchWriter(store, name, settings)
    current: str | None = None  # the batch being written, else the last one written
    writing = False
    try:
        with store.begin() as conn:
            cursor = cursors.load(conn, name)
        batches = connector.poll(cursor, stop)
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                break
            except PollStopped:
                result.stopped = True  # a request gave way to the stop: what was committed stays
                break
            current, writing = batch.label, True
            now = clock()
            # A child listing's batch holds records of its own system, mapped by its own settings.
            system, mapping = batch.system or name, batch.settings or settings
            items, problems = map_batch(batch, mapping, now)
            scope = batch.label if batch.complete else None
            try:
                written, gone = writer.commit(batch, items, problems, now)
            except Exception as exc:
                if _unreachable(exc):
                    raise
                # Something in this batch that mapping let through, the store refused: find it, record
                # by record, so that it is quarantined and the rest of the batch committed after all.
                items = writer.storable(batch, items, problems, now, exc)
                written, gone = writer.commit(batch, items, problems, now)
            assert result.ingest is not None
            result.ingest.add(written)
            if result.ingest.new >= refresh_at:
                store.refresh_statistics()
                refresh_at *= 2
            result.batches += 1
            result.records += len(batch.records)
            result.coverage.add(batch.records, mapping)
            result.quarantined += len(problems)
            result.unread.extend(f"{p.location}: {p.reason}" for p in problems if p.whole)
            if batch.complete and not items and problems and not any(p.whole for p in problems):
                result.unread.append(f"{batch.label}: none of its {len(problems)} records could be read")
            for problem in problems:
                log.warning(
                    "record quarantined", system=system, location=problem.location, reason=problem.reason
                )
            if scope is not None and gone:
                result.retired_from[scope] = result.retired_from.get(scope, 0) + len(gone)
                log.info(
                    "records retired: a complete read no longer holds them",
                    system=system,
                    scope=scope,
                    records=gone[:20],
                    count=len(gone),
                )
            writing = False
            if on_batch is not None:
                on_batch(batch)
            if stop.is_set():
                result.stopped = True
                break
    except SourceError:
        raise
    except Exception as exc:
        where = "before the first batch" if current is None else current if writing else f"after {current}"
        raise SyncError(f"{name}: {where}: {type(exc).__name__}: {exc}", where) from exc
    finally:
        connector.close()
    result.warnings = result.coverage.warnings(name, settings)
    for warning in result.warnings:
        log.warning("records lack configured fields", system=name, detail=warning)
    log.info(
        "sync done",
        system=name,
        batches=result.batches,
        records=result.records,
        new=result.new,
        changed=result.changed,
        quarantined=result.quarantined,
        retired=result.retired,
        unread=result.unread,
        stopped=result.stopped,
    )
    return result


@dataclass
class BatchWriter:
    """Writes the batches of one sync of one system (the benchmark of ingest measures it alone)."""

    store: Store
    name: str
    settings: SystemSettings

    def commit(
        self, batch: Batch, items: list[Mapped], problems: list[RecordProblem], now: datetime
    ) -> tuple[IngestResult, list[str]]:
        """One transaction: the batch's observations, its quarantined records and its cursor; and the
        records a complete read no longer holds, retired. Returns what was written and retired."""
        system, mapping = batch.system or self.name, batch.settings or self.settings
        scope = batch.label if batch.complete else None
        gone: list[str] = []
        with self.store.begin() as conn:
            written = ingest(
                conn, items, now, mapping.link_by, newest_wins=self.settings.pushing, scope=scope
            )
            for problem in problems:
                quarantine.add(
                    conn,
                    system,
                    problem.location,
                    problem.reason,
                    problem.raw,
                    now,
                    record_id=problem.record_id,
                    scope=problem.scope,
                )
            ids = [o.record_id for o, _ in items]
            quarantine.settle(conn, system, now, record_ids=ids, scope=scope)
            if scope is not None:
                # A record that is there but could not be read this time keeps its last reading.
                found = ids + [p.record_id for p in problems if p.record_id]
                gone = retire_missing(conn, system, scope, found, now).records
            if batch.cursor is not None:
                cursors.save(conn, self.name, batch.cursor, now)
        return written, gone

    def storable(
        self,
        batch: Batch,
        items: list[Mapped],
        problems: list[RecordProblem],
        now: datetime,
        failure: Exception,
    ) -> list[Mapped]:
        """The items the store takes, tried one by one in a transaction rolled back afterwards; each
        it refuses joins `problems`. Raises `failure` again when the store refuses none of them alone
        (then the batch as a whole is the problem, not one record)."""
        kept: list[Mapped] = []
        refused = 0
        mapping = batch.settings or self.settings
        scope = batch.label if batch.complete else None
        with self.store.engine.connect() as conn, conn.begin() as trial:
            for obs, raw in items:
                try:
                    with conn.begin_nested():
                        ingest(
                            conn,
                            [(obs, raw)],
                            now,
                            mapping.link_by,
                            newest_wins=self.settings.pushing,
                            scope=scope,
                        )
                except Exception as exc:
                    if _unreachable(exc):
                        raise
                    refused += 1
                    where = record_location(batch, obs.record_id)
                    cause = type(getattr(exc, "orig", None) or exc).__name__
                    reason = f"the store refused it: {cause}: {exc}".splitlines()[0]
                    problems.append(RecordProblem(where, reason, raw, obs.record_id, scope))
                    continue
                kept.append((obs, raw))
            trial.rollback()
        if not refused:
            raise failure
        log.error("the store refused records that mapping let through", system=self.name, batch=batch.label)
        return kept


def _unreachable(exc: Exception) -> bool:
    """The store cannot be reached or is busy: the whole poll fails and is retried, nothing is
    quarantined for it."""
    return isinstance(exc, OperationalError | InterfaceError | DisconnectionError | TimeoutError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )
