"""Fxiaoke's `life_status` (生命状态), the PaaS objects' general lifecycle: ineffective 未生效,
under_review 审核中, normal 正常, in_change 变更中, invalid 作废. Not confirmed for SalesOrderObj by any
public recorded answer (check-config says so); SalesOrderObj's own order, logistics and payment
status options are the tenant's (read them with /cgi/crm/v2/object/describe) and are mapped in YAML."""

from __future__ import annotations

from orderbridge.connectors.push.codes import CodeTable, preset_table
from orderbridge.mapping.model import Dimension, FulfillmentStatus
from orderbridge.mapping.status import StatusTable

F = FulfillmentStatus

LIFE_STATUS = CodeTable(
    "life_status",
    {
        F.cancelled: ["invalid"],
        F.placed: ["ineffective", "under_review"],
        F.approved: ["normal", "in_change"],  # a change under way leaves the order in force
    },
)


def tables() -> list[StatusTable]:
    return [preset_table(Dimension.fulfillment, LIFE_STATUS)]
