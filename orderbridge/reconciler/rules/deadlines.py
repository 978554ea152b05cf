"""Rules with their own time limits: an order that never reached a system it should be in, and an
order that stays in one stage past its SLA. Both ask to be woken at their next deadline."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta

from orderbridge.config.types import format_duration
from orderbridge.mapping.model import (
    UNMAPPED,
    Dimension,
    FulfillmentStatus,
    Observation,
    dimension_of_status,
    is_valid_status,
    rank,
)
from orderbridge.reconciler.rules.common import (
    Check,
    entered,
    findings,
    hours,
    iso,
    phrase,
    reached,
    spoken,
    statement,
    when,
)
from orderbridge.reconciler.settings import ReconcileSettings
from orderbridge.reconciler.types import OrderSnapshot, Outcome, RuleContext, Severity, Wake
from orderbridge.storage.screen import Holding


def missing(snapshot: OrderSnapshot, ctx: RuleContext) -> Iterator[Outcome]:
    fulfillment = Dimension.fulfillment
    present = {obs.system for obs in snapshot.observations}
    statuses = snapshot.by_system(fulfillment)
    if any(obs.status(fulfillment) == FulfillmentStatus.cancelled for obs in statuses.values()):
        return
    checks = []
    for expect in ctx.settings.expect:
        floor = rank(fulfillment, expect.after)
        if expect.system not in ctx.systems or expect.system in present or floor is None:
            continue
        reached = {
            system: obs
            for system, obs in statuses.items()
            if (found := rank(fulfillment, obs.status(fulfillment))) is not None and found >= floor
        }
        if not reached:
            continue
        starts = [obs.effective_at for obs in reached.values()]
        starts += [
            entry.at
            for entry in snapshot.history
            if entry.dimension == fulfillment
            and (found := rank(fulfillment, entry.status)) is not None
            and found >= floor
        ]
        expected_since = min(starts)
        deadline = expected_since + expect.within
        if ctx.now < deadline:
            yield Wake(deadline)
            continue
        seen = ", ".join(
            f"{system} says {phrase(obs, fulfillment)}" for system, obs in sorted(reached.items())
        )
        says = {system: statement(snapshot, obs, fulfillment) for system, obs in reached.items()}
        says[expect.system] = {"record_id": None, "status": None}
        checks.append(
            Check(
                dimension=fulfillment,
                systems=(expect.system,),
                severity="warning",
                # The problem begins when the window closes, not when the order became expected.
                since=deadline,
                # No age in the summary: it would change on every look without anything happening.
                summary=f"{expect.system} has no record of the order, expected within "
                f"{spoken(expect.within)} of it reaching {expect.after} on {when(expected_since, ctx.zone)} "
                f"({seen})",
                says=says,
                facts={
                    "expected_after": expect.after,
                    "expected_since": iso(expected_since),
                    "within": format_duration(expect.within),
                    "deadline": iso(deadline),
                },
                grace_exempt=True,
            )
        )
    yield from findings("missing", checks)


def stuck(snapshot: OrderSnapshot, ctx: RuleContext) -> Iterator[Outcome]:
    checks = []
    for dimension, status, limits in sla_targets(ctx.settings):
        held = holder(snapshot, dimension, status, ctx.settings.authority.get(dimension))
        if held is None:
            continue
        current, entered_at = held
        age = ctx.now - entered_at
        tier = tier_of(limits, age)
        if tier < len(limits):
            yield Wake(entered_at + limits[tier])
        if tier == 0:
            continue
        severity: Severity = "critical" if tier == len(limits) and len(limits) > 1 else "warning"
        allowed = f"longer than the {spoken(limits[tier - 1])} allowed"
        if tier < len(limits):
            allowed += (
                f" (after {spoken(limits[tier])}: {'critical' if tier + 1 == len(limits) else 'worse'})"
            )
        checks.append(
            Check(
                dimension=dimension,
                systems=(current.system,),
                severity=severity,
                # Stuck from the moment the first limit passed; the tiers after it say how badly.
                since=entered_at + limits[0],
                # No age in the summary: it would change on every look without anything happening.
                summary=f"{current.system} has said {phrase(current, dimension)} since "
                f"{when(entered_at, ctx.zone)}, {allowed}",
                says={current.system: statement(snapshot, current, dimension)},
                facts={
                    "status": status,
                    "entered": iso(entered_at),
                    "age_hours": hours(age),
                    "tiers": [format_duration(limit) for limit in limits],
                    "tier": tier,
                },
                tier=tier,
                grace_exempt=True,
            )
        )
    yield from findings("stuck", checks)


def tier_of(limits: Sequence[timedelta], age: timedelta) -> int:
    """How many of an SLA's limits (in ascending order) an order held there for `age` has passed."""
    return sum(1 for limit in limits if limit <= age)


def quiet_deadline(held: Iterable[Holding], ctx: RuleContext) -> tuple[bool, datetime | None]:
    """What `stuck` would say of an order on which every system agrees on every dimension (one record
    each, no shipment status, nothing unresolved), from its records in statuses with an SLA alone
    (`storage.screen.holdings`): (True, when to look again) while no limit has passed, (False, None)
    once one has, when `stuck` has a finding to make and must see the order. Of the systems holding it
    there, the authority's time counts, else the earliest (`holder` on such an order)."""
    wake: datetime | None = None
    for dimension, status, limits in sla_targets(ctx.settings):
        entered = {h.system: h.entered for h in held if h.dimension == dimension and h.status == status}
        if not entered:
            continue
        since = entered[first_holder(entered, ctx.settings.authority.get(dimension))]
        if tier_of(limits, ctx.now - since):
            return False, None
        at = since + limits[0]
        wake = at if wake is None else min(wake, at)
    return True, wake


def sla_targets(settings: ReconcileSettings) -> Iterator[tuple[Dimension, str, list[timedelta]]]:
    """Each SLA of `settings` as (dimension, status, its limits in ascending order); keys naming no
    status and SLAs without tiers are left out."""
    for key, tiers in settings.sla.items():
        target = sla_status(key)
        if target is not None and tiers:
            yield target[0], target[1], sorted(tiers)


def first_holder(entered: Mapping[str, datetime], authority: str | None) -> str:
    """Of the systems holding an order in a status (system -> since when): the authority, else the
    first to get there (by name when at the same moment)."""
    if authority is not None and authority in entered:
        return authority
    return min(entered, key=lambda system: (entered[system], system))


def sla_status(key: str) -> tuple[Dimension, str] | None:
    """An SLA key, `preparing` or `shipment.in_transit`, as (dimension, status); None when unknown."""
    name, _, status = key.rpartition(".")
    if not name:
        found = dimension_of_status(status)
        return (found, status) if found else None
    if name not in Dimension.__members__ or not is_valid_status(Dimension(name), status):
        return None
    return Dimension(name), status


def holder(
    snapshot: OrderSnapshot, dimension: Dimension, status: str, authority: str | None
) -> tuple[Observation, datetime] | None:
    """The system holding the order in `status` on `dimension`, and since when; None when the order is
    not there. An order is in a progress stage while no system shows progress beyond it (on fulfilment a
    shipment status counts for what it implies: a carrier's delivered moves a shipped order on). An
    authority reporting a side state (on hold, cancelled) puts the order there; without one, each system
    reporting a side state holds it. Of several holders: the authority, else the first to get there."""
    statuses = snapshot.by_system(dimension)
    said = statuses.get(authority) if authority is not None else None
    said_status = said.status(dimension) if said is not None else None
    if said is not None and said_status != UNMAPPED and rank(dimension, said_status) is None:
        return (said, entered(snapshot, said, dimension)) if said_status == status else None
    stage = rank(dimension, status)
    if stage is not None:
        progress = [found for obs in statuses.values() if (found := reached(obs, dimension)) is not None]
        if max(progress, default=None) != stage:
            return None
    elif said is not None:
        return None  # the authority says where the order is, and it is not in this side state
    holders = {
        system: (obs, entered(snapshot, obs, dimension))
        for system, obs in statuses.items()
        if obs.status(dimension) == status
    }
    if not holders:
        return None
    return holders[first_holder({system: at for system, (_, at) in holders.items()}, authority)]
