"""SAP Business One: the composite document status (Cancelled before DocumentStatus, since a
cancelled order is closed too), deliveries and invoices as child documents, on Service Layer pages
shaped like the recorded ones (v1 and v2 envelopes, numbers as JSON numbers, NumAtCard null)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from orderbridge.connectors.sapb1 import statuses
from orderbridge.mapping.model import UNMAPPED
from orderbridge.mapping.status import map_statuses

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sapb1"


def page(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return loaded


def mapped(tables: Any, item: dict[str, Any]) -> dict[str, str]:
    return {str(d): s.status for d, s in map_statuses(tables, item).items()}


def test_order_status_is_cancelled_first_then_open_or_closed() -> None:
    """bost_Open is an approved order; bost_Close a closed one (fully delivered or closed by hand);
    a cancelled order, closed as well, is cancelled."""
    orders = {o["DocNum"]: o for o in page("orders-v1-1.json")["value"] + page("orders-v1-2.json")["value"]}
    assert mapped(statuses.order_tables(), orders[1412]) == {"fulfillment": "approved"}
    assert mapped(statuses.order_tables(), orders[1415]) == {"fulfillment": "cancelled"}
    assert mapped(statuses.order_tables(), orders[1409]) == {"fulfillment": "closed"}


def test_an_unknown_document_status_is_unmapped_with_both_fields_named() -> None:
    """A value the table does not know is reported with every native field it read."""
    found = map_statuses(statuses.order_tables(), {"DocumentStatus": "bost_Delivered", "Cancelled": "tNO"})
    status = next(iter(found.values()))
    assert status.status == UNMAPPED
    assert status.native == "Cancelled=tNO, DocumentStatus=bost_Delivered"


def test_deliveries_ship_and_a_cancelled_one_says_nothing() -> None:
    """A delivery document means the goods left; a cancelled delivery is no statement about the order
    (the order reopens), so it maps to nothing rather than to cancelled."""
    assert mapped(statuses.delivery_tables(), {"Cancelled": "tNO", "DocumentStatus": "bost_Open"}) == {
        "fulfillment": "shipped"
    }
    assert mapped(statuses.delivery_tables(), {"Cancelled": "tYES", "DocumentStatus": "bost_Close"}) == {}


def test_invoices_open_partly_paid_paid_and_cancelled() -> None:
    """An open invoice with PaidToDate 0 is invoiced, with some paid partly paid; a closed one paid; a
    cancelled one voided."""
    invoices = page("invoices-v1.json")["value"]
    assert [mapped(statuses.invoice_tables(), i)["billing"] for i in invoices] == [
        "invoiced",
        "partially_paid",
        "paid",
    ]
    cancelled = {**invoices[2], "Cancelled": "tYES"}
    assert mapped(statuses.invoice_tables(), cancelled) == {"billing": "voided"}
