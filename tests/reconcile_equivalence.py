"""The reconciler's results on a planted store (bench/planted.py: a problem of every rule) through a
sequence of full and incremental passes, changes at the sources, a snooze and an acknowledgement, as
one JSON-able record: every pass's changes, and after each step every discrepancy (by fingerprint),
its events and the reconcile queue.

tests/fixtures/reconcile/equivalence.json holds this record as the row-by-row reconciler (every order
through every rule, one statement per discrepancy) produced it, on SQLite and PostgreSQL alike; the
equivalence test runs the current reconciler through the same steps and compares. To record it again
(only ever with that reconciler, `git checkout 420d281 -- orderbridge`):

    PYTHONPATH=. .venv/bin/python tests/reconcile_equivalence.py sqlite:////tmp/equivalence.db
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from bench import planted
from orderbridge.mapping.model import CanonicalStatus, Dimension, FulfillmentStatus
from orderbridge.reconciler.engine import Reconciler
from orderbridge.reconciler.lifecycle import acknowledge, snooze
from orderbridge.storage import discrepancies, observations
from orderbridge.storage.db import Store
from orderbridge.storage.tables import discrepancies as discrepancy_table
from orderbridge.storage.tables import discrepancy_events, reconcile_queue

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "reconcile" / "equivalence.json"
ORDERS = 700
H = timedelta(hours=1)
NOW = planted.NOW


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def state(store: Store) -> dict[str, Any]:
    """Every discrepancy (by fingerprint, without its id), its events in order, and the queue."""
    with store.begin() as conn:
        rows = conn.execute(select(discrepancy_table).order_by(discrepancy_table.c.id)).mappings().all()
        by_id = {row["id"]: row["fingerprint"] for row in rows}
        found = {
            row["fingerprint"]: {
                key: iso(value) if isinstance(value, datetime) else value
                for key, value in row.items()
                if key not in ("id", "fingerprint")
            }
            for row in rows
        }
        events: dict[str, list[list[Any]]] = {}
        query = select(discrepancy_events).order_by(discrepancy_events.c.id)
        for event in conn.execute(query).mappings():
            events.setdefault(by_id[event["discrepancy_id"]], []).append(
                [iso(event["at"]), event["kind"], event["actor"], event["details"]]
            )
        queue = [
            [row.order_key, iso(row.due_at)]
            for row in conn.execute(select(reconcile_queue).order_by(reconcile_queue.c.order_key))
        ]
    return {"discrepancies": found, "events": events, "queue": queue}


def changes(result: Any) -> list[list[Any]]:
    return sorted(
        [c.kind, c.order_key, c.rule, c.dimension, list(c.systems), c.severity, c.summary]
        for c in result.changes
    )


def say(store: Store, key: str, system: str, at: datetime, **update: Any) -> None:
    """One record of `key` in `system` changes at `at` (read again by a poll)."""
    with store.begin() as conn:
        [record] = [o for o in observations.observations_of(conn, key) if o.system == system][:1]
        changed = record.model_copy(update={"status_at": at, "observed_at": at, **update})
        observations.ingest(conn, [(changed, {"id": changed.record_id, "at": at.isoformat()})], at)


def fulfillment(status: FulfillmentStatus) -> dict[Dimension, CanonicalStatus]:
    return {Dimension.fulfillment: CanonicalStatus(status=status.value, native=status.value.upper())}


def first_of(found: planted.Planted, rule: str, nth: int = 0) -> str:
    return sorted(key for key, planted_rule in found.rules.items() if planted_rule == rule)[nth]


def open_of(conn: Connection, key: str, rule: str) -> int:
    [found] = [d.id for d in discrepancies.active_for(conn, [key]) if d.rule == rule]
    return found


def run_steps(store: Store) -> list[dict[str, Any]]:
    """The steps, each recorded after it ran."""
    found = planted.generate(store, ORDERS)
    reconciler = Reconciler(store, planted.SETTINGS, planted.SYSTEMS, planted.LINK_BY)
    record: list[dict[str, Any]] = []

    def step(name: str, result: Any) -> None:
        record.append({"step": name, "changes": changes(result), **state(store)})

    step("first full pass", reconciler.run(NOW, full=True))
    lagging, costly = first_of(found, "status_lag"), first_of(found, "amount_mismatch")
    clean = sorted(f"SO-{n:07d}" for n in range(1, ORDERS + 1) if f"SO-{n:07d}" not in found.rules)
    at = NOW + H
    say(store, lagging, "erp", at, statuses=fulfillment(FulfillmentStatus.shipped))
    with store.begin() as conn:
        [finance] = [o for o in observations.observations_of(conn, costly) if o.system == "finance"]
    amounts = finance.amounts.model_copy(update={"invoiced": finance.amounts.invoiced - 10})  # type: ignore[operator]
    say(store, costly, "finance", at, amounts=amounts)
    for key in clean[:3]:
        with store.begin() as conn:
            [wms] = [o for o in observations.observations_of(conn, key) if o.system == "wms"]
        quantities = wms.quantities.model_copy(update={"ordered": (wms.quantities.ordered or 0) + 2})
        say(store, key, "wms", at, quantities=quantities)
    step("incremental: two fixed, three broken", reconciler.run(at + timedelta(minutes=40)))

    at = NOW + 2 * H
    with store.begin() as conn:
        snooze(conn, open_of(conn, first_of(found, "stuck"), "stuck"), at + H, "ops", "waiting", at)
        acknowledge(conn, open_of(conn, first_of(found, "duplicate"), "duplicate"), "ops", None, at)
    step("incremental: snooze ended", reconciler.run(at + 2 * H))

    step("full pass two days later", reconciler.run(NOW + timedelta(days=2), full=True))

    at = NOW + timedelta(days=2, hours=1)
    say(store, lagging, "erp", at, statuses=fulfillment(FulfillmentStatus.preparing))
    step("incremental: broken again", reconciler.run(at + H))

    step("incremental: deadlines five days later", reconciler.run(NOW + timedelta(days=5)))
    return record


def main(url: str) -> None:
    from orderbridge.scheduler import logs

    logs.configure(level="warning")
    store = Store(url)
    try:
        recorded = run_steps(store)
    finally:
        store.close()
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(json.dumps(recorded, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"{FIXTURE}: {len(recorded)} steps, {len(recorded[-1]['discrepancies'])} discrepancies")


if __name__ == "__main__":
    main(sys.argv[1])
