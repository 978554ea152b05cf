"""EasyPost's vocabulary: `status_detail` (finer, checked first), then `status`.

`return_to_sender` alone does not say whether the return is on its way or done; the detail
`return` is read as returning, and `is_return` with `delivered` as returned (see the parser)."""

from __future__ import annotations

from orderbridge.connectors.push.codes import CodeTable, preset_table
from orderbridge.mapping.model import Dimension, ShipmentStatus
from orderbridge.mapping.status import StatusTable

S = ShipmentStatus

DETAIL = CodeTable(
    "status_detail",
    {
        S.picked_up: ["received_at_origin_facility"],
        S.available_for_pickup: ["arrived_at_pickup_location"],
        S.returning: ["return"],
        S.cancelled: ["cancelled"],
        S.expired: ["expired"],
        S.exception: ["damaged", "lost", "delivery_exception", "transit_exception", "held", "refused"],
    },
)

STATUS = CodeTable(
    "status",
    {
        S.unknown: ["unknown"],
        S.info_received: ["pre_transit"],
        S.in_transit: ["in_transit"],
        S.out_for_delivery: ["out_for_delivery"],
        S.available_for_pickup: ["available_for_pickup"],
        S.delivered: ["delivered"],
        S.returned: ["returned_to_sender"],  # the parser's reading of return_to_sender + delivered
        S.returning: ["return_to_sender"],
        S.delivery_failed: ["failure"],
        S.cancelled: ["cancelled"],
        S.exception: ["error"],
    },
)


def table() -> StatusTable:
    return preset_table(Dimension.shipment, DETAIL, STATUS)
