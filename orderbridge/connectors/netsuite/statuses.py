"""NetSuite's transaction statuses. A sales order's one status letter (`transaction.status` in
SuiteQL; `orderStatus.id` in the record API; BUILTIN.DF gives the label) says both how far it is
fulfilled and whether it is billed; item fulfilments and invoices have their own letters. Labels are
listed beside the letters, so a query that selects BUILTIN.DF(status) maps the same."""

from __future__ import annotations

from orderbridge.connectors.push.codes import CodeTable, preset_table
from orderbridge.mapping.model import BillingStatus, Dimension, FulfillmentStatus
from orderbridge.mapping.status import StatusTable

F, B = FulfillmentStatus, BillingStatus

# SalesOrderOrderStatus, in the WSDL's order: A _pendingApproval ... H _closed.
ORDER_FULFILLMENT = CodeTable(
    "status",
    {
        F.placed: ["A", "Pending Approval"],
        F.approved: ["B", "Pending Fulfillment"],
        F.cancelled: ["C", "Cancelled"],
        F.preparing: ["D", "Partially Fulfilled", "E", "Pending Billing/Partially Fulfilled"],
        F.shipped: ["F", "Pending Billing", "G", "Billed"],
        F.closed: ["H", "Closed"],
    },
)

# A cancelled or closed order says nothing about billing: its invoices (if any) do.
ORDER_BILLING = CodeTable(
    "status",
    {
        B.unbilled: [
            *("A", "Pending Approval", "B", "Pending Fulfillment", "D", "Partially Fulfilled"),
            *("E", "Pending Billing/Partially Fulfilled", "F", "Pending Billing"),
        ],
        B.invoiced: ["G", "Billed"],
    },
)
ORDER_BILLING_SILENT = ["C", "Cancelled", "H", "Closed"]

# Item fulfilment (ItemShip): A Picked, B Packed, C Shipped.
FULFILMENT_STATUS = CodeTable(
    "status",
    {
        F.preparing: ["A", "Picked"],
        F.ready_to_ship: ["B", "Packed"],
        F.shipped: ["C", "Shipped"],
    },
)

# Invoice (CustInvc): A Open, B Paid In Full.
INVOICE_STATUS = CodeTable("status", {B.invoiced: ["A", "Open"], B.paid: ["B", "Paid In Full"]})


def order_tables() -> list[StatusTable]:
    return [
        preset_table(Dimension.fulfillment, ORDER_FULFILLMENT),
        StatusTable(
            dimension=Dimension.billing,
            field=ORDER_BILLING.field,
            map={code: str(status) for status, codes in ORDER_BILLING.codes.items() for code in codes},
            ignore=ORDER_BILLING_SILENT,
        ),
    ]


def fulfilment_tables() -> list[StatusTable]:
    return [preset_table(Dimension.fulfillment, FULFILMENT_STATUS)]


def invoice_tables() -> list[StatusTable]:
    return [preset_table(Dimension.billing, INVOICE_STATUS)]
