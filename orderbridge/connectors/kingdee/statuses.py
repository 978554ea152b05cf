"""Kingdee's status fields, single letters on every bill: FDocumentStatus (Z 暂存, A 创建, B 审核中,
C 已审核, D 重新审核), FCloseStatus (A open, B 已关闭) and FCancelStatus (A, B 已作废). An order's
fulfilment is the first rule that matches, voiding and closing before approval; an outbound document
(销售出库单) says shipped once approved, a receivable (应收单) says invoiced once approved, and a voided
child document says nothing (its order's own status tells whether the order went on)."""

from __future__ import annotations

from orderbridge.mapping.model import BillingStatus, Dimension, FulfillmentStatus
from orderbridge.mapping.status import StatusRule, StatusTable

F, B = FulfillmentStatus, BillingStatus

DOCUMENT, CLOSE, CANCEL = "FDocumentStatus", "FCloseStatus", "FCancelStatus"
APPROVED = "C"
NOT_APPROVED = ["Z", "A", "B", "D"]  # draft, created, in approval, sent back for re-approval
VOIDED = CLOSED = "B"


def _rule(status: str, **when: str | list[str]) -> StatusRule:
    return StatusRule(when=dict(when), then=str(status))


def order_tables() -> list[StatusTable]:
    """SAL_SaleOrder: cancel, then close, then approval."""
    rules = [
        _rule(F.cancelled, **{CANCEL: VOIDED}),
        _rule(F.closed, **{CLOSE: CLOSED}),
        _rule(F.approved, **{DOCUMENT: APPROVED}),
        _rule(F.placed, **{DOCUMENT: NOT_APPROVED}),
    ]
    return [StatusTable(dimension=Dimension.fulfillment, rules=rules)]


def _child(dimension: Dimension, approved: str, pending: str) -> list[StatusTable]:
    rules = [_rule(approved, **{DOCUMENT: APPROVED}), _rule(pending, **{DOCUMENT: NOT_APPROVED})]
    return [StatusTable(dimension=dimension, field=CANCEL, ignore=[VOIDED], rules=rules)]


def outbound_tables() -> list[StatusTable]:
    """SAL_OUTSTOCK: approved means the goods left the warehouse (stock was deducted)."""
    return _child(Dimension.fulfillment, F.shipped, F.preparing)


def receivable_tables() -> list[StatusTable]:
    """AR_receivable: approved means invoiced to the customer."""
    return _child(Dimension.billing, B.invoiced, B.unbilled)
