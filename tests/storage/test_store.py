"""Storage on both backends: migrations, ingest semantics, history, links, cursors, quarantine."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from orderbridge.mapping.model import CanonicalStatus, Dimension, Observation, Quantities
from orderbridge.storage import cursors, observations, quarantine, queue
from orderbridge.storage.db import Store, StoreError, resolve_url, safe_url
from orderbridge.storage.tables import metadata


def obs(record_id: str, key: str | None, status: str, now, system: str = "wms", **extra) -> Observation:
    return Observation(
        system=system,
        record_id=record_id,
        order_key=key,
        observed_at=now,
        status_at=now,
        statuses={Dimension.fulfillment: CanonicalStatus(status=status, native=status.upper())},
        native_status={"status": status.upper()},
        **extra,
    )


def test_migrations_create_exactly_the_declared_schema(store: Store) -> None:
    """The Alembic migration and tables.py agree on this backend (no drift to autogenerate)."""
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_reopening_the_store_does_not_migrate_twice(store_url: str) -> None:
    """Opening an already migrated store is a no-op, so every process may open it."""
    Store(store_url).close()
    again = Store(store_url)
    assert again.ping()
    again.close()


def test_ingest_drops_unchanged_records_and_records_history_only_on_status_change(store: Store, now) -> None:
    """Re-reading the same record (overlapping polls) writes nothing; a status change appends history."""
    with store.begin() as conn:
        first = observations.ingest(conn, [(obs("W1", "SO-1", "preparing", now), {"a": 1})], now)
    with store.begin() as conn:
        again = observations.ingest(conn, [(obs("W1", "SO-1", "preparing", now), {"a": 1})], now)
    later = now + timedelta(hours=1)
    with store.begin() as conn:
        moved = observations.ingest(conn, [(obs("W1", "SO-1", "shipped", later), {"a": 2})], later)
        entries = observations.timeline(conn, "SO-1")
    assert (first.new, again.unchanged, moved.changed) == (1, 1, 1)
    assert [e.status for e in entries] == ["preparing", "shipped"]
    assert entries[1].native == "SHIPPED"


def test_quantities_round_trip_as_decimals(store: Store, now) -> None:
    """Quantities keep their exact decimal value through JSON storage."""
    record = obs(
        "W1", "SO-1", "shipped", now, quantities=Quantities(ordered=Decimal("10.5"), shipped=Decimal(8))
    )
    with store.begin() as conn:
        observations.ingest(conn, [(record, {})], now)
        (loaded,) = observations.observations_of(conn, "SO-1")
    assert loaded.quantities.ordered == Decimal("10.5")
    assert loaded.quantities.shipped == Decimal(8)
    assert loaded.status_at == now


def test_record_without_order_number_links_by_tracking_number(store: Store, now) -> None:
    """A carrier-like record that only knows a tracking number attaches to the order that shipped it."""
    with store.begin() as conn:
        observations.ingest(
            conn, [(obs("W1", "SO-1", "shipped", now, links={"tracking_number": "SF1"}), {})], now
        )
        result = observations.ingest(
            conn,
            [(obs("T1", None, "shipped", now, system="carrier", links={"tracking_number": "SF1"}), {})],
            now,
            link_by=["tracking_number"],
        )
        (carrier,) = [o for o in observations.observations_of(conn, "SO-1") if o.system == "carrier"]
    assert result.linked == 1
    assert carrier.order_key == "SO-1"


def test_orphan_is_attached_when_the_record_explaining_it_arrives(store: Store, now) -> None:
    """An event that arrived before the record that explains it is attached by the ingest of that
    record — no scan of the orphans — with its history, and the orphans are queued for a look."""
    with store.begin() as conn:
        first = observations.ingest(
            conn,
            [(obs("T1", None, "shipped", now, system="carrier", links={"tracking_number": "SF9"}), {})],
            now,
            ["tracking_number"],
        )
        assert [o.record_id for o in observations.unlinked(conn)] == ["T1"]
        assert queue.due(conn, now) == [queue.ORPHANS]
        queue.done(conn, queue.claim(conn, [queue.ORPHANS]), now)
        result = observations.ingest(
            conn, [(obs("W9", "SO-9", "shipped", now, links={"tracking_number": "SF9"}), {})], now
        )
        assert first.orders == set() and result.orders == {"SO-9"}
        assert observations.unlinked(conn) == []
        assert {e.system for e in observations.timeline(conn, "SO-9")} == {"carrier", "wms"}
        assert sorted(queue.due(conn, now)) == sorted(["SO-9", queue.ORPHANS])


def test_an_orphan_waits_only_for_its_systems_link_types(store: Store, now) -> None:
    """An orphan of a system linking by tracking number is not attached by an external reference;
    a full sweep with the link types configured later attaches what is known."""
    with store.begin() as conn:
        observations.ingest(
            conn,
            [(obs("T2", None, "shipped", now, system="carrier", external_ref="PO-7"), {})],
            now,
            ["tracking_number"],
        )
        observations.ingest(conn, [(obs("W7", "SO-7", "shipped", now, external_ref="PO-7"), {})], now)
        assert [o.record_id for o in observations.unlinked(conn)] == ["T2"]
        assert observations.relink_orphans(conn, now, {"carrier": ["external_ref"]}) == {"SO-7"}
        assert observations.unlinked(conn) == []


def test_changed_orders_are_queued_and_deadlines_keep_the_earliest(store: Store, now) -> None:
    """Ingest queues changed orders now; a later deadline does not postpone an earlier one."""
    with store.begin() as conn:
        observations.ingest(conn, [(obs("W1", "SO-1", "placed", now), {})], now)
        queue.enqueue(conn, ["SO-1", "SO-2"], now + timedelta(hours=2))
        assert queue.due(conn, now) == ["SO-1"]
        assert queue.due(conn, now + timedelta(hours=2)) == ["SO-1", "SO-2"]
        queue.done(conn, queue.claim(conn, ["SO-1"]), now)
        assert queue.due(conn, now + timedelta(hours=3)) == ["SO-2"]


def test_a_change_during_a_pass_keeps_its_order_queued(store: Store, now) -> None:
    """An order that changes after a pass claimed it (between loading and finishing) stays queued for
    the next pass, even if its change was stamped earlier than the pass; one that did not change is
    removed."""
    with store.begin() as conn:
        observations.ingest(
            conn, [(obs("W1", "SO-1", "placed", now), {}), (obs("W2", "SO-2", "placed", now), {})], now
        )
    with store.begin() as conn:  # the pass claims and loads its chunk
        claimed = queue.claim(conn, queue.due(conn, now))
    with store.begin() as conn:  # meanwhile, another connection ingests a change to SO-1
        observations.ingest(conn, [(obs("W1", "SO-1", "preparing", now), {})], now - timedelta(seconds=1))
    with store.begin() as conn:  # the pass finishes
        queue.done(conn, claimed, now)
        assert queue.due(conn, now) == ["SO-1"]


def test_a_change_overrides_a_later_deadline(store: Store, now) -> None:
    """A deadline hours away does not hold back an order that changed now."""
    with store.begin() as conn:
        queue.enqueue(conn, ["SO-1"], now + timedelta(hours=2))
        observations.ingest(conn, [(obs("W1", "SO-1", "placed", now), {})], now)
        assert queue.due(conn, now) == ["SO-1"]


def test_cursor_commits_with_its_transaction_or_not_at_all(store: Store, now) -> None:
    """A failure inside the batch transaction leaves neither the records nor the cursor behind."""
    try:
        with store.begin() as conn:
            observations.ingest(conn, [(obs("W1", "SO-1", "placed", now), {})], now)
            cursors.save(conn, "wms", {"value": "2026-11-22"}, now)
            raise RuntimeError("crash between write and commit")
    except RuntimeError:
        pass
    with store.begin() as conn:
        assert cursors.load(conn, "wms") is None
        assert observations.order_keys(conn) == []


def test_quarantine_counts_the_same_bad_record_instead_of_duplicating_it(store: Store, now) -> None:
    """A bad record read twice (overlapping windows) stays one quarantine entry, seen twice."""
    with store.begin() as conn:
        quarantine.add(conn, "wms", "page 1, record 3", "bad date", {"updated_at": "soon"}, now)
        quarantine.add(conn, "wms", "page 1, record 3", "bad date", {"updated_at": "soon"}, now)
        (entry,) = quarantine.listing(conn)
    assert entry.times_seen == 2
    assert entry.raw == {"updated_at": "soon"}


def test_store_urls_hide_passwords_and_resolve_sqlite_paths(tmp_path) -> None:
    """Relative SQLite paths resolve beside the config; a PostgreSQL password is never displayed."""
    assert resolve_url("sqlite:///data/ob.db", tmp_path) == f"sqlite:///{tmp_path / 'data' / 'ob.db'}"
    assert "s3cret" not in safe_url("postgresql+psycopg://bot:s3cret@db:5432/orderbridge")
    assert resolve_url("postgresql://u@h/db", None).startswith("postgresql+psycopg://")


def test_an_unchanged_record_writes_nothing(store: Store, now) -> None:
    """Read again an hour later, an unchanged record leaves its observation, history, links and the
    reconcile queue exactly as they were."""
    from sqlalchemy import select

    from orderbridge.storage.tables import order_links, reconcile_queue, status_history

    record = obs("W1", "SO-1", "shipped", now, links={"tracking_number": "SF1"})
    with store.begin() as conn:
        observations.ingest(conn, [(record, {"id": "W1"})], now)
        queue.done(conn, queue.claim(conn, ["SO-1"]), now)

    def state() -> tuple[object, ...]:
        with store.engine.connect() as conn:
            return (
                conn.execute(select(observations.observations.c.changed_at)).all(),
                conn.execute(select(status_history.c.id)).all(),
                conn.execute(select(order_links.c.updated_at)).all(),
                conn.execute(select(reconcile_queue.c.order_key)).all(),
            )

    before = state()
    later = record.model_copy(update={"observed_at": now + timedelta(hours=1)})
    with store.begin() as conn:
        result = observations.ingest(conn, [(later, {"id": "W1"})], now + timedelta(hours=1))
    assert (result.new, result.changed, result.unchanged) == (0, 0, 1)
    assert state() == before
    assert before[2] and not before[3]


def parcel(status: str, at, observed, native: str | None = None) -> Observation:
    """A carrier's view of parcel SF1 of order SO-1, as it says at `at`, read at `observed`."""
    return Observation(
        system="carrier",
        record_id="SF1",
        order_key="SO-1",
        observed_at=observed,
        status_at=at,
        statuses={Dimension.shipment: CanonicalStatus(status=status, native=native or status)},
        native_status={"status": native or status},
        links={"tracking_number": "SF1"},
    )


def test_pushed_events_keep_the_newest_status_as_latest_and_file_older_ones_in_history(
    store: Store, now
) -> None:
    """An event older than the record's latest (pushed late, retried) goes into the history at its own
    time, leaves the latest observation alone and does not look like a step back; the history reads
    in status-time order."""
    t1, t2, t3 = now, now + timedelta(hours=1), now + timedelta(hours=2)
    with store.begin() as conn:
        observations.ingest(conn, [(parcel("in_transit", t1, t1), {"e": 1})], t1, newest_wins=True)
        observations.ingest(conn, [(parcel("delivered", t3, t3), {"e": 3})], t3, newest_wins=True)
        late_at = t3 + timedelta(minutes=5)
        late = observations.ingest(
            conn, [(parcel("out_for_delivery", t2, late_at), {"e": 2})], late_at, newest_wins=True
        )
    with store.engine.connect() as conn:
        (latest,) = observations.observations_of(conn, "SO-1")
        entries = [(e.status, e.at) for e in observations.timeline(conn, "SO-1") if e.system == "carrier"]
    assert (late.late, late.changed, late.new) == (1, 0, 0)
    assert latest.status(Dimension.shipment) == "delivered" and latest.status_at == t3
    assert entries == [("in_transit", t1), ("out_for_delivery", t2), ("delivered", t3)]


def test_a_late_event_seen_again_adds_nothing(store: Store, now) -> None:
    """The same late event delivered twice, or one that only repeats the status before it, leaves the
    history as it was."""
    t1, t2, t3 = now, now + timedelta(hours=1), now + timedelta(hours=2)
    with store.begin() as conn:
        observations.ingest(
            conn, [(parcel("in_transit", t1, t1, "Departed"), {"e": 1})], t1, newest_wins=True
        )
        observations.ingest(conn, [(parcel("delivered", t3, t3), {"e": 3})], t3, newest_wins=True)
        for raw in ({"e": 2}, {"e": 2, "retry": True}):
            observations.ingest(conn, [(parcel("out_for_delivery", t2, t3), raw)], t3, newest_wins=True)
        repeat = parcel("in_transit", t1 + timedelta(minutes=10), t3, "Departed")
        observations.ingest(conn, [(repeat, {"e": "1b"})], t3, newest_wins=True)
    with store.engine.connect() as conn:
        statuses = [e.status for e in observations.timeline(conn, "SO-1")]
    assert statuses == ["in_transit", "out_for_delivery", "delivered"]


def test_events_of_one_batch_are_ordered_by_status_time(store: Store, now) -> None:
    """Several events of one record in one batch, newest first (as one push of SF routes may hold):
    the newest is the latest observation, each is in the history once."""
    t1, t2 = now, now + timedelta(hours=1)
    batch = [(parcel("delivered", t2, t2), {"e": 2}), (parcel("in_transit", t1, t2), {"e": 1})]
    with store.begin() as conn:
        result = observations.ingest(conn, batch, t2, newest_wins=True)
    with store.engine.connect() as conn:
        (latest,) = observations.observations_of(conn, "SO-1")
        statuses = [e.status for e in observations.timeline(conn, "SO-1")]
    assert (result.new, result.late) == (1, 1)
    assert latest.status(Dimension.shipment) == "delivered"
    assert statuses == ["in_transit", "delivered"]


def test_a_polled_record_is_its_current_state_whatever_its_time(store: Store, now) -> None:
    """Without newest_wins (a polled source), the record read last is the latest observation even when
    its date went back (someone corrected a mistyped date in a sheet)."""
    wrong, right = now + timedelta(days=365), now
    with store.begin() as conn:
        observations.ingest(conn, [(obs("W1", "SO-1", "preparing", wrong), {"d": "2027"})], now)
        result = observations.ingest(conn, [(obs("W1", "SO-1", "shipped", right), {"d": "2026"})], now)
    with store.engine.connect() as conn:
        (latest,) = observations.observations_of(conn, "SO-1")
    assert (result.changed, result.late) == (1, 0)
    assert latest.status(Dimension.fulfillment) == "shipped" and latest.status_at == right


def test_an_empty_value_and_an_absent_one_are_no_change(store: Store, now) -> None:
    """A record whose empty text became an empty cell, or whose empty column is left out, is unchanged:
    a workbook saved again by another program rewrites nothing. A value that appears is a change."""
    base = obs("W1", "SO-1", "preparing", now)
    with store.begin() as conn:
        observations.ingest(conn, [(base, {"备注": "", "数量": "5"})], now)
        same = observations.ingest(conn, [(base, {"备注": None, "数量": "5"})], now)
        also = observations.ingest(conn, [(base, {"数量": "5"})], now)
        blank = observations.ingest(conn, [(base, {"备注": "  ", "数量": "5"})], now)
        filled = observations.ingest(conn, [(base, {"备注": "加急", "数量": "5"})], now)
    assert (same.unchanged, also.unchanged, blank.unchanged, filled.changed) == (1, 1, 1, 1)


def test_retiring_records_a_complete_read_no_longer_holds(store: Store, now) -> None:
    """Records of a scope that a complete read did not find are retired: left out of what the rules see
    (order keys, loaded orders, orphans) but kept with their history; their orders are queued. Read
    again, a retired record is back and counts as changed."""
    items = [
        (obs("f.csv:A", "SO-1", "preparing", now, system="sheet"), {}),
        (obs("f.csv:B", "SO-2", "preparing", now, system="sheet"), {}),
        (obs("f.csv:C", None, "preparing", now, system="sheet", links={"tracking_number": "SF9"}), {}),
    ]
    with store.begin() as conn:
        observations.ingest(conn, items, now, scope="f.csv")
        queue.done(conn, queue.claim(conn, queue.due(conn, now)), now)
    later = now + timedelta(minutes=5)
    with store.begin() as conn:
        gone = observations.retire_missing(conn, "sheet", "f.csv", ["f.csv:A"], later)
        again = observations.retire_missing(conn, "sheet", "f.csv", ["f.csv:A"], later)
        keys = observations.order_keys(conn)
        found, _ = observations.load_orders(conn, ["SO-2"])
        orphans = observations.unlinked(conn)
        due = queue.due(conn, later)
        trail = observations.timeline(conn, "SO-2")
        marked = observations.retired(conn, "SO-2")
    assert gone.records == ["f.csv:B", "f.csv:C"] and again.records == []
    assert keys == ["SO-1"] and found == {"SO-2": []} and orphans == []
    assert set(due) == {"SO-2", queue.ORPHANS}
    assert [e.record_id for e in trail] == ["f.csv:B"]
    assert [(r["record_id"], r["scope"], r["retired_at"]) for r in marked] == [("f.csv:B", "f.csv", later)]
    with store.begin() as conn:
        back = observations.ingest(conn, [items[1]], later, scope="f.csv")
        keys = observations.order_keys(conn)
    assert back.changed == 1 and keys == ["SO-1", "SO-2"]


def test_records_stored_before_their_scope_was_known_get_it_unchanged(store: Store, now) -> None:
    """A record stored without a scope (before an upgrade) and read again unchanged within a complete
    read takes that scope, so a later read without it retires it."""
    record = (obs("f.csv:A", "SO-1", "preparing", now, system="sheet"), {})
    with store.begin() as conn:
        observations.ingest(conn, [record], now)
        unchanged = observations.ingest(conn, [record], now, scope="f.csv")
        gone = observations.retire_missing(conn, "sheet", "f.csv", [], now)
    assert unchanged.unchanged == 1 and gone.records == ["f.csv:A"]


def test_a_store_whose_driver_is_not_installed_is_a_clear_error() -> None:
    """A PostgreSQL URL naming a driver that is not installed: a StoreError saying what to install,
    not an ImportError's traceback (and no password in it)."""
    with pytest.raises(
        StoreError, match=r"driver is not installed \(pg8000\); install orderbridge\[postgres\]"
    ) as failed:
        Store("postgresql+pg8000://u:s3cret-pw@localhost/db")
    assert "s3cret-pw" not in str(failed.value)
