"""Shippo's vocabulary: `substatus.code` (finer, checked first; out for delivery, pickup available and
failed attempts exist only there), then the six top-level statuses."""

from __future__ import annotations

from orderbridge.connectors.push.codes import CodeTable, preset_table
from orderbridge.mapping.model import Dimension, ShipmentStatus
from orderbridge.mapping.status import StatusTable

S = ShipmentStatus

SUBSTATUS = CodeTable(
    "substatus",
    {
        S.info_received: ["information_received"],
        S.picked_up: ["package_accepted"],
        S.out_for_delivery: ["out_for_delivery"],
        S.available_for_pickup: ["pickup_available"],
        S.delivery_failed: ["delivery_attempted", "notice_left", "location_inaccessible"],
        S.returning: ["return_to_sender"],
        S.returned: ["returned"],
        S.exception: [
            "package_damaged",
            "package_lost",
            "package_disposed",
            "package_undeliverable",
            "address_issue",
        ],
    },
)

STATUS = CodeTable(
    "status",
    {
        S.unknown: ["UNKNOWN"],
        S.info_received: ["PRE_TRANSIT"],
        S.in_transit: ["TRANSIT"],
        S.delivered: ["DELIVERED"],
        S.returned: ["RETURNED"],
        S.exception: ["FAILURE"],
    },
)


def table() -> StatusTable:
    return preset_table(Dimension.shipment, SUBSTATUS, STATUS)
