"""A store of N orders as an ERP, a WMS and a finance system see them, written in bulk (not through the
connectors: this is the reconciler's input, made fast), seeded and deterministic, with a share of orders
carrying a planted problem of every rule. Clean orders agree everywhere: no rule fires on them.

`generate(store, orders)` returns what was planted, so a benchmark can check that the pass found exactly
that: every planted order's rule, and nothing on a clean order."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from orderbridge.mapping.model import UNMAPPED, BillingStatus, Dimension, FulfillmentStatus
from orderbridge.reconciler.rules import ORDER_RULES
from orderbridge.reconciler.rules.records import ORPHAN
from orderbridge.reconciler.settings import ReconcileSettings
from orderbridge.storage.db import Store

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SYSTEMS = ("erp", "wms", "finance")
SETTINGS = ReconcileSettings.model_validate(
    {
        "authority": {"fulfillment": "wms", "billing": "finance"},
        "grace": {"default": "30m"},
        "sla": {"preparing": ["1d", "3d"]},
        "expect": [{"system": "wms", "after": "approved", "within": "2h"}],
    }
)
LINK_BY = {"wms": ["tracking"]}
BATCH = 5000  # orders generated and written per statement batch

F, B = FulfillmentStatus, BillingStatus
STAGES = (F.approved, F.preparing, F.shipped, F.delivered, F.cancelled)
STAGE_WEIGHTS = (10, 10, 30, 45, 5)
SHIPPED = (F.shipped, F.delivered)
HOUR = timedelta(hours=1)


@dataclass
class Record:
    system: str
    record_id: str
    order_key: str | None
    order_ref: str | None
    statuses: dict[Dimension, tuple[str, str]]  # dimension -> (canonical, native)
    status_at: datetime
    history: list[tuple[Dimension, str, str, datetime]]  # (dimension, canonical, native, at), oldest first
    quantities: dict[str, str | None] = field(default_factory=dict)
    amounts: dict[str, str | None] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)


@dataclass
class Order:
    key: str
    stage: FulfillmentStatus
    at: datetime  # when it reached its stage
    quantity: int
    amount: str
    records: dict[str, Record]


@dataclass
class Planted:
    orders: int
    rules: dict[str, str] = field(default_factory=dict)  # order key -> the rule planted on it
    orphans: set[str] = field(default_factory=set)  # "system:record_id" of records linking to no order
    records: int = 0
    history: int = 0

    def expected(self) -> set[tuple[str, str]]:
        """(order key, rule) of every discrepancy the plants must open; orphans by their record."""
        return {(key, rule) for key, rule in self.rules.items()} | {(key, ORPHAN) for key in self.orphans}


def native(status: str) -> str:
    return status.upper()


def fulfillment(system: str, number: int, key: str, stage: str, at: datetime, ref: str) -> Record:
    start = at - timedelta(hours=4 + number % 44)  # before any change a plant makes
    history = [(Dimension.fulfillment, F.approved.value, native(F.approved), start)]
    if stage != F.approved:
        history.append((Dimension.fulfillment, stage, native(stage), at))
    return Record(
        system=system,
        record_id=f"{system[0].upper()}{number}",
        order_key=key,
        order_ref=ref,
        statuses={Dimension.fulfillment: (stage, native(stage))},
        status_at=at,
        history=history,
    )


def clean(number: int, rng: random.Random, stage: FulfillmentStatus | None = None) -> Order:
    stage = stage or rng.choices(STAGES, weights=STAGE_WEIGHTS)[0]
    if stage is F.preparing:
        at = NOW - timedelta(minutes=rng.randint(60, 20 * 60))  # inside its 1-day SLA: not stuck
    else:
        at = NOW - timedelta(minutes=rng.randint(3 * 60, 20 * 24 * 60))
    quantity, price = rng.randint(1, 50), rng.randint(10, 500)
    amount = f"{quantity * price}.00"
    key = f"SO-{number:07d}"
    erp = fulfillment("erp", number, key, stage, at, key)
    erp.quantities = {"ordered": str(quantity), "shipped": None, "invoiced": None}
    erp.amounts = {"order": amount, "invoiced": None, "paid": None, "currency": "CNY"}
    wms = fulfillment("wms", number, key, stage, at - timedelta(minutes=number % 30), f"XSDD{number:07d}")
    shipped = quantity if stage in SHIPPED else 0
    wms.quantities = {"ordered": str(quantity), "shipped": str(shipped), "invoiced": None}
    if shipped:
        wms.links = {"tracking": f"SF{number:010d}"}
    finance = billing(number, key, stage, at, amount)
    return Order(key, stage, at, quantity, amount, {"erp": erp, "wms": wms, "finance": finance})


def billing(number: int, key: str, stage: str, at: datetime, amount: str) -> Record:
    trail = [B.unbilled]
    if stage in SHIPPED:
        trail.append(B.invoiced)
    if stage == F.delivered:
        trail.append(B.paid)
    start = at - timedelta(hours=2)
    history = [
        (Dimension.billing, status.value, native(status), start + i * HOUR) for i, status in enumerate(trail)
    ]
    invoiced = amount if B.invoiced in trail else None
    return Record(
        system="finance",
        record_id=f"F{number}",
        order_key=key,
        order_ref=f"#{number}",
        statuses={Dimension.billing: (trail[-1].value, native(trail[-1]))},
        status_at=history[-1][3],
        history=history,
        amounts={
            "order": None,
            "invoiced": invoiced,
            "paid": amount if trail[-1] is B.paid else None,
            "currency": "CNY",
        },
    )


def restate(record: Record, status: str, at: datetime, dimension: Dimension = Dimension.fulfillment) -> None:
    """The record now says `status` since `at` (appended to its history)."""
    record.statuses[dimension] = (status, native(status))
    record.status_at = at
    record.history.append((dimension, status, native(status), at))


# -- the plants: one per rule, each turning a clean order into one on which that rule fires ------------


def plant_status_lag(number: int, rng: random.Random) -> Order:
    order = clean(number, rng, F.shipped)
    erp = order.records["erp"]
    erp.history = erp.history[:1]
    restate(erp, F.preparing, order.at - 3 * HOUR)  # the WMS (the authority) shipped; the ERP lags
    return order


def plant_ahead_of_authority(number: int, rng: random.Random) -> Order:
    order = clean(number, rng, F.preparing)
    # Ahead of the WMS, whose word counts: shipped 20 minutes after preparing began, so past the grace.
    restate(order.records["erp"], F.shipped, order.at + timedelta(minutes=20))
    return order


def plant_status_conflict(number: int, rng: random.Random) -> Order:
    order = clean(number, rng, F.shipped)
    restate(order.records["erp"], F.cancelled, order.at + HOUR)  # cancelled, but the goods left
    return order


def plant_still_open(number: int, rng: random.Random) -> Order:
    order = clean(number, rng, F.preparing)
    erp = order.records["erp"]
    erp.history = erp.history[:1]
    restate(erp, F.cancelled, order.at - 2 * HOUR)  # the WMS still prepares it
    return order


def plant_missing(number: int, rng: random.Random) -> Order:
    order = clean(number, rng, F.approved)
    del order.records["wms"]  # approved hours ago, never reached the warehouse
    return order


def plant_quantity_mismatch(number: int, rng: random.Random) -> Order:
    order = clean(number, rng, F.shipped)
    order.records["wms"].quantities["ordered"] = str(order.quantity + 1)
    return order


def plant_amount_mismatch(number: int, rng: random.Random) -> Order:
    order = clean(number, rng, F.shipped)
    order.records["finance"].amounts["invoiced"] = f"{int(float(order.amount)) + 10}.00"
    return order


def plant_stuck(number: int, rng: random.Random) -> Order:
    order = clean(number, rng, F.preparing)
    days = timedelta(days=2 if number % 2 else 4)  # the first tier or the second
    for system in ("erp", "wms"):
        record = order.records[system]
        record.status_at -= days
        record.history = [(d, s, n, at - days) for d, s, n, at in record.history]
    return order


def plant_regression(number: int, rng: random.Random) -> Order:
    order = clean(number, rng, F.preparing)
    wms = order.records["wms"]
    at = wms.status_at
    wms.history[-1:] = [
        (Dimension.fulfillment, F.preparing.value, native(F.preparing), at - 3 * HOUR),
        (Dimension.fulfillment, F.shipped.value, native(F.shipped), at - 2 * HOUR),
        (Dimension.fulfillment, F.preparing.value, native(F.preparing), at),
    ]
    return order


def plant_unmapped_status(number: int, rng: random.Random) -> Order:
    order = clean(number, rng, F.shipped)
    wms = order.records["wms"]
    wms.statuses[Dimension.fulfillment] = (UNMAPPED, "QC_HOLD")
    wms.history.append((Dimension.fulfillment, UNMAPPED, "QC_HOLD", wms.status_at + HOUR))
    wms.status_at += HOUR
    return order


def plant_duplicate(number: int, rng: random.Random) -> Order:
    order = clean(number, rng, F.delivered)
    erp = order.records["erp"]
    twin = Record(**{**erp.__dict__, "record_id": f"{erp.record_id}-2", "history": list(erp.history)})
    order.records["erp-2"] = twin
    return order


PLANTS: dict[str, Callable[[int, random.Random], Order]] = {
    "status_lag": plant_status_lag,
    "status_conflict": plant_status_conflict,
    "still_open": plant_still_open,
    "ahead_of_authority": plant_ahead_of_authority,
    "missing": plant_missing,
    "quantity_mismatch": plant_quantity_mismatch,
    "amount_mismatch": plant_amount_mismatch,
    "stuck": plant_stuck,
    "regression": plant_regression,
    "unmapped_status": plant_unmapped_status,
    "duplicate": plant_duplicate,
}
assert set(PLANTS) == set(ORDER_RULES), "every order rule has a plant"


def orphan(number: int) -> Record:
    at = NOW - timedelta(hours=5, minutes=number % 60)
    return Record(
        system="wms",
        record_id=f"WX{number}",
        order_key=None,
        order_ref=None,
        statuses={Dimension.fulfillment: (F.shipped.value, native(F.shipped))},
        status_at=at,
        history=[(Dimension.fulfillment, F.shipped.value, native(F.shipped), at)],
        quantities={"ordered": "1", "shipped": "1", "invoiced": None},
        links={"tracking": f"SFX{number:09d}"},
    )


def orders(count: int, planted: Planted, share: float, seed: int) -> Iterator[list[Record]]:
    """Batches of records, order by order; fills `planted`. Every `1/share`-th order carries a plant, the
    rules taking turns (a small store more often: each rule at least twice), and one order in 2,000 an
    orphan beside it."""
    rng = random.Random(seed)
    names = list(PLANTS)
    stride = max(1, min(round(1 / share), count // (2 * len(names))))
    batch: list[Record] = []
    for number in range(1, count + 1):
        if number % stride == stride // 2:
            rule = names[len(planted.rules) % len(names)]
            order = PLANTS[rule](number, rng)
            planted.rules[order.key] = rule
        else:
            order = clean(number, rng)
        batch.extend(order.records.values())
        if rng.random() < 1 / 2000 or (number == count and not planted.orphans):
            record = orphan(number)
            planted.orphans.add(f"{record.system}:{record.record_id}")
            batch.append(record)
        if len(batch) >= BATCH * 3:
            yield batch
            batch = []
    if batch:
        yield batch


# -- writing: one executemany (SQLite) or COPY (PostgreSQL) per batch and table --------------------------

OBSERVATION_COLUMNS = (
    "system",
    "record_id",
    "order_key",
    "order_ref",
    "external_ref",
    "statuses",
    "native_status",
    "status_at",
    "observed_at",
    "changed_at",
    "quantities",
    "amounts",
    "links",
    "reason",
    "content_hash",
    "raw",
    "scope",
    "retired_at",
)
HISTORY_COLUMNS = (
    "order_key",
    "system",
    "record_id",
    "dimension",
    "status",
    "native",
    "status_at",
    "observed_at",
)
LINK_COLUMNS = ("link_type", "value", "order_key", "system", "updated_at")


def observation_row(record: Record, stamp: Callable[[datetime], Any]) -> tuple[Any, ...]:
    statuses = {
        dimension.value: {"status": status, "native": said, "implied": False}
        for dimension, (status, said) in record.statuses.items()
    }
    natives = {dimension.value: said for dimension, (_status, said) in record.statuses.items()}
    quantities = {"ordered": None, "shipped": None, "invoiced": None, **record.quantities}
    amounts = {"order": None, "invoiced": None, "paid": None, "currency": None, **record.amounts}
    body = json.dumps([record.record_id, statuses, quantities, amounts, record.links], sort_keys=True)
    observed = stamp(record.status_at + timedelta(minutes=1))
    return (
        record.system,
        record.record_id,
        record.order_key,
        record.order_ref,
        None,
        json.dumps(statuses),
        json.dumps(natives),
        stamp(record.status_at),
        observed,
        observed,
        json.dumps(quantities),
        json.dumps(amounts),
        json.dumps(record.links),
        None,
        hashlib.sha256(body.encode()).hexdigest(),
        json.dumps({"id": record.record_id}),
        None,
        None,
    )


def history_rows(record: Record, stamp: Callable[[datetime], Any]) -> Iterator[tuple[Any, ...]]:
    for dimension, status, said, at in record.history:
        yield (
            record.order_key,
            record.system,
            record.record_id,
            dimension.value,
            status,
            said,
            stamp(at),
            stamp(at + timedelta(minutes=1)),
        )


def sqlite_stamp(moment: datetime) -> str:
    """How SQLAlchemy stores a UTC datetime in SQLite (naive, microseconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def postgres_stamp(moment: datetime) -> datetime:
    return moment


Make = Callable[[int, Planted, float, int], Iterator[list[Record]]]


def generate(
    store: Store, count: int, *, share: float = 0.01, seed: int = 42, make: Make | None = None
) -> Planted:
    """Write `count` orders (three systems each, or what `make` makes) into an empty, migrated store;
    return what was planted."""
    planted = Planted(orders=count)
    make = make or orders
    raw = store.engine.raw_connection()
    try:
        postgres = store.dialect == "postgresql"
        stamp = postgres_stamp if postgres else sqlite_stamp
        cursor = raw.cursor()
        for batch in make(count, planted, share, seed):
            observation = [observation_row(record, stamp) for record in batch]
            history = [row for record in batch for row in history_rows(record, stamp)]
            links = [
                (kind, value, record.order_key, record.system, stamp(NOW))
                for record in batch
                if record.order_key
                for kind, value in record.links.items()
            ]
            planted.records += len(observation)
            planted.history += len(history)
            if postgres:
                _copy(cursor, "observations", OBSERVATION_COLUMNS, observation)
                _copy(cursor, "status_history", HISTORY_COLUMNS, history)
                _copy(cursor, "order_links", LINK_COLUMNS, links)
            else:
                cursor.execute("BEGIN")
                _insert(cursor, "observations", OBSERVATION_COLUMNS, observation)
                _insert(cursor, "status_history", HISTORY_COLUMNS, history)
                _insert(cursor, "order_links", LINK_COLUMNS, links)
                cursor.execute("COMMIT")
            if postgres:
                raw.commit()
        cursor.close()
    finally:
        raw.close()
    return planted


def cached_name(count: int, seed: int = 42) -> str:
    """The file name of a generated SQLite store in a cache folder: the generator's own source is part
    of it, so that a changed generator never reuses a store made by the old one."""
    digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    return f"planted_{count}_seed{seed}_{digest}.db"


def _insert(cursor: Any, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    if rows:
        marks = ", ".join("?" for _ in columns)
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def _copy(cursor: Any, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
