"""The canonical order model: dimensions, their ordered progress and side states, and the records
that flow through the pipeline (SourceRecord from connectors, Observation after mapping)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

UNMAPPED = "unmapped"


class Dimension(StrEnum):
    fulfillment = "fulfillment"
    shipment = "shipment"
    billing = "billing"


class FulfillmentStatus(StrEnum):
    placed = "placed"
    approved = "approved"
    preparing = "preparing"
    ready_to_ship = "ready_to_ship"
    shipped = "shipped"
    delivered = "delivered"
    on_hold = "on_hold"
    cancelled = "cancelled"
    returned = "returned"
    closed = "closed"


class ShipmentStatus(StrEnum):
    info_received = "info_received"
    picked_up = "picked_up"
    in_transit = "in_transit"
    out_for_delivery = "out_for_delivery"
    available_for_pickup = "available_for_pickup"
    delivered = "delivered"
    delivery_failed = "delivery_failed"
    returning = "returning"
    returned = "returned"
    exception = "exception"
    cancelled = "cancelled"
    expired = "expired"
    unknown = "unknown"


class BillingStatus(StrEnum):
    unbilled = "unbilled"
    invoiced = "invoiced"
    partially_paid = "partially_paid"
    paid = "paid"
    refunded = "refunded"
    voided = "voided"


_F, _S, _B = FulfillmentStatus, ShipmentStatus, BillingStatus

# Progress states are ordered low -> high; side states are outside the order. Each dimension's
# statuses are its enum's members: the enums are the vocabulary, these tuples only order it.
PROGRESS: dict[Dimension, tuple[str, ...]] = {
    Dimension.fulfillment: (_F.placed, _F.approved, _F.preparing, _F.ready_to_ship, _F.shipped, _F.delivered),
    Dimension.shipment: (
        _S.info_received,
        _S.picked_up,
        _S.in_transit,
        _S.out_for_delivery,
        _S.available_for_pickup,
        _S.delivered,
    ),
    Dimension.billing: (_B.unbilled, _B.invoiced, _B.partially_paid, _B.paid),
}

STATUS_ENUMS: dict[Dimension, type[StrEnum]] = {
    Dimension.fulfillment: FulfillmentStatus,
    Dimension.shipment: ShipmentStatus,
    Dimension.billing: BillingStatus,
}

SIDE: dict[Dimension, tuple[str, ...]] = {
    dimension: tuple(s for s in members if s not in PROGRESS[dimension])
    for dimension, members in STATUS_ENUMS.items()
}

# A shipment status implies a fulfilment status (design §2).
SHIPMENT_IMPLIES_FULFILLMENT: dict[str, FulfillmentStatus] = {
    _S.picked_up: _F.shipped,
    _S.in_transit: _F.shipped,
    _S.out_for_delivery: _F.shipped,
    _S.available_for_pickup: _F.shipped,
    _S.delivered: _F.delivered,
    _S.returned: _F.returned,
}


def statuses_of(dimension: Dimension) -> tuple[str, ...]:
    return PROGRESS[dimension] + SIDE[dimension]


def is_valid_status(dimension: Dimension, status: str) -> bool:
    return status == UNMAPPED or status in PROGRESS[dimension] or status in SIDE[dimension]


def rank(dimension: Dimension, status: str | None) -> int | None:
    """Position of a progress state (0 = lowest); None for side states, unmapped or no status."""
    if status is None:
        return None
    try:
        return PROGRESS[dimension].index(status)
    except ValueError:
        return None


def dimension_of_status(name: str) -> Dimension | None:
    """The first dimension (fulfillment, shipment, billing) whose vocabulary holds `name`."""
    for dimension in Dimension:
        if name in statuses_of(dimension):
            return dimension
    return None


class Quantities(BaseModel):
    model_config = ConfigDict(frozen=True)

    ordered: Decimal | None = None
    shipped: Decimal | None = None
    invoiced: Decimal | None = None


class Amounts(BaseModel):
    model_config = ConfigDict(frozen=True)

    order: Decimal | None = None
    invoiced: Decimal | None = None
    paid: Decimal | None = None
    currency: str | None = None


class SourceRecord(BaseModel):
    """What a connector read from one system about one record, before any interpretation."""

    system: str
    record_id: str = Field(description="The system's own identity of the record (internal id or row key).")
    order_ref: str | None = Field(default=None, description="The native order/document number, verbatim.")
    parent_ref: str | None = Field(
        default=None,
        description="The number of the order a child document (a delivery, an invoice) belongs to, when "
        "the record has no order number of its own; it gives the order key the same way.",
    )
    external_ref: str | None = None
    native_status: dict[str, str | None] = Field(default_factory=dict)
    status_at: datetime | None = None
    quantities: Quantities = Field(default_factory=Quantities)
    amounts: Amounts = Field(default_factory=Amounts)
    links: dict[str, str] = Field(default_factory=dict)
    reason: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict)

    @field_validator("status_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("status_at must carry a time zone")
        return value


class CanonicalStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: str
    native: str | None = Field(default=None, description="The native value(s) it was mapped from, verbatim.")
    implied: bool = Field(default=False, description="Derived from another dimension, not reported.")


class Observation(BaseModel):
    """A SourceRecord translated into the canonical model."""

    system: str
    record_id: str
    order_key: str | None = Field(description="Canonical order key; None while the record links to no order.")
    order_ref: str | None = None
    external_ref: str | None = None
    statuses: dict[Dimension, CanonicalStatus] = Field(default_factory=dict)
    native_status: dict[str, str | None] = Field(default_factory=dict)
    status_at: datetime | None = None
    observed_at: datetime
    quantities: Quantities = Field(default_factory=Quantities)
    amounts: Amounts = Field(default_factory=Amounts)
    links: dict[str, str] = Field(default_factory=dict)
    reason: str | None = None

    def status(self, dimension: Dimension) -> str | None:
        found = self.statuses.get(dimension)
        return found.status if found else None

    @property
    def effective_at(self) -> datetime:
        return self.status_at or self.observed_at


@dataclass(frozen=True)
class HistoryEntry:
    """One status a system reported for an order on one dimension (the audit trail)."""

    system: str
    record_id: str
    dimension: Dimension
    status: str
    native: str | None
    at: datetime  # when the source says it changed, else when we saw it
    observed_at: datetime
