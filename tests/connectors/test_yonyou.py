"""Yonyou: YonSuite's eight-value nextStatusName and U8's state / fhstatus / closer composite, on
pages shaped like the documented answers (ids as long numbers, money as strings, null and absent
purchase numbers, zone-less local times)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orderbridge.connectors.yonyou import statuses
from orderbridge.mapping.model import UNMAPPED
from orderbridge.mapping.status import map_statuses

FIXTURES = Path(__file__).parents[1] / "fixtures" / "yonyou"


def page(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return loaded


def fulfillment(tables: Any, item: dict[str, Any]) -> str:
    return {str(d): s.status for d, s in map_statuses(tables, item).items()}["fulfillment"]


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("APPROVING", "placed"),
        ("CONFIRMORDER", "approved"),
        ("DELIVERGOODS", "preparing"),
        ("DELIVERY_PART", "preparing"),
        ("DELIVERY_TAKE_PART", "shipped"),
        ("TAKEDELIVERY", "shipped"),
        ("ENDORDER", "delivered"),
        ("OPPOSE", "cancelled"),
        ("SOMETHING_NEW", UNMAPPED),
    ],
)
def test_yonsuite_lifecycle(word: str, status: str) -> None:
    """Each of the eight nextStatusName values; any other is unmapped."""
    assert fulfillment(statuses.yonsuite_tables(), {"nextStatusName": word}) == status


def test_yonsuite_recorded_pages() -> None:
    """The documented list answer's records map by their nextStatusName."""
    records = (
        page("yonsuite-orders-1.json")["data"]["recordList"]
        + page("yonsuite-orders-2.json")["data"]["recordList"]
    )
    assert [fulfillment(statuses.yonsuite_tables(), r) for r in records] == [
        "preparing",
        "delivered",
        "cancelled",
    ]


def test_u8_closed_wins_then_shipping_then_state() -> None:
    """An order with a closer is closed whatever its state; otherwise the shipping state tells
    preparing or shipped; an order with nothing shipped is placed or approved by its state. A blank
    or null closer is no closer."""
    records = {r["code"]: r for r in page("u8-saleorderlist.json")["saleorderlist"]}
    tables = statuses.u8_tables()
    assert fulfillment(tables, records["0000000118"]) == "preparing"
    assert fulfillment(tables, records["0000000119"]) == "placed"
    assert fulfillment(tables, records["0000000097"]) == "closed"
    assert fulfillment(tables, {"state": "Approved", "fhstatus": 0, "closer": ""}) == "approved"
    assert fulfillment(tables, {"state": "Changing", "fhstatus": 2}) == "shipped"
    assert fulfillment(tables, {"state": "作废", "fhstatus": "0"}) == UNMAPPED
