"""One incremental sync of one system: poll its connector batch by batch, map each record, and
commit the batch's observations, quarantined records and cursor in one transaction."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from pydantic import ValidationError

from orderbridge.connectors import registry
from orderbridge.connectors.base import Batch, ConnectorContext, PollStopped, RecordProblem, SystemSettings
from orderbridge.mapping.ids import OrderIdError
from orderbridge.mapping.model import Observation, SourceRecord
from orderbridge.mapping.translate import to_observation
from orderbridge.storage import cursors, quarantine
from orderbridge.storage.db import Store
from orderbridge.storage.observations import IngestResult, ingest, retire_missing

log = structlog.get_logger("orderbridge.sync")
# A sync that has written this many new records since the planner statistics were last refreshed
# refreshes them; the threshold doubles each time, so only large loads pay for it, a few times.
STATISTICS_AFTER = 2000


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
    """Poll `name` once. Raises SourceError when the source as a whole fails; what was committed
    before that stays committed, and the next sync resumes from the last saved cursor."""
    stop = stop or threading.Event()
    result = SyncResult(system=name, ingest=IngestResult())
    if context.store is None:
        context = dataclasses.replace(context, store=store)
    connector = registry.create(name, settings, context)
    refresh_at = STATISTICS_AFTER
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
            now = clock()
            # A child listing's batch holds records of its own system, mapped by its own settings.
            system, mapping = batch.system or name, batch.settings or settings
            items, problems = _map(batch, mapping, now)
            scope = batch.label if batch.complete else None
            gone: list[str] = []
            with store.begin() as conn:
                written = ingest(conn, items, now, mapping.link_by, newest_wins=settings.pushing, scope=scope)
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
                quarantine.settle(conn, system, now, record_ids=[o.record_id for o, _ in items], scope=scope)
                if scope is not None:
                    # A record that is there but could not be read this time keeps its last reading.
                    found = [o.record_id for o, _ in items] + [p.record_id for p in problems if p.record_id]
                    gone = retire_missing(conn, system, scope, found, now).records
                if batch.cursor is not None:
                    cursors.save(conn, name, batch.cursor, now)
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
            if on_batch is not None:
                on_batch(batch)
            if stop.is_set():
                result.stopped = True
                break
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


def _map(
    batch: Batch, settings: SystemSettings, now: datetime
) -> tuple[list[tuple[Observation, object]], list[RecordProblem]]:
    items: list[tuple[Observation, object]] = []
    problems = list(batch.problems)
    for record in batch.records:
        try:
            obs = to_observation(record, settings.order_id, settings.status, now)
        except (OrderIdError, ValidationError) as exc:
            location = f"{batch.label}: record {record.record_id}"
            scope = batch.label if batch.complete else None
            problems.append(RecordProblem(location, str(exc), record.raw, record.record_id, scope))
            continue
        items.append((obs, record.raw))
    return items, problems
