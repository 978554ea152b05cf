"""The sync every API preset is held to against its local tenant: 1,000 orders across pages, with
throttling on the way, all stored once; then exactly the changed ones picked up by the next poll."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from connectors.conformance import PICKING, SHIPPED, START, SYSTEM, Order
from sqlalchemy import func, select

from orderbridge.connectors.base import ConnectorContext, SystemSettings
from orderbridge.scheduler.sync import SyncResult, sync_system
from orderbridge.storage.db import Store
from orderbridge.storage.tables import observations, status_history

COUNT, CHANGES = 1000, 37


def bulk_orders(count: int = COUNT) -> list[Order]:
    """Orders ten minutes apart, alternately picking and shipped."""
    return [
        Order(f"SO-{i}", PICKING if i % 2 else SHIPPED, START + timedelta(minutes=10 * i), i)
        for i in range(1, count + 1)
    ]


def sync_then_changes(
    store: Store,
    settings: SystemSettings,
    publish: Callable[[list[Order]], None],
    context: ConnectorContext | None = None,
    *,
    orders_only: bool = False,
) -> tuple[SyncResult, SyncResult, dict[str, str]]:
    """Publish 1,000 orders and sync; change 37 of them (later, to another status) and sync again.
    Returns both results and the stored record id -> order number after the second. `orders_only`:
    the system also stores records that are not orders (Shopify's fulfilments); only orders count."""
    context = context or ConnectorContext()
    made = bulk_orders()
    publish(made)
    first = sync_system(store, SYSTEM, settings, context)
    assert (first.quarantined, first.changed) == (0, 0)
    assert first.new == COUNT or orders_only
    stored = _stored(store)
    assert sorted(stored.values(), key=lambda n: int(n.removeprefix("SO-"))) == [o.number for o in made]
    picked = made[::27][:CHANGES]
    later = START + timedelta(minutes=10 * (COUNT + 60))
    publish(
        [
            Order(
                o.number,
                SHIPPED if o.status == PICKING else PICKING,
                later + timedelta(seconds=i),
                o.quantity,
            )
            for i, o in enumerate(picked)
        ]
    )
    before = _history(store)
    second = sync_system(store, SYSTEM, settings, context)
    assert second.quarantined == 0
    assert second.changed == CHANGES or (orders_only and second.changed >= CHANGES)
    assert second.new == 0 or orders_only
    assert len(_stored(store)) == COUNT
    moved = {record for record, count in _history(store).items() if count > before.get(record, 0)}
    assert {stored[record] for record in moved if record in stored} == {o.number for o in picked}
    return first, second, stored


def _stored(store: Store) -> dict[str, str]:
    """The stored orders: record id -> order number (records without one, fulfilments, left out)."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(observations.c.record_id, observations.c.order_ref).where(
                observations.c.system == SYSTEM, observations.c.order_ref.is_not(None)
            )
        ).all()
    return {row.record_id: str(row.order_ref).removeprefix("#") for row in rows}


def _history(store: Store) -> dict[str, int]:
    """Status history entries per record."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(status_history.c.record_id, func.count())
            .where(status_history.c.system == SYSTEM)
            .group_by(status_history.c.record_id)
        ).all()
    return {record: count for record, count in rows}
