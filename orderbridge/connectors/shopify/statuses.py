"""Shopify's orthogonal order statuses, each onto its own dimension: fulfilment (fulfillment_status,
with a cancelled order cancelled), billing (financial_status) and, from the latest fulfilment,
shipment (shipment_status)."""

from __future__ import annotations

from orderbridge.connectors.push.codes import CodeTable, preset_table
from orderbridge.mapping.model import BillingStatus, Dimension, FulfillmentStatus, ShipmentStatus
from orderbridge.mapping.status import StatusTable

F, B, S = FulfillmentStatus, BillingStatus, ShipmentStatus

# `cancelled` is set by the parser from cancelled_at; `unfulfilled` stands for fulfillment_status null.
FULFILLMENT = CodeTable(
    "fulfillment",
    {
        F.cancelled: ["cancelled", "restocked"],
        F.placed: ["unfulfilled"],
        F.preparing: ["partial"],
        F.shipped: ["fulfilled"],
    },
)

FINANCIAL = CodeTable(
    "financial_status",
    {
        B.unbilled: ["unpaid"],
        B.invoiced: ["pending", "authorized"],
        B.partially_paid: ["partially_paid"],
        B.paid: ["paid", "partially_refunded"],
        B.refunded: ["refunded"],
        B.voided: ["voided", "expired"],
    },
)

SHIPMENT = CodeTable(
    "shipment_status",
    {
        S.info_received: ["label_printed", "label_purchased", "confirmed"],
        S.in_transit: ["in_transit"],
        S.out_for_delivery: ["out_for_delivery"],
        S.available_for_pickup: ["ready_for_pickup"],
        S.delivery_failed: ["attempted_delivery"],
        S.delivered: ["delivered"],
        S.exception: ["failure"],
    },
)


def tables() -> list[StatusTable]:
    return [
        preset_table(Dimension.fulfillment, FULFILLMENT),
        preset_table(Dimension.billing, FINANCIAL),
        preset_table(Dimension.shipment, SHIPMENT),
    ]
