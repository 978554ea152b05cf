"""Rules on where each system says an order is: behind the others, ahead of its authority,
in incompatible states, or moved backwards."""

from __future__ import annotations

from collections.abc import Iterator

from orderbridge.mapping.model import (
    PROGRESS,
    BillingStatus,
    Dimension,
    FulfillmentStatus,
    Observation,
    ShipmentStatus,
    rank,
)
from orderbridge.reconciler.rules.common import (
    Check,
    entered,
    findings,
    implied_rank,
    iso,
    most_advanced,
    pair,
    phrase,
    progress_rank,
    progressing,
    reached,
    statement,
    when,
    words,
)
from orderbridge.reconciler.types import HistoryEntry, OrderSnapshot, Outcome, RuleContext, Severity

SHIPPED = frozenset({FulfillmentStatus.shipped, FulfillmentStatus.delivered})
PAID = frozenset({BillingStatus.paid, BillingStatus.partially_paid})
LEFT_WAREHOUSE = PROGRESS[Dimension.shipment].index(ShipmentStatus.picked_up)
# Shipment side states that only a parcel on its way can be in.
UNDER_WAY = frozenset({ShipmentStatus.delivery_failed, ShipmentStatus.returning, ShipmentStatus.exception})
GOODS_LEFT = "goods left for a cancelled order"
GOODS_LEFT_ON_HOLD = "goods left for an order on hold"
# Side states that stop an order: every other system should stop too.
STOPPED = {
    FulfillmentStatus.cancelled: "cancelled the order",
    FulfillmentStatus.on_hold: "put the order on hold",
    FulfillmentStatus.closed: "closed the order",
}
CANCELLED_PAID = "a cancelled order is paid"
VOIDED_PAID = "a voided bill is paid"
# A terminal side state ends a cycle: progress after it (shipping again after a return, an order taken up
# again after it was cancelled, a new invoice after a void) starts afresh and is no step back. On hold,
# a failed delivery or an unmapped value only interrupt a cycle.
CYCLE_ENDS: dict[Dimension, frozenset[str]] = {
    Dimension.fulfillment: frozenset(
        {FulfillmentStatus.cancelled, FulfillmentStatus.returned, FulfillmentStatus.closed}
    ),
    Dimension.shipment: frozenset(
        {ShipmentStatus.returned, ShipmentStatus.cancelled, ShipmentStatus.expired}
    ),
    Dimension.billing: frozenset({BillingStatus.refunded, BillingStatus.voided}),
}


def status_lag(snapshot: OrderSnapshot, ctx: RuleContext) -> Iterator[Outcome]:
    checks = []
    for dimension in Dimension:
        reporting = progressing(snapshot, dimension)
        authority = ctx.settings.authority.get(dimension)
        if authority is None:
            reference = most_advanced(snapshot, dimension, reporting)
        else:
            reference = authority if authority in reporting else None
        if reference is None:
            continue
        ahead = reporting[reference]
        since = entered(snapshot, ahead, dimension)
        for system, behind in sorted(reporting.items()):
            # A status implied by a shipment status (in_transit => shipped) is no claim on this
            # dimension: the carrier's progress is judged on the shipment dimension.
            if behind.statuses[dimension].implied:
                continue
            if progress_rank(behind, dimension) >= progress_rank(ahead, dimension):
                continue
            checks.append(
                Check(
                    dimension=dimension,
                    systems=pair(system, reference),
                    severity="warning",
                    since=since,
                    summary=f"{system} says {phrase(behind, dimension)}; "
                    f"{reference} says {phrase(ahead, dimension)} since {when(since, ctx.zone)}",
                    says={
                        system: statement(snapshot, behind, dimension),
                        reference: statement(snapshot, ahead, dimension),
                    },
                    facts={"behind": system, "reference": reference, "authority": authority},
                )
            )
    return findings("status_lag", checks)


def ahead_of_authority(snapshot: OrderSnapshot, ctx: RuleContext) -> Iterator[Outcome]:
    checks = []
    for dimension, authority in ctx.settings.authority.items():
        reporting = progressing(snapshot, dimension)
        confirmed = reporting.get(authority)
        if confirmed is None:
            continue
        for system, claim in sorted(reporting.items()):
            # A status implied from another dimension (carrier delivered => delivered) is not a claim.
            if claim.statuses[dimension].implied:
                continue
            if progress_rank(claim, dimension) <= _confirmed(snapshot, ctx, dimension, confirmed, system):
                continue
            since = entered(snapshot, claim, dimension)
            checks.append(
                Check(
                    dimension=dimension,
                    systems=pair(system, authority),
                    severity="warning",
                    since=since,
                    summary=f"{system} says {phrase(claim, dimension)} since {when(since, ctx.zone)}, "
                    f"but {authority}, whose word counts for {dimension.value}, says "
                    f"{phrase(confirmed, dimension)}",
                    says={
                        system: statement(snapshot, claim, dimension),
                        authority: statement(snapshot, confirmed, dimension),
                    },
                    facts={"ahead": system, "authority": authority},
                )
            )
    return findings("ahead_of_authority", checks)


def _confirmed(
    snapshot: OrderSnapshot, ctx: RuleContext, dimension: Dimension, authority: Observation, claimant: str
) -> int:
    """How far progress on `dimension` is confirmed: as far as the authority says, and on fulfilment as
    far as a shipment status implies (a parcel the carrier delivered confirms delivered): the shipment
    authority's, or without one any system's but the claimant's own."""
    ranks = [reached(authority, dimension)]
    if dimension is Dimension.fulfillment:
        carrier = ctx.settings.authority.get(Dimension.shipment)
        ranks += [
            implied_rank(obs)
            for system, obs in snapshot.by_system(Dimension.shipment).items()
            if system != claimant and carrier in (None, system)
        ]
    return max(found for found in ranks if found is not None)


def status_conflict(snapshot: OrderSnapshot, ctx: RuleContext) -> Iterator[Outcome]:
    fulfillment = snapshot.by_system(Dimension.fulfillment)
    shipment = snapshot.by_system(Dimension.shipment)
    billing = snapshot.by_system(Dimension.billing)
    checks = []
    for system, cancelled in sorted(fulfillment.items()):
        if cancelled.status(Dimension.fulfillment) != FulfillmentStatus.cancelled:
            continue
        side = (cancelled, Dimension.fulfillment)
        for other, obs in sorted(fulfillment.items()):
            # An implied fulfilment status is checked through the shipment status it came from.
            found = obs.statuses[Dimension.fulfillment]
            if other != system and found.status in SHIPPED and not found.implied:
                checks.append(_conflict(snapshot, side, (obs, Dimension.fulfillment), "critical", GOODS_LEFT))
        for other, obs in sorted(shipment.items()):
            state = obs.status(Dimension.shipment)
            moved = rank(Dimension.shipment, state)
            if other != system and ((moved is not None and moved >= LEFT_WAREHOUSE) or state in UNDER_WAY):
                checks.append(_conflict(snapshot, side, (obs, Dimension.shipment), "critical", GOODS_LEFT))
        for other, obs in sorted(billing.items()):
            if other != system and obs.status(Dimension.billing) in PAID:
                checks.append(_conflict(snapshot, side, (obs, Dimension.billing), "warning", CANCELLED_PAID))
    for system, voided in sorted(billing.items()):
        if voided.status(Dimension.billing) != BillingStatus.voided:
            continue
        side = (voided, Dimension.billing)
        for other, obs in sorted(billing.items()):
            if other != system and obs.status(Dimension.billing) in PAID:
                checks.append(_conflict(snapshot, side, (obs, Dimension.billing), "critical", VOIDED_PAID))
    return findings("status_conflict", checks, listed=True)


def _conflict(
    snapshot: OrderSnapshot,
    side: tuple[Observation, Dimension],
    other: tuple[Observation, Dimension],
    severity: Severity,
    consequence: str,
) -> Check:
    """`side` holds the cancelled or voided state; the finding belongs to its dimension."""
    (first, first_dimension), (second, second_dimension) = side, other
    since = max(entered(snapshot, first, first_dimension), entered(snapshot, second, second_dimension))
    return Check(
        dimension=first_dimension,
        systems=pair(first.system, second.system),
        severity=severity,
        since=since,
        summary=f"{first.system} says {phrase(first, first_dimension)}; "
        f"{second.system} says {second_dimension.value} {phrase(second, second_dimension)}: {consequence}",
        says={
            first.system: {first_dimension.value: statement(snapshot, first, first_dimension)},
            second.system: {second_dimension.value: statement(snapshot, second, second_dimension)},
        },
        facts={
            "conflict": consequence,
            "statuses": {
                first.system: f"{first_dimension.value} {first.status(first_dimension)}",
                second.system: f"{second_dimension.value} {second.status(second_dimension)}",
            },
        },
    )


def still_open(snapshot: OrderSnapshot, ctx: RuleContext) -> Iterator[Outcome]:
    """A system still moving an order on that another system cancelled, put on hold or closed. The
    authority's stop counts first; without it, the system that stopped the order first. Goods that
    left for a cancelled order are status_conflict's; a closed order may well have shipped before."""
    dimension = Dimension.fulfillment
    reported = {
        system: obs
        for system, obs in snapshot.by_system(dimension).items()
        if not obs.statuses[dimension].implied
    }
    stoppers = {system: obs for system, obs in reported.items() if obs.status(dimension) in STOPPED}
    if not stoppers:
        return iter(())
    authority = ctx.settings.authority.get(dimension)
    reference = (
        authority
        if authority in stoppers
        else min(stoppers, key=lambda s: (entered(snapshot, stoppers[s], dimension), s))
    )
    stopped = stoppers[reference]
    state = FulfillmentStatus(stopped.statuses[dimension].status)
    stopped_at = entered(snapshot, stopped, dimension)
    native = stopped.statuses[dimension].native
    said = f" ({native})" if native and native.casefold() != state.value else ""
    checks = []
    for system, obs in sorted(reported.items()):
        moving = rank(dimension, obs.status(dimension))
        if moving is None:
            continue  # a side state (stopped too, returned) or unmapped
        shipped = obs.status(dimension) in SHIPPED
        if shipped and state is not FulfillmentStatus.on_hold:
            continue
        checks.append(
            Check(
                dimension=dimension,
                systems=pair(system, reference),
                severity="critical" if shipped else "warning",
                since=max(stopped_at, entered(snapshot, obs, dimension)),
                summary=f"{reference} {STOPPED[state]}{said} on {when(stopped_at, ctx.zone)}; "
                f"{system} still says {phrase(obs, dimension)}"
                + (f": {GOODS_LEFT_ON_HOLD}" if shipped else ""),
                says={
                    reference: statement(snapshot, stopped, dimension),
                    system: statement(snapshot, obs, dimension),
                },
                facts={"stopped": reference, "still_open": system, "state": state.value},
            )
        )
    return findings("still_open", checks)


def regression(snapshot: OrderSnapshot, ctx: RuleContext) -> Iterator[Outcome]:
    # Per record: two records of one system (a duplicate) taking turns is not a status moving back.
    trails: dict[tuple[str, str, Dimension], list[HistoryEntry]] = {}
    for entry in snapshot.history:
        trails.setdefault((entry.system, entry.record_id, entry.dimension), []).append(entry)
    checks = []
    for (system, _record, dimension), trail in trails.items():
        latest = trail[-1]
        now_rank = rank(dimension, latest.status)
        start = max((i + 1 for i, e in enumerate(trail) if e.status in CYCLE_ENDS[dimension]), default=0)
        earlier = [(found, e) for e in trail[start:-1] if (found := rank(dimension, e.status)) is not None]
        if now_rank is None or not earlier:
            continue
        peak_rank, peak = max(earlier, key=lambda ranked: (ranked[0], ranked[1].at))
        if peak_rank <= now_rank:
            continue
        checks.append(
            Check(
                dimension=dimension,
                systems=(system,),
                severity="warning",
                since=latest.at,
                summary=f"{system} moved {dimension.value} back from {words(peak.status, peak.native)} "
                f"to {words(latest.status, latest.native)} on {when(latest.at, ctx.zone)}",
                says={system: _entry(latest)},
                facts={"from": _entry(peak), "to": _entry(latest)},
            )
        )
    return findings("regression", checks)


def _entry(entry: HistoryEntry) -> dict[str, str | None]:
    return {"status": entry.status, "native": entry.native, "at": iso(entry.at), "record_id": entry.record_id}
