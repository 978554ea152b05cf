"""What the rules share: reading what each system says about an order, and turning failed checks
into findings, merging the checks that share one fingerprint (rule, dimension, systems)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from orderbridge.mapping.model import SHIPMENT_IMPLIES_FULFILLMENT, Dimension, Observation, rank
from orderbridge.reconciler.types import SEVERITY_ORDER, Finding, OrderSnapshot, Severity


@dataclass(frozen=True)
class Check:
    """One failed comparison. `says` is what each involved system says; `facts` this check's values."""

    dimension: Dimension | None
    systems: tuple[str, ...]
    severity: Severity
    since: datetime
    summary: str
    says: dict[str, dict[str, Any]]
    facts: dict[str, Any] = field(default_factory=dict)
    tier: int = 0
    grace_exempt: bool = False


def findings(rule: str, checks: Iterable[Check], *, listed: bool = False) -> Iterator[Finding]:
    """One Finding per fingerprint. Details are what each system says plus the check's facts, or, when
    `listed` or when several checks merge, plus `checks`: the facts of each check."""
    groups: dict[tuple[Dimension | None, tuple[str, ...]], list[Check]] = {}
    for check in checks:
        groups.setdefault((check.dimension, check.systems), []).append(check)
    for (dimension, systems), group in groups.items():
        details: dict[str, Any] = {}
        for check in group:
            for system, statement in check.says.items():
                details.setdefault(system, {}).update(statement)
        if len(group) == 1 and not listed:
            details.update(group[0].facts)
        else:
            details["checks"] = [check.facts for check in group]
        yield Finding(
            rule=rule,
            dimension=dimension,
            systems=systems,
            severity=max((c.severity for c in group), key=SEVERITY_ORDER.__getitem__),
            since=min(c.since for c in group),
            summary="; ".join(dict.fromkeys(c.summary for c in group)),
            details=details,
            tier=max(c.tier for c in group),
            grace_exempt=any(c.grace_exempt for c in group),
        )


def pair(*systems: str) -> tuple[str, ...]:
    return tuple(sorted(set(systems)))


def entered(snapshot: OrderSnapshot, obs: Observation, dimension: Dimension) -> datetime:
    """When the system entered its current status on `dimension` (history, else the observation)."""
    status = obs.status(dimension)
    found = snapshot.entered_at(obs.system, obs.record_id, dimension, status) if status is not None else None
    return found or obs.effective_at


def reached(obs: Observation, dimension: Dimension) -> int | None:
    """The furthest progress `obs` shows on `dimension`: on fulfilment, a shipment status counts for the
    fulfilment status it implies (in_transit => shipped, delivered => delivered), even when the system
    also reports a fulfilment status of its own. None when it shows no progress at all."""
    ranks = [rank(dimension, obs.status(dimension))]
    if dimension is Dimension.fulfillment:
        ranks.append(implied_rank(obs))
    return max((found for found in ranks if found is not None), default=None)


def implied_rank(obs: Observation) -> int | None:
    """The fulfilment rank that `obs`'s shipment status implies, if any."""
    implied = SHIPMENT_IMPLIES_FULFILLMENT.get(obs.status(Dimension.shipment) or "")
    return rank(Dimension.fulfillment, implied)


def progress_rank(obs: Observation, dimension: Dimension) -> int:
    """Rank of a status known to be a progress state (see `progressing`)."""
    found = rank(dimension, obs.status(dimension))
    if found is None:
        raise ValueError(f"{obs.system} reports no {dimension.value} progress")
    return found


def progressing(snapshot: OrderSnapshot, dimension: Dimension) -> dict[str, Observation]:
    """Each system that reports a progress status on `dimension` (side states and unmapped left out)."""
    return {
        system: obs
        for system, obs in snapshot.by_system(dimension).items()
        if rank(dimension, obs.status(dimension)) is not None
    }


def most_advanced(
    snapshot: OrderSnapshot, dimension: Dimension, reporting: dict[str, Observation]
) -> str | None:
    """The system furthest ahead; on a tie the one that got there first, so the choice stays stable."""
    if not reporting:
        return None
    return min(
        reporting,
        key=lambda system: (
            -progress_rank(reporting[system], dimension),
            entered(snapshot, reporting[system], dimension),
            system,
        ),
    )


def statement(snapshot: OrderSnapshot, obs: Observation, dimension: Dimension) -> dict[str, Any]:
    """What `obs` says on `dimension`, JSON-safe."""
    said: dict[str, Any] = {"record_id": obs.record_id}
    found = obs.statuses.get(dimension)
    if found is None:
        said["status"] = None
        return said
    said.update(status=found.status, native=found.native, since=iso(entered(snapshot, obs, dimension)))
    if found.implied:
        said["implied"] = True
    return said


def phrase(obs: Observation, dimension: Dimension) -> str:
    """A status as a summary shows it: canonical, with the native words when they differ."""
    found = obs.statuses.get(dimension)
    return words(found.status, found.native) if found else "nothing"


def words(status: str, native: str | None) -> str:
    if native and native.casefold() != status.casefold():
        return f"{status} ({native})"
    return status


def reference_value(
    observations: dict[str, Observation],
    value: Callable[[Observation], Decimal | None],
    preferred: str | None,
) -> tuple[Observation, Decimal] | None:
    """The value to compare others against: the preferred system's, else the first by system name."""
    values = {system: found for system, obs in observations.items() if (found := value(obs)) is not None}
    if not values:
        return None
    chosen = preferred if preferred is not None and preferred in values else min(values)
    return observations[chosen], values[chosen]


def iso(moment: datetime) -> str:
    return moment.isoformat()


def when(moment: datetime, zone: tzinfo = UTC) -> str:
    """A time as a summary shows it: in the display zone, named only when it is UTC."""
    shown = moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    return f"{shown} UTC" if zone is UTC else shown


def spoken(span: timedelta) -> str:
    """A duration as people say it: 1 day, 3 days, 2 hours 30 minutes."""
    minutes = int(span.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    words = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in parts if n]
    return " ".join(words) if words else f"{int(span.total_seconds())} seconds"


def number(value: Decimal) -> str:
    """A quantity without trailing zeros: 10.00 -> 10, 2.50 -> 2.5."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def hours(span: timedelta) -> float:
    return round(span.total_seconds() / 3600, 1)
