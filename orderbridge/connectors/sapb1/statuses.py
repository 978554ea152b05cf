"""SAP Business One's document statuses: a document is open or closed (`DocumentStatus`, BoStatus)
and cancelled or not (`Cancelled`, BoYesNoEnum); a cancelled order is closed too, so cancellation is
tried first. An order closes when it is fully delivered or closed by hand; how far it got is told by
its deliveries and invoices, read as child documents."""

from __future__ import annotations

from orderbridge.connectors.push.codes import CodeTable, preset_table
from orderbridge.mapping.model import BillingStatus, Dimension, FulfillmentStatus
from orderbridge.mapping.status import Condition, StatusRule, StatusTable

F, B = FulfillmentStatus, BillingStatus
CANCELLED = "Cancelled"
DOCUMENT_STATUS = "DocumentStatus"
YES, NO = "tYES", "tNO"

ORDER_CANCELLED = CodeTable(CANCELLED, {F.cancelled: [YES]})
ORDER_DOCUMENT = CodeTable(DOCUMENT_STATUS, {F.closed: ["bost_Close"], F.approved: ["bost_Open"]})

INVOICE_CANCELLED = CodeTable(CANCELLED, {B.voided: [YES]})
INVOICE_DOCUMENT = CodeTable(DOCUMENT_STATUS, {B.paid: ["bost_Close", "bost_Paid"]})
# An open invoice with something paid is partly paid; with nothing paid, invoiced.
INVOICE_OPEN = [
    StatusRule(when={DOCUMENT_STATUS: "bost_Open", "PaidToDate": Condition(gt=0)}, then=B.partially_paid),
    StatusRule(when={DOCUMENT_STATUS: "bost_Open"}, then=B.invoiced),
]


def order_tables() -> list[StatusTable]:
    return [preset_table(Dimension.fulfillment, ORDER_CANCELLED, ORDER_DOCUMENT)]


def delivery_tables() -> list[StatusTable]:
    """A delivery document means the goods left; a cancelled one says nothing about the order."""
    return [StatusTable(dimension=Dimension.fulfillment, field=CANCELLED, map={NO: F.shipped}, ignore=[YES])]


def invoice_tables() -> list[StatusTable]:
    return [preset_table(Dimension.billing, INVOICE_CANCELLED, INVOICE_DOCUMENT, extra=INVOICE_OPEN)]
