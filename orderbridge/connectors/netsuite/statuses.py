"""NetSuite's transaction statuses. A sales order's one status letter (`transaction.status` in
SuiteQL; `orderStatus.id` in the record API) says both how far it is fulfilled and whether it is
billed; item fulfilments and invoices have letters of their own. Each letter is also known in the
forms other queries give it: `SalesOrd:B` (saved-search values), `Pending Fulfillment` (the record
API's refName) and `Sales Order : Pending Fulfillment` (BUILTIN.DF in SuiteQL)."""

from __future__ import annotations

from orderbridge.connectors.push.codes import CodeTable, preset_table
from orderbridge.mapping.model import BillingStatus, Dimension, FulfillmentStatus
from orderbridge.mapping.status import StatusTable

F, B = FulfillmentStatus, BillingStatus
FIELD = "status"

# SalesOrderOrderStatus in the WSDL's order: A _pendingApproval ... H _closed. (Some clients call F
# billed; it is pending billing: fully shipped, not yet invoiced.)
SALES_ORDER = {
    "A": "Pending Approval",
    "B": "Pending Fulfillment",
    "C": "Cancelled",
    "D": "Partially Fulfilled",
    "E": "Pending Billing/Partially Fulfilled",
    "F": "Pending Billing",
    "G": "Billed",
    "H": "Closed",
}
ITEM_FULFILLMENT = {"A": "Picked", "B": "Packed", "C": "Shipped"}
INVOICE = {"A": "Open", "B": "Paid In Full"}


def forms(kind: str, record: str, letters: dict[str, str], *wanted: str) -> list[str]:
    """Every way a query may write the statuses `wanted` of a record type."""
    return [
        form
        for letter in wanted
        for form in (letter, f"{kind}:{letter}", letters[letter], f"{record} : {letters[letter]}")
    ]


def _order(*letters: str) -> list[str]:
    return forms("SalesOrd", "Sales Order", SALES_ORDER, *letters)


ORDER_FULFILLMENT = CodeTable(
    FIELD,
    {
        F.placed: _order("A"),
        F.approved: _order("B"),
        F.cancelled: _order("C"),
        F.preparing: _order("D", "E"),
        F.shipped: _order("F", "G"),
        F.closed: _order("H"),
    },
)
ORDER_BILLING = CodeTable(FIELD, {B.unbilled: _order("A", "B", "D", "E", "F"), B.invoiced: _order("G")})
# A cancelled or closed order says nothing about billing: its invoices, if any, do.
ORDER_BILLING_SILENT = _order("C", "H")

FULFILMENT_STATUS = CodeTable(
    FIELD,
    {
        F.preparing: forms("ItemShip", "Item Fulfillment", ITEM_FULFILLMENT, "A"),
        F.ready_to_ship: forms("ItemShip", "Item Fulfillment", ITEM_FULFILLMENT, "B"),
        F.shipped: forms("ItemShip", "Item Fulfillment", ITEM_FULFILLMENT, "C"),
    },
)
INVOICE_STATUS = CodeTable(
    FIELD,
    {
        B.invoiced: forms("CustInvc", "Invoice", INVOICE, "A"),
        B.paid: forms("CustInvc", "Invoice", INVOICE, "B"),
    },
)


def order_tables() -> list[StatusTable]:
    billing = {code: str(status) for status, codes in ORDER_BILLING.codes.items() for code in codes}
    return [
        preset_table(Dimension.fulfillment, ORDER_FULFILLMENT),
        StatusTable(dimension=Dimension.billing, field=FIELD, map=billing, ignore=ORDER_BILLING_SILENT),
    ]


def fulfilment_tables() -> list[StatusTable]:
    return [preset_table(Dimension.fulfillment, FULFILMENT_STATUS)]


def invoice_tables() -> list[StatusTable]:
    return [preset_table(Dimension.billing, INVOICE_STATUS)]
