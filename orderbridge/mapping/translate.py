"""SourceRecord -> Observation: the order key from the native number, statuses per dimension."""

from __future__ import annotations

from datetime import datetime

from orderbridge.mapping.ids import OrderIdRule, normalise_order_id
from orderbridge.mapping.model import Observation, SourceRecord
from orderbridge.mapping.status import StatusTable, map_statuses


def to_observation(
    record: SourceRecord, order_id: OrderIdRule, tables: list[StatusTable], observed_at: datetime
) -> Observation:
    """Raises OrderIdError when the record has an order number that cannot be normalised.

    A record without any order number gets order_key None: it is linked later (tracking number,
    external reference) or reported as an orphan."""
    own = record.order_ref or record.parent_ref
    order_key = normalise_order_id(own, order_id) if own else None
    return Observation(
        system=record.system,
        record_id=record.record_id,
        order_key=order_key,
        order_ref=record.order_ref,
        external_ref=record.external_ref,
        statuses=map_statuses(tables, record.native_status),
        native_status=record.native_status,
        status_at=record.status_at,
        observed_at=observed_at,
        quantities=record.quantities,
        amounts=record.amounts,
        links=record.links,
        reason=record.reason,
    )
