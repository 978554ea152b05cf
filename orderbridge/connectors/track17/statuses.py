"""17TRACK's vocabulary: `sub_status` (finer, checked first), then the main `status`."""

from __future__ import annotations

from orderbridge.connectors.push.codes import CodeTable, preset_table
from orderbridge.mapping.model import Dimension, ShipmentStatus
from orderbridge.mapping.status import StatusTable

S = ShipmentStatus

SUB_STATUS = CodeTable(
    "sub_status",
    {
        S.picked_up: ["InTransit_PickedUp"],
        S.returning: ["Exception_Returning"],
        S.returned: ["Exception_Returned"],
        S.cancelled: ["Exception_Cancel"],
        S.exception: ["DeliveryFailure_Security"],  # security/customs/fees: not a failed attempt
    },
)

STATUS = CodeTable(
    "status",
    {
        S.unknown: ["NotFound"],
        S.info_received: ["InfoReceived"],
        S.in_transit: ["InTransit"],
        S.out_for_delivery: ["OutForDelivery"],
        S.available_for_pickup: ["AvailableForPickup"],
        S.delivery_failed: ["DeliveryFailure"],
        S.delivered: ["Delivered"],
        S.exception: ["Exception"],
        S.expired: ["Expired"],
    },
)


def table() -> StatusTable:
    return preset_table(Dimension.shipment, SUB_STATUS, STATUS)
