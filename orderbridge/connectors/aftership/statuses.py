"""AfterShip's status vocabulary: `subtag` (finer, checked first), then `tag`."""

from __future__ import annotations

from orderbridge.connectors.push.codes import CodeTable, preset_table
from orderbridge.mapping.model import Dimension, ShipmentStatus
from orderbridge.mapping.status import StatusTable

S = ShipmentStatus

SUBTAG = CodeTable(
    "subtag",
    {
        S.picked_up: ["InTransit_002"],  # acceptance scan
        S.returning: ["Exception_010"],  # returning to sender
        S.returned: ["Exception_011"],  # returned to sender
    },
)

TAG = CodeTable(
    "tag",
    {
        S.unknown: ["Pending"],
        S.info_received: ["InfoReceived"],
        S.in_transit: ["InTransit"],
        S.out_for_delivery: ["OutForDelivery"],
        S.available_for_pickup: ["AvailableForPickup"],
        S.delivery_failed: ["AttemptFail"],
        S.delivered: ["Delivered"],
        S.exception: ["Exception"],
        S.expired: ["Expired"],
    },
)


def table() -> StatusTable:
    return preset_table(Dimension.shipment, SUBTAG, TAG)
