"""Cainiao's `logisticsStatus` (SmartLogisticsReport), Taobao/Cainiao trace statuses, and the global
action codes that are known."""

from __future__ import annotations

from orderbridge.connectors.push.codes import CodeTable, preset_table
from orderbridge.mapping.model import Dimension, ShipmentStatus
from orderbridge.mapping.status import StatusTable

S = ShipmentStatus

STATUS = CodeTable(
    "logisticsStatus",
    {
        S.info_received: ["WAIT", "ACCEPT"],
        S.picked_up: ["GOT"],
        S.in_transit: ["TRANSPORT", "MODIFY_WEIGHT"],
        S.out_for_delivery: ["DELIVERING", "GTMS_DO_DEPART"],
        S.available_for_pickup: ["STA_INBOUND"],
        S.delivered: ["SIGN", "AGENT_SIGN", "STA_SIGN", "GTMS_SIGNED"],
        S.delivery_failed: ["FAILED", "REJECT"],
        S.returned: ["RETURN_SIGN"],
        S.cancelled: ["CANCEL"],
    },
)


def table() -> StatusTable:
    return preset_table(Dimension.shipment, STATUS)
