"""The pre-screen of a reconcile pass: set-based SQL that says, per order, what about it could make a rule
fire (systems disagreeing on a status, numbers differing, a status word nobody mapped, ...), so that
orders on which every system agrees never reach the rules. It may flag an order for nothing (text
`5` against `5.00`, a status that moved back and on again); it must never miss one a rule would flag."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnElement

from orderbridge.mapping.model import PROGRESS, UNMAPPED, Dimension
from orderbridge.storage import plain
from orderbridge.storage.discrepancies import ACTIVE
from orderbridge.storage.tables import discrepancies, observations, status_history
from orderbridge.storage.types import UTCDateTime

ORPHAN_RULE = "orphan"


class Flag(StrEnum):
    """What the screen saw on an order; each rule says which of these can make it fire."""

    statuses_differ = "statuses_differ"  # two systems report different statuses on one dimension
    stopped_but_moving = "stopped_but_moving"  # cancelled, and a parcel moves or a bill is paid
    unmapped = "unmapped"  # a status word the system's table does not map
    several_records = "several_records"  # a system holds more than one record of the order
    expected_absent = "expected_absent"  # a system the order is expected in has no record of it
    in_sla_status = "in_sla_status"  # a system reports a status that has an SLA
    quantities_differ = "quantities_differ"
    amounts_differ = "amounts_differ"
    moved_back = "moved_back"  # a record's history has a status ranked below an earlier one
    active = "active"  # the order has unresolved discrepancies (every rule must look again)


def flags(
    conn: Connection,
    keys: Sequence[str],
    *,
    span: bool = False,
    sla: Mapping[Dimension, Collection[str]],
    expected: Iterable[str],
    shipped: Collection[str],
    cancelled: str,
    paid: Collection[str],
) -> dict[str, set[Flag]]:
    """The flags of each order among `keys` that has any (one statement for the records, one for the
    history, one for the discrepancies). `sla`: the statuses with an SLA, per dimension; `expected`: the
    systems every order must appear in; `shipped`, `cancelled`, `paid`: the fulfilment statuses of goods
    that left, the cancelled one, the billing statuses of money received.

    With `span`, `keys` are every order key from the first to the last (in the database's order, as a
    full pass reads them): the statements read that range of the indexes instead of looking each key up."""
    found: dict[str, set[Flag]] = {}
    if not keys:
        return found
    wanted = set(keys)

    def among(column: Any) -> ColumnElement[bool]:
        found: ColumnElement[bool] = column.between(keys[0], keys[-1]) if span else column.in_(list(keys))
        return found

    raised_by_key = _record_flags(
        conn, among(observations.c.order_key), sla, list(expected), shipped, cancelled, paid
    )
    for key, raised in raised_by_key:
        found.setdefault(key, set()).update(raised)
    for key in _moved_back(conn, among(status_history.c.order_key)):
        found.setdefault(key, set()).add(Flag.moved_back)
    for key in _with_active(conn, among(discrepancies.c.order_key)):
        found.setdefault(key, set()).add(Flag.active)
    # A range also holds orders that are not in it (all their records retired), and orphans' keys.
    return {key: raised for key, raised in found.items() if key in wanted}


def _is(value: Any) -> ColumnElement[Any]:
    """A constant written into the statement, not bound: SQLite evaluates the records query's
    expressions a quarter faster with literals (18 against 25 ms a chunk)."""
    return literal(value, literal_execute=True)


ZERO, ONE = _is(0), _is(1)


def _among(column: Any, values: Collection[str]) -> ColumnElement[bool]:
    found: ColumnElement[bool] = column.in_(
        bindparam(None, sorted(values), expanding=True, literal_execute=True)
    )
    return found


def _any(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """Whether `condition` holds for some record of the group."""
    return func.max(case((condition, ONE), else_=ZERO)) == ONE


def _differ(value: ColumnElement[Any]) -> ColumnElement[bool]:
    """More than one value (NULLs aside) in the group; cheaper than counting distinct values."""
    return func.min(value) != func.max(value)


def _record_flags(
    conn: Connection,
    among: ColumnElement[bool],
    sla: Mapping[Dimension, Collection[str]],
    expected: list[str],
    shipped: Collection[str],
    cancelled: str,
    paid: Collection[str],
) -> Iterable[tuple[str, list[Flag]]]:
    # The plain columns the database keeps beside the JSON (storage/plain.py): no JSON is parsed here.
    c = observations.c
    status = {dimension: c[plain.STATUS[dimension]] for dimension in Dimension}
    fulfillment, billing = status[Dimension.fulfillment], status[Dimension.billing]
    ordered, shipped_qty, invoiced_qty = (c[plain.QUANTITY[n]] for n in ("ordered", "shipped", "invoiced"))
    order_amount, invoiced, paid_amount = (c[plain.AMOUNT[n]] for n in ("order", "invoiced", "paid"))
    currency = c[plain.AMOUNT[plain.CURRENCY]]
    shipped_said = case((_among(fulfillment, shipped), shipped_qty), else_=null())
    paid_said = case((_among(billing, paid), paid_amount), else_=null())
    one_ordered = func.min(ordered)
    in_sla = [_among(status[d], statuses) for d, statuses in sla.items()]
    checks: dict[Flag, ColumnElement[Any]] = {
        Flag.statuses_differ: or_(*(_differ(found) for found in status.values())),
        Flag.stopped_but_moving: and_(
            _any(fulfillment == _is(cancelled)),
            or_(
                func.count(status[Dimension.shipment]) > ZERO,
                _any(_among(billing, paid)),
            ),
        ),
        Flag.unmapped: _any(or_(*(s == _is(UNMAPPED) for s in status.values()))),
        Flag.several_records: func.count() > func.count(func.distinct(c.system)),
        Flag.in_sla_status: _any(or_(*in_sla)) if in_sla else _is(False),
        # Equal texts are equal numbers: no tolerance can make them differ. A difference in text alone
        # (5 against 5.00) is left to the rules.
        Flag.quantities_differ: or_(
            _differ(ordered),
            func.min(shipped_said) != one_ordered,
            func.max(shipped_said) != one_ordered,
            and_(
                func.count(invoiced_qty) > ZERO,
                or_(
                    _differ(invoiced_qty),
                    _differ(shipped_qty),
                    func.min(invoiced_qty) != func.min(shipped_qty),
                ),
            ),
        ),
        Flag.amounts_differ: or_(
            _differ(order_amount),
            func.min(invoiced) != func.min(order_amount),
            func.max(invoiced) != func.min(order_amount),
            and_(
                func.count(paid_said) > ZERO,
                or_(
                    _differ(invoiced),
                    func.min(paid_said) != func.min(invoiced),
                    func.max(paid_said) != func.min(invoiced),
                ),
            ),
            _differ(case((currency != _is(""), currency), else_=null())),
        ),
    }
    for system in expected:
        checks[Flag.expected_absent] = or_(
            checks.get(Flag.expected_absent, _is(False)),
            ~_any(c.system == _is(system)),
        )
    columns = [func.coalesce(check, _is(False)).label(flag.value) for flag, check in checks.items()]
    query = (
        select(c.order_key, *columns)
        .where(among, c.retired_at.is_(None))
        .group_by(c.order_key)
        .having(or_(*checks.values()))  # most orders raise nothing: they need not come back
    )
    order = list(checks)
    for row in conn.execute(query):
        raised = [flag for flag, value in zip(order, row[1:], strict=True) if value]
        if raised:
            yield row[0], raised


def rank(dimension_column: Any, status_column: Any) -> ColumnElement[Any]:
    """A status's place in its dimension's progress (0 = lowest); NULL for side states and unmapped."""
    whens = [
        (and_(dimension_column == dimension.value, status_column == status), position)
        for dimension, progress in PROGRESS.items()
        for position, status in enumerate(progress)
    ]
    return case(*whens, else_=null())


def _moved_back(conn: Connection, among: ColumnElement[bool]) -> set[str]:
    """Orders with a record whose history, in the order the rules read it, ranks a status below the
    ranked status before it on the same dimension. (Side states and unmapped values are left out: if
    the latest status is below an earlier one, some ranked step on the way down is.)"""
    h = status_history.c
    ranked = rank(h.dimension, h.status)
    steps = (
        select(
            h.order_key,
            h.system,
            h.record_id,
            h.dimension,
            ranked.label("ranked"),
            func.coalesce(h.status_at, h.observed_at).label("at"),
            h.observed_at,
            h.id,
        )
        .where(among, ranked.is_not(None))
        .subquery()
    )
    s = steps.c
    before = func.lag(s.ranked).over(
        partition_by=(s.order_key, s.system, s.record_id, s.dimension), order_by=(s.at, s.observed_at, s.id)
    )
    trail = select(s.order_key, s.ranked, before.label("before")).subquery()
    query = select(trail.c.order_key).where(trail.c.ranked < trail.c.before).distinct()
    return set(conn.execute(query).scalars())


def _with_active(conn: Connection, among: ColumnElement[bool]) -> set[str]:
    d = discrepancies.c
    query = (
        select(d.order_key)
        .where(among, d.status.in_(ACTIVE), d.rule != ORPHAN_RULE)
        .distinct()
        # Without statistics SQLite would read every open discrepancy through the status index.
        .with_hint(discrepancies, "INDEXED BY ix_discrepancies_order_key", "sqlite")
    )
    return set(conn.execute(query).scalars())


@dataclass(frozen=True)
class Holding:
    """A record of `system` saying `status` on `dimension`, since `entered`: the start of its current run
    of that status in the order's history (else the record's own status time), as the rules read it."""

    system: str
    dimension: Dimension
    status: str
    entered: datetime


def holdings(
    conn: Connection, keys: Sequence[str], sla: Mapping[Dimension, Collection[str]]
) -> tuple[dict[str, list[Holding]], set[str]]:
    """Of the orders `keys`: each active record that reports a status with an SLA, and since when (one
    statement per dimension with an SLA, none of the orders loaded); and the orders in which a record
    reports a shipment status (on fulfilment that counts for the progress it implies)."""
    found: dict[str, list[Holding]] = {key: [] for key in keys}
    shipping: set[str] = set()
    if not keys:
        return found, shipping
    o = observations.c
    current = o.retired_at.is_(None)
    for dimension, statuses in sla.items():
        said = o[plain.STATUS[dimension]]
        query = select(o.order_key, o.system, said, _entered(dimension, said)).where(
            o.order_key.in_(list(keys)), current, said.in_(list(statuses))
        )
        for key, system, status, entered in conn.execute(query):
            found[key].append(Holding(system, dimension, status, entered))
    if Dimension.fulfillment in sla:
        query = select(o.order_key).where(
            o.order_key.in_(list(keys)), current, o[plain.STATUS[Dimension.shipment]].is_not(None)
        )
        shipping.update(conn.execute(query.distinct()).scalars())
    return found, shipping


def _entered(dimension: Dimension, said: Any) -> ColumnElement[datetime]:
    """When the outer record entered its current run of `said` on `dimension`: the earliest entry of
    that status in its history (in the order's history, by time, then as seen) with no other status
    after it; the record's status time when its history has none."""
    o = observations.c
    run, other = status_history.alias("run"), status_history.alias("other")

    def place(h: Any) -> Any:
        return tuple_(func.coalesce(h.c.status_at, h.c.observed_at), h.c.observed_at, h.c.id)

    broken = exists().where(
        *(other.c[name] == run.c[name] for name in ("system", "record_id", "order_key", "dimension")),
        other.c.status != run.c.status,
        place(other) > place(run),
    )
    start = (
        select(func.min(func.coalesce(run.c.status_at, run.c.observed_at)))
        .where(
            run.c.system == o.system,
            run.c.record_id == o.record_id,
            run.c.order_key == o.order_key,
            run.c.dimension == dimension.value,
            run.c.status == said,
            ~broken,
        )
        .scalar_subquery()
    )
    return type_coerce(func.coalesce(start, o.status_at, o.observed_at), UTCDateTime)
