"""SF's `opCode` (carrier-internal and open-ended: map new codes in the system's `status:` block). A route
node with a reason code and an opCode nobody mapped is an exception."""

from __future__ import annotations

from orderbridge.connectors.push.codes import CodeTable, preset_table
from orderbridge.mapping.model import Dimension, ShipmentStatus
from orderbridge.mapping.status import StatusRule, StatusTable

S = ShipmentStatus

OP_CODE = CodeTable(
    "opCode",
    {
        S.picked_up: ["50", "54"],  # 顺丰已收件
        S.in_transit: ["30", "31", "36", "130", "99", "607", "123", "407", "501"],
        S.out_for_delivery: ["44", "204"],  # 派送中
        S.delivered: ["80", "8000"],  # 已签收
        S.returned: ["631"],
        S.returning: ["648"],
        S.delivery_failed: ["70", "33"],
    },
)

EXTRA = [StatusRule(when={"reasonCode": "*"}, then=S.exception)]


def table() -> StatusTable:
    return preset_table(Dimension.shipment, OP_CODE, extra=EXTRA)
