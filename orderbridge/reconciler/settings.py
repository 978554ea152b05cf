"""Settings of reconciliation (`reconcile:` in the config file)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from orderbridge.config.types import Duration, Interval, PositiveDuration
from orderbridge.mapping.model import Dimension, FulfillmentStatus

# Rules whose disagreement is not a matter of systems lagging each other: no grace unless configured.
NO_DEFAULT_GRACE = frozenset({"unmapped_status", "duplicate", "regression", "status_conflict"})


class ExpectSettings(BaseModel):
    """An order is expected in `system` once any system reports it at least `after` (fulfilment)."""

    model_config = ConfigDict(extra="forbid")

    system: str = Field(description="The system that must know the order.")
    after: str = Field(
        default=FulfillmentStatus.approved.value,
        description="Fulfilment status from which the order is expected.",
    )
    within: Duration = Field(
        default=timedelta(hours=2), description="How long after reaching `after` it must be there."
    )


class ToleranceSettings(BaseModel):
    """How far two numbers may differ and still agree: within the absolute or the relative limit (of the
    number compared against) is agreement. Amounts in different currencies are never compared as numbers:
    that is reported as a mismatch of its own. An amount without a currency is taken to be in the other's."""

    model_config = ConfigDict(extra="forbid")

    quantity: Decimal = Field(default=Decimal(0), ge=0, description="Absolute quantity difference allowed.")
    quantity_percent: Decimal = Field(
        default=Decimal(0), ge=0, description="Relative quantity difference allowed, in %."
    )
    amount: Decimal = Field(default=Decimal("0.01"), ge=0, description="Absolute amount difference allowed.")
    amount_percent: Decimal = Field(
        default=Decimal(0), ge=0, description="Relative difference allowed, in %."
    )


class ReconcileSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    every: Interval = Field(default=timedelta(minutes=5), description="Interval between reconcile passes.")
    authority: dict[Dimension, str] = Field(
        default_factory=dict, description="Dimension -> the system whose word is authoritative."
    )
    grace: dict[str, Duration] = Field(
        default_factory=lambda: {"default": timedelta(minutes=30)},
        description="`default`, then per system name or rule name; the longest that applies wins.",
    )
    sla: dict[str, list[PositiveDuration]] = Field(
        default_factory=dict,
        description="Canonical status -> tiers of time allowed in it, e.g. {preparing: [1d, 3d]}.",
    )
    expect: list[ExpectSettings] = Field(
        default_factory=list,
        description="Where orders must appear (the missing rule), e.g. "
        "[{system: wms, after: approved, within: 2h}].",
    )
    tolerance: ToleranceSettings = Field(
        default_factory=ToleranceSettings,
        description="How far quantities and amounts may differ and still agree (either limit suffices).",
    )
    escalation: list[PositiveDuration] = Field(
        default_factory=lambda: [timedelta(days=1), timedelta(days=3)],
        description="Age tiers at which an open discrepancy escalates.",
    )
    rules: list[str] | None = Field(default=None, description="Rules to run; default all.")

    def grace_for(self, rule: str, systems: tuple[str, ...]) -> timedelta:
        specific = [self.grace[name] for name in (rule, *systems) if name in self.grace]
        if specific:
            return max(specific)
        if rule in NO_DEFAULT_GRACE:
            return timedelta(0)
        return self.grace.get("default", timedelta(minutes=30))
