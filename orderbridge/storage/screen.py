"""The pre-screen of a reconcile pass: set-based SQL that says, per order, what about it could make a rule
fire (systems disagreeing on a status, numbers differing, a status word nobody mapped, ...), so that
orders on which every system agrees never reach the rules. It may flag an order for nothing (text
`5` against `5.00`, a status that moved back and on again); it must never miss one a rule would flag."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    case,
    func,
    literal,
    null,
    or_,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from orderbridge.mapping.model import PROGRESS, UNMAPPED, Dimension
from orderbridge.storage.tables import discrepancies, observations, status_history

ACTIVE_STATUSES = ("open", "acknowledged", "snoozed")  # storage.discrepancies.ACTIVE
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
    sla: Mapping[Dimension, Collection[str]],
    expected: Iterable[str],
    shipped: Collection[str],
    cancelled: str,
    paid: Collection[str],
) -> dict[str, set[Flag]]:
    """The flags of each order among `keys` that has any (one statement for the records, one for the
    history, one for the discrepancies). `sla`: the statuses with an SLA, per dimension; `expected`: the
    systems every order must appear in; `shipped`, `cancelled`, `paid`: the fulfilment statuses of goods
    that left, the cancelled one, the billing statuses of money received."""
    found: dict[str, set[Flag]] = {}
    if not keys:
        return found
    for key, raised in _record_flags(conn, keys, sla, list(expected), shipped, cancelled, paid):
        found.setdefault(key, set()).update(raised)
    for key in _moved_back(conn, keys):
        found.setdefault(key, set()).add(Flag.moved_back)
    for key in _with_active(conn, keys):
        found.setdefault(key, set()).add(Flag.active)
    return found


def _status(dimension: Dimension) -> ColumnElement[Any]:
    found: ColumnElement[Any] = observations.c.statuses[(dimension.value, "status")].as_string()
    return found


def _number(column: Any, name: str) -> ColumnElement[Any]:
    found: ColumnElement[Any] = column[name].as_string()
    return found


def _distinct(value: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.count(func.distinct(value))


def _record_flags(
    conn: Connection,
    keys: Sequence[str],
    sla: Mapping[Dimension, Collection[str]],
    expected: list[str],
    shipped: Collection[str],
    cancelled: str,
    paid: Collection[str],
) -> Iterable[tuple[str, list[Flag]]]:
    status = {dimension: _status(dimension) for dimension in Dimension}
    fulfillment, billing = status[Dimension.fulfillment], status[Dimension.billing]
    ordered = _number(observations.c.quantities, "ordered")
    shipped_qty = _number(observations.c.quantities, "shipped")
    invoiced_qty = _number(observations.c.quantities, "invoiced")
    order_amount = _number(observations.c.amounts, "order")
    invoiced = _number(observations.c.amounts, "invoiced")
    paid_amount = _number(observations.c.amounts, "paid")
    currency = func.upper(func.trim(_number(observations.c.amounts, "currency")))
    goods_left = fulfillment.in_(list(shipped))
    shipped_said = case((and_(goods_left, shipped_qty.is_not(None)), shipped_qty), else_=null())
    paid_said = case((billing.in_(list(paid)), paid_amount), else_=null())
    one_ordered = func.min(ordered)
    checks: dict[Flag, ColumnElement[Any]] = {
        Flag.statuses_differ: or_(*(_distinct(found) > 1 for found in status.values())),
        Flag.stopped_but_moving: and_(
            func.max(case((fulfillment == cancelled, 1), else_=0)) == 1,
            or_(
                func.count(status[Dimension.shipment]) > 0,
                func.max(case((billing.in_(list(paid)), 1), else_=0)) == 1,
            ),
        ),
        Flag.unmapped: func.max(case((or_(*(s == UNMAPPED for s in status.values())), 1), else_=0)) == 1,
        Flag.several_records: func.count() > _distinct(observations.c.system),
        Flag.in_sla_status: func.max(
            case((or_(*false_if_empty(status[d].in_(list(names)) for d, names in sla.items())), 1), else_=0)
        )
        == 1,
        # Equal texts are equal numbers: no tolerance can make them differ. A difference in text alone
        # (5 against 5.00) is left to the rules.
        Flag.quantities_differ: or_(
            _distinct(ordered) > 1,
            func.min(shipped_said) != one_ordered,
            func.max(shipped_said) != one_ordered,
            and_(
                func.count(invoiced_qty) > 0,
                or_(
                    _distinct(invoiced_qty) > 1,
                    _distinct(shipped_qty) > 1,
                    func.min(invoiced_qty) != func.min(shipped_qty),
                ),
            ),
        ),
        Flag.amounts_differ: or_(
            _distinct(order_amount) > 1,
            func.min(invoiced) != func.min(order_amount),
            func.max(invoiced) != func.min(order_amount),
            and_(
                func.count(paid_said) > 0,
                or_(
                    _distinct(invoiced) > 1,
                    func.min(paid_said) != func.min(invoiced),
                    func.max(paid_said) != func.min(invoiced),
                ),
            ),
            _distinct(case((currency != "", currency), else_=null())) > 1,
        ),
    }
    for system in expected:
        checks[Flag.expected_absent] = or_(
            checks.get(Flag.expected_absent, literal(False)),
            func.max(case((observations.c.system == system, 1), else_=0)) == 0,
        )
    columns = [func.coalesce(check, False).label(flag.value) for flag, check in checks.items()]
    query = (
        select(observations.c.order_key, *columns)
        .where(observations.c.order_key.in_(list(keys)), observations.c.retired_at.is_(None))
        .group_by(observations.c.order_key)
    )
    names = list(checks)
    for row in conn.execute(query):
        raised = [flag for flag, value in zip(names, row[1:], strict=True) if value]
        if raised:
            yield row[0], raised


def false_if_empty(conditions: Iterable[ColumnElement[bool]]) -> list[ColumnElement[bool]]:
    found = list(conditions)
    return found or [literal(False)]


def rank(dimension_column: Any, status_column: Any) -> ColumnElement[Any]:
    """A status's place in its dimension's progress (0 = lowest); NULL for side states and unmapped."""
    whens = [
        (and_(dimension_column == dimension.value, status_column == status), position)
        for dimension, progress in PROGRESS.items()
        for position, status in enumerate(progress)
    ]
    return case(*whens, else_=null())


def _moved_back(conn: Connection, keys: Sequence[str]) -> set[str]:
    """Orders with a record whose history, in the order the rules read it, ranks a status below one
    before it on the same dimension."""
    h = status_history.c
    ranked = rank(h.dimension, h.status)
    at = func.coalesce(h.status_at, h.observed_at)
    highest_before = func.max(ranked).over(
        partition_by=(h.system, h.record_id, h.dimension),
        order_by=(at, h.observed_at, h.id),
        rows=(None, -1),
    )
    trail = (
        select(h.order_key, ranked.label("ranked"), highest_before.label("highest_before"))
        .where(h.order_key.in_(list(keys)))
        .subquery()
    )
    query = select(trail.c.order_key).where(trail.c.ranked < trail.c.highest_before).distinct()
    return set(conn.execute(query).scalars())


def _with_active(conn: Connection, keys: Sequence[str]) -> set[str]:
    d = discrepancies.c
    query = (
        select(d.order_key)
        .where(d.order_key.in_(list(keys)), d.status.in_(ACTIVE_STATUSES), d.rule != ORPHAN_RULE)
        .distinct()
        # Without statistics SQLite would read every open discrepancy through the status index.
        .with_hint(discrepancies, "INDEXED BY ix_discrepancies_order_key", "sqlite")
    )
    return set(conn.execute(query).scalars())
