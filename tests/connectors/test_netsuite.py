"""NetSuite: its status letters mapped per dimension, on SuiteQL pages shaped like the recorded ones
(every value a string, null columns left out of an item, zone-less local times, letters that may come
as labels), item fulfilments and invoices with their own letters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orderbridge.connectors.netsuite import statuses
from orderbridge.mapping.model import UNMAPPED, Dimension
from orderbridge.mapping.status import map_statuses

FIXTURES = Path(__file__).parents[1] / "fixtures" / "netsuite"


def page(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return loaded


def mapped(tables: Any, item: dict[str, Any]) -> dict[str, str]:
    return {str(d): s.status for d, s in map_statuses(tables, item).items()}


@pytest.mark.parametrize(
    ("letter", "label", "fulfillment", "billing"),
    [
        ("A", "Pending Approval", "placed", "unbilled"),
        ("B", "Pending Fulfillment", "approved", "unbilled"),
        ("D", "Partially Fulfilled", "preparing", "unbilled"),
        ("E", "Pending Billing/Partially Fulfilled", "preparing", "unbilled"),
        ("F", "Pending Billing", "shipped", "unbilled"),
        ("G", "Billed", "shipped", "invoiced"),
    ],
)
def test_each_sales_order_letter_and_its_label_map_to_both_dimensions(
    letter: str, label: str, fulfillment: str, billing: str
) -> None:
    """The SalesOrderOrderStatus letters in the WSDL's order (F is pending billing, not billed,
    whatever some clients say), written as a letter, a saved-search value, a refName or a BUILTIN.DF
    label, give the same statuses."""
    expected = {"fulfillment": fulfillment, "billing": billing}
    for form in (letter, f"SalesOrd:{letter}", label, f"Sales Order : {label}"):
        assert mapped(statuses.order_tables(), {"status": form}) == expected, form


def test_cancelled_and_closed_orders_say_nothing_about_billing() -> None:
    """C and H end the order's fulfilment; whether it was billed is for its invoices to say, so billing
    is left out rather than reported unmapped."""
    assert mapped(statuses.order_tables(), {"status": "C"}) == {"fulfillment": "cancelled"}
    assert mapped(statuses.order_tables(), {"status": "H"}) == {"fulfillment": "closed"}


def test_a_recorded_page_maps_and_an_unknown_letter_is_unmapped() -> None:
    """Every item of the recorded pages maps; the one letter nobody knows is reported unmapped on both
    dimensions, never guessed."""
    items = page("suiteql-orders-1.json")["items"] + page("suiteql-orders-2.json")["items"]
    found = {item["tranid"]: mapped(statuses.order_tables(), item) for item in items}
    assert found["SO10234"] == {"fulfillment": "approved", "billing": "unbilled"}
    assert found["SO10201"] == {"fulfillment": "shipped", "billing": "invoiced"}
    assert found["SO10240"] == {"fulfillment": "cancelled"}
    assert found["SO10241"] == {"fulfillment": UNMAPPED, "billing": UNMAPPED}


def test_fulfilments_and_invoices_have_their_own_letters() -> None:
    """An item fulfilment picked / packed / shipped, an invoice open / paid in full."""
    items = page("suiteql-fulfillments.json")["items"]
    assert [mapped(statuses.fulfilment_tables(), i) for i in items] == [
        {"fulfillment": "shipped"},
        {"fulfillment": "ready_to_ship"},
    ]
    assert mapped(statuses.fulfilment_tables(), {"status": "A"}) == {"fulfillment": "preparing"}
    assert mapped(statuses.invoice_tables(), {"status": "A"}) == {"billing": "invoiced"}
    assert mapped(statuses.invoice_tables(), {"status": "Invoice : Paid In Full"}) == {"billing": "paid"}
    assert mapped(statuses.fulfilment_tables(), {"status": "ItemShip:C"}) == {"fulfillment": "shipped"}
    assert map_statuses(statuses.invoice_tables(), {"status": "V"})[Dimension.billing].status == UNMAPPED
