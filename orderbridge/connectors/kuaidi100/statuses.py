"""Kuaidi100's `lastResult.state`: the ten basic states and, with resultv2, the advanced ones (101 已下单,
301 本人签收, 501 投柜或驿站, ...). The monitoring status `abort` (no result for 3 days, or no change for 60)
means expired only when the parcel has no state at all."""

from __future__ import annotations

from orderbridge.connectors.push.codes import CodeTable, preset_table
from orderbridge.mapping.model import Dimension, ShipmentStatus
from orderbridge.mapping.status import Condition, StatusRule, StatusTable

S = ShipmentStatus

STATE = CodeTable(
    "state",
    {
        S.info_received: ["101", "102"],  # 已下单, 待揽收
        S.picked_up: ["1", "103"],  # 揽收, 已揽收
        # 在途, 到达派件城市, 干线, 转递; 转投; 清关 and its steps (customs is a reason, not a state)
        S.in_transit: ["0", "1001", "1002", "1003", "7", "8", "10", "11", "12"],
        S.out_for_delivery: ["5"],  # 派件
        S.available_for_pickup: ["501"],  # 投柜或驿站
        S.delivered: ["3", "301", "302", "303", "304"],  # 签收 and how
        S.returned: ["4"],  # 退签: back with the sender
        S.cancelled: ["401"],  # 已销单
        S.returning: ["6"],  # 退回
        S.delivery_failed: ["14"],  # 拒签: refused
        S.exception: ["2", "13"],  # 疑难, 清关异常
    },
)

EXTRA = [
    StatusRule(when={"state": Condition(gte=200, lt=300)}, then=S.exception),  # 2xx: kinds of 疑难
    StatusRule(when={"state": Condition(empty=True), "monitor": Condition(in_=["abort"])}, then=S.expired),
]


def table() -> StatusTable:
    return preset_table(Dimension.shipment, STATE, extra=EXTRA)
