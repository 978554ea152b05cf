"""A status field null, absent or empty in the source's own record: what the configured table makes of
it once the record is read (the record builder hands every configured field to the table)."""

from __future__ import annotations

from typing import Any

import pytest

from orderbridge.connectors.base import SystemSettings, build_record
from orderbridge.mapping.model import UNMAPPED, Dimension
from orderbridge.mapping.status import map_statuses

SHOPIFY_LIKE = {
    "type": "rest",
    "order_id": {"field": "name"},
    "status": [
        {
            "dimension": "fulfillment",
            "rules": [
                {"when": {"fulfillment_status": {"empty": True}}, "then": "approved"},
                {"when": {"fulfillment_status": ["fulfilled"]}, "then": "shipped"},
            ],
        },
        {"dimension": "billing", "field": "financial_status", "map": {"paid": "paid"}},
    ],
}


@pytest.mark.parametrize(
    "record",
    [
        {"name": "#1001", "fulfillment_status": None},
        {"name": "#1001"},
        {"name": "#1001", "fulfillment_status": ""},
    ],
    ids=["null", "absent", "empty"],
)
def test_an_empty_only_rule_matches_a_field_null_absent_or_empty_in_the_source(
    record: dict[str, Any],
) -> None:
    settings = SystemSettings.model_validate(SHOPIFY_LIKE)
    statuses = map_statuses(settings.status, build_record("shop", record, settings).native_status)
    assert statuses[Dimension.fulfillment].status == "approved"
    # financial_status is absent too, and no rule asks for a blank one: visible as unmapped.
    assert (statuses[Dimension.billing].status, statuses[Dimension.billing].native) == (UNMAPPED, None)
