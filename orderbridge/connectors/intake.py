"""The one path from a source's record to what the store keeps, for every intake (polls, pushed
events): a SourceRecord (from `build_record`) becomes an Observation checked against what the store
can hold. Whatever goes wrong with one record makes it a RecordProblem, quarantined with where it came
from and why; it never fails the rest of its page or file."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orderbridge.connectors.base import Batch, RecordProblem, SystemSettings, record_reason
from orderbridge.mapping.model import Observation, SourceRecord
from orderbridge.mapping.translate import to_observation
from orderbridge.storage.limits import check_storable

Mapped = tuple[Observation, Any]  # an observation and the raw record it was read from


def map_record(record: SourceRecord, settings: SystemSettings, now: datetime) -> Mapped:
    """The record in the canonical model, ready to store. Raises whatever mapping raised: an order
    number that does not normalise (OrderIdError), a value the store cannot hold (Unstorable), or
    anything unforeseen; callers turn it into a RecordProblem with `record_reason`."""
    observation = to_observation(record, settings.order_id, settings.status, now)
    check_storable(observation, record.raw)
    return observation, record.raw


def map_batch(
    batch: Batch, settings: SystemSettings, now: datetime
) -> tuple[list[Mapped], list[RecordProblem]]:
    """The batch's records mapped; those that fail join the problems the connector found."""
    items: list[Mapped] = []
    problems = list(batch.problems)
    for record in batch.records:
        try:
            items.append(map_record(record, settings, now))
        except Exception as exc:
            location = record_location(batch, record.record_id)
            scope = batch.label if batch.complete else None
            problems.append(RecordProblem(location, record_reason(exc), record.raw, record.record_id, scope))
    return items, problems


def record_location(batch: Batch, record_id: str) -> str:
    """Where a record of `batch` was: as the connector said (`sheet.xlsx row 7`), else batch and id."""
    return batch.locations.get(record_id) or f"{batch.label}: record {record_id[:80]}"
