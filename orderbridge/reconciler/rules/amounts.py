"""Rules on the numbers: quantities ordered, shipped and invoiced, and amounts ordered, invoiced and
paid, compared across systems within the configured tolerance."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from orderbridge.mapping.model import BillingStatus, Dimension, FulfillmentStatus, Observation
from orderbridge.reconciler.rules.common import Check, findings, number, pair, reference_value
from orderbridge.reconciler.settings import ToleranceSettings
from orderbridge.reconciler.types import OrderSnapshot, Outcome, RuleContext

SHIPPED = frozenset({FulfillmentStatus.shipped, FulfillmentStatus.delivered})


@dataclass(frozen=True)
class Measure:
    """One number one system reports; `label` names it in summaries."""

    obs: Observation
    label: str
    value: Decimal
    currency: str | None = None

    def text(self) -> str:
        return f"{self.value} {self.currency}" if self.currency else number(self.value)


def quantity_mismatch(snapshot: OrderSnapshot, ctx: RuleContext) -> Iterator[Outcome]:
    fulfillment = Dimension.fulfillment
    tolerance = ctx.settings.tolerance
    observations = snapshot.by_system()
    authority = ctx.settings.authority.get(fulfillment)
    checks: list[Check] = []

    ordered = reference_value(observations, lambda obs: obs.quantities.ordered, authority)
    if ordered is not None:
        expected = Measure(ordered[0], "ordered quantity", ordered[1])
        for system, obs in sorted(observations.items()):
            if system != expected.obs.system and obs.quantities.ordered is not None:
                measured = Measure(obs, "ordered quantity", obs.quantities.ordered)
                checks.extend(
                    _quantity("ordered_between_systems", fulfillment, measured, expected, tolerance)
                )
        for _system, obs in sorted(observations.items()):
            if obs.status(fulfillment) in SHIPPED and obs.quantities.shipped is not None:
                measured = Measure(obs, "shipped quantity", obs.quantities.shipped)
                checks.extend(_quantity("shipped_vs_ordered", fulfillment, measured, expected, tolerance))

    # A shipped quantity counts once something shipped: an invoice ahead of shipping is billing policy.
    shipping = {system: obs for system, obs in observations.items() if _has_shipped(obs)}
    shipped = reference_value(shipping, lambda obs: obs.quantities.shipped, authority)
    if shipped is not None:
        expected = Measure(shipped[0], "shipped quantity", shipped[1])
        for _system, obs in sorted(observations.items()):
            if obs.quantities.invoiced is not None:
                measured = Measure(obs, "invoiced quantity", obs.quantities.invoiced)
                checks.extend(
                    _quantity("invoiced_vs_shipped", Dimension.billing, measured, expected, tolerance)
                )

    return findings("quantity_mismatch", checks, listed=True)


def amount_mismatch(snapshot: OrderSnapshot, ctx: RuleContext) -> Iterator[Outcome]:
    tolerance = ctx.settings.tolerance
    observations = snapshot.by_system()
    authority = ctx.settings.authority.get(Dimension.billing)
    checks: list[Check] = []

    order = reference_value(observations, lambda obs: obs.amounts.order, authority)
    if order is not None:
        expected = _money(order[0], "order amount", order[1])
        for system, obs in sorted(observations.items()):
            if system != expected.obs.system and obs.amounts.order is not None:
                measured = _money(obs, "order amount", obs.amounts.order)
                checks.extend(_amount("order_between_systems", measured, expected, tolerance))
            if obs.amounts.invoiced is not None:
                measured = _money(obs, "invoiced amount", obs.amounts.invoiced)
                checks.extend(_amount("invoiced_vs_order", measured, expected, tolerance))

    invoiced = reference_value(observations, lambda obs: obs.amounts.invoiced, authority)
    for _system, obs in sorted(observations.items()):
        if obs.status(Dimension.billing) != BillingStatus.paid or obs.amounts.paid is None:
            continue
        # Paid is compared with the paying system's own invoice when it has one.
        against = (obs, obs.amounts.invoiced) if obs.amounts.invoiced is not None else invoiced
        if against is not None:
            measured = _money(obs, "paid amount", obs.amounts.paid)
            expected = _money(against[0], "invoiced amount", against[1])
            checks.extend(_amount("paid_vs_invoiced", measured, expected, tolerance))

    return findings("amount_mismatch", checks, listed=True)


def exceeds(value: Decimal, expected: Decimal, absolute: Decimal, percent: Decimal) -> bool:
    """A difference within either the absolute or the relative (% of `expected`) tolerance is no mismatch."""
    difference = abs(value - expected)
    if difference <= absolute:
        return False
    if percent == 0 or expected == 0:
        return True
    return difference * 100 / abs(expected) > percent


def _has_shipped(obs: Observation) -> bool:
    shipped = obs.quantities.shipped
    return shipped is not None and (shipped > 0 or obs.status(Dimension.fulfillment) in SHIPPED)


def _money(obs: Observation, label: str, value: Decimal) -> Measure:
    return Measure(obs, label, value, obs.amounts.currency)


def _quantity(
    check: str, dimension: Dimension, measured: Measure, expected: Measure, tolerance: ToleranceSettings
) -> Iterator[Check]:
    if exceeds(measured.value, expected.value, tolerance.quantity, tolerance.quantity_percent):
        facts = {
            "difference": str(measured.value - expected.value),
            "tolerance": str(tolerance.quantity),
            "tolerance_percent": str(tolerance.quantity_percent),
        }
        yield _check(check, dimension, measured, expected, _differs(measured, expected), facts)


def _amount(
    check: str, measured: Measure, expected: Measure, tolerance: ToleranceSettings
) -> Iterator[Check]:
    limits = {"tolerance": str(tolerance.amount), "tolerance_percent": str(tolerance.amount_percent)}
    # Different currencies are not numbers to compare: the difference is reported as such.
    if _currency(measured) and _currency(expected) and _currency(measured) != _currency(expected):
        summary = (
            f"{measured.label} in {measured.obs.system} is in {measured.currency} "
            f"but {expected.label} in {expected.obs.system} is in {expected.currency}"
        )
        yield _check(check, Dimension.billing, measured, expected, summary, {"currencies_differ": True})
    elif exceeds(measured.value, expected.value, tolerance.amount, tolerance.amount_percent):
        facts = {"difference": str(measured.value - expected.value), **limits}
        yield _check(check, Dimension.billing, measured, expected, _differs(measured, expected), facts)


def _currency(measure: Measure) -> str:
    return (measure.currency or "").strip().upper()


def _differs(measured: Measure, expected: Measure) -> str:
    first, second = f"{measured.label} {measured.text()}", f"{expected.label} {expected.text()}"
    if measured.obs.system == expected.obs.system:
        return f"in {measured.obs.system}, {first} differs from {second}"
    return f"{first} in {measured.obs.system} differs from {second} in {expected.obs.system}"


def _check(
    check: str,
    dimension: Dimension,
    measured: Measure,
    expected: Measure,
    summary: str,
    facts: dict[str, Any],
) -> Check:
    return Check(
        dimension=dimension,
        systems=pair(measured.obs.system, expected.obs.system),
        severity="warning",
        since=max(measured.obs.effective_at, expected.obs.effective_at),
        summary=summary,
        says={measured.obs.system: _numbers(measured.obs), expected.obs.system: _numbers(expected.obs)},
        facts={"check": check, "measured": _fact(measured), "expected": _fact(expected), **facts},
    )


def _fact(measure: Measure) -> dict[str, str | None]:
    return {
        "system": measure.obs.system,
        "what": measure.label,
        "value": str(measure.value),
        "currency": measure.currency,
    }


def _numbers(obs: Observation) -> dict[str, Any]:
    """What a system says that the number rules look at, JSON-safe."""

    def text(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {
        "record_id": obs.record_id,
        "fulfillment": obs.status(Dimension.fulfillment),
        "billing": obs.status(Dimension.billing),
        "ordered": text(obs.quantities.ordered),
        "shipped": text(obs.quantities.shipped),
        "invoiced": text(obs.quantities.invoiced),
        "order_amount": text(obs.amounts.order),
        "invoiced_amount": text(obs.amounts.invoiced),
        "paid_amount": text(obs.amounts.paid),
        "currency": obs.amounts.currency,
    }
