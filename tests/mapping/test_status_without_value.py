"""A status field that is null, absent or blank is visible: `unmapped` with no native word, unless
a rule says what it means (Shopify's `fulfillment_status: null` is "unfulfilled")."""

from __future__ import annotations

import pytest

from orderbridge.mapping.model import UNMAPPED, Dimension
from orderbridge.mapping.status import StatusTable, map_statuses


@pytest.mark.parametrize("fields", [{"status": None}, {"status": "  "}])
def test_a_missing_status_is_unmapped(fields: dict[str, object]) -> None:
    """Null and blank (a field absent from the source is read as null) map to `unmapped` with native
    None, on a simple map table."""
    table = StatusTable(dimension=Dimension.fulfillment, map={"NEW": "placed"})
    found = map_statuses([table], fields)[Dimension.fulfillment]
    assert (found.status, found.native) == (UNMAPPED, None)


def test_a_rule_can_give_a_missing_status_its_meaning() -> None:
    """`when: {fulfillment_status: {empty: true}}` maps Shopify's null to a status of its own."""
    table = StatusTable.model_validate(
        {
            "dimension": "fulfillment",
            "field": "fulfillment_status",
            "map": {"fulfilled": "shipped"},
            "rules": [{"when": {"fulfillment_status": {"empty": True}}, "then": "approved"}],
        }
    )
    assert map_statuses([table], {"fulfillment_status": None})[Dimension.fulfillment].status == "approved"
    assert (
        map_statuses([table], {"fulfillment_status": "fulfilled"})[Dimension.fulfillment].status == "shipped"
    )
