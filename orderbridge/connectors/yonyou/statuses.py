"""Yonyou's sales-order statuses. YonSuite: one lifecycle field, `nextStatusName`, of eight values
(assembled by integrators, not from an official enum page). U8: the document state (`state`: Opening
开立 / Approved 审核 / Changing 变更), the shipping state (`fhstatus`: 0 none, 1 part, 2 all shipped)
and a closed order told by its closer (`closer` not empty) — a vocabulary of low confidence that a
company checks against its own answers and overrides in YAML."""

from __future__ import annotations

from orderbridge.connectors.push.codes import CodeTable, preset_table
from orderbridge.mapping.model import Dimension, FulfillmentStatus
from orderbridge.mapping.status import ANY, StatusRule, StatusTable

F = FulfillmentStatus

YONSUITE_LIFECYCLE = CodeTable(
    "nextStatusName",
    {
        F.placed: ["APPROVING"],  # 审批中
        F.approved: ["CONFIRMORDER"],  # 开立 / 已确认
        F.preparing: ["DELIVERGOODS", "DELIVERY_PART"],  # 待发货, 部分发货
        F.shipped: ["DELIVERY_TAKE_PART", "TAKEDELIVERY"],  # 部分发货待收货, 待收货
        F.delivered: ["ENDORDER"],  # 已完成
        F.cancelled: ["OPPOSE"],  # 已取消 / 驳回
    },
)

U8_CLOSED = [StatusRule(when={"closer": ANY}, then=F.closed)]
U8_SHIPPING = CodeTable("fhstatus", {F.shipped: ["2"], F.preparing: ["1"]})
U8_STATE = CodeTable(
    "state",
    {F.placed: ["Opening", "开立"], F.approved: ["Approved", "审核", "Changing", "变更"]},
)


def yonsuite_tables() -> list[StatusTable]:
    return [preset_table(Dimension.fulfillment, YONSUITE_LIFECYCLE)]


def u8_tables() -> list[StatusTable]:
    """Closed first: a closed order keeps its last state and shipping state."""
    rules = [*U8_CLOSED, *U8_SHIPPING.rules(), *U8_STATE.rules()]
    return [StatusTable(dimension=Dimension.fulfillment, rules=rules)]
