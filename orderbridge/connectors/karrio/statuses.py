"""Karrio's unified TrackerStatus. `return_to_sender` does not tell on its way from done: returning."""

from __future__ import annotations

from orderbridge.connectors.push.codes import CodeTable, preset_table
from orderbridge.mapping.model import Dimension, ShipmentStatus
from orderbridge.mapping.status import StatusTable

S = ShipmentStatus

STATUS = CodeTable(
    "status",
    {
        S.unknown: ["unknown"],
        S.info_received: ["pending"],
        S.picked_up: ["picked_up"],
        S.in_transit: ["in_transit", "delivery_delayed"],
        S.out_for_delivery: ["out_for_delivery"],
        S.available_for_pickup: ["ready_for_pickup"],
        S.delivered: ["delivered"],
        S.delivery_failed: ["delivery_failed"],
        S.returning: ["return_to_sender"],
        S.exception: ["on_hold"],
        S.cancelled: ["cancelled"],
    },
)


def table() -> StatusTable:
    return preset_table(Dimension.shipment, STATUS)
