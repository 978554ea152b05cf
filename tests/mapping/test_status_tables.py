"""Status tables, fed native fields shaped like the sources' own records (null vs absent vs empty)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from orderbridge.mapping.model import UNMAPPED, Dimension
from orderbridge.mapping.status import StatusTable, map_statuses

# Shopify's order: `fulfillment_status` is null until something ships (reference: source-systems.md).
SHOPIFY_FULFILMENT = {
    "dimension": "fulfillment",
    "rules": [
        {"when": {"fulfillment_status": {"empty": True}}, "then": "approved"},
        {"when": {"fulfillment_status": ["partial"]}, "then": "preparing"},
        {"when": {"fulfillment_status": ["fulfilled"]}, "then": "shipped"},
    ],
}


@pytest.mark.parametrize(
    "fields",
    [{"fulfillment_status": None}, {"fulfillment_status": ""}, {"fulfillment_status": "  "}],
    ids=["null", "empty", "blank"],
)
def test_a_rule_whose_only_condition_is_empty_matches_null_absent_and_empty(
    fields: dict[str, object],
) -> None:
    """`{fulfillment_status: {empty: true}}` alone is enough for a rule to match a record whose field is
    null, absent or empty: Shopify's unfulfilled orders get a status instead of none at all."""
    table = StatusTable.model_validate(SHOPIFY_FULFILMENT)
    found = table.lookup(fields)
    assert found is not None and found.status == "approved" and found.native is None


def test_a_record_without_any_of_the_tables_fields_says_nothing_on_its_dimension() -> None:
    """A field absent from the source is read as null (the record builder gives every configured field,
    so the empty rule above applies); a record whose parser gives none of a table's fields at all (a
    Shopify fulfilment has no financial_status) says nothing on that dimension: no status, not
    `unmapped`."""
    table = StatusTable.model_validate(SHOPIFY_FULFILMENT)
    assert table.lookup({}) is None
    assert table.lookup({"shipment_status": "in_transit"}) is None
    assert map_statuses([table], {"shipment_status": "in_transit"}) == {}


def test_the_other_rules_still_decide_when_the_field_has_a_value() -> None:
    """A value other than blank goes past the empty rule to the rule for it; an unknown one is unmapped."""
    table = StatusTable.model_validate(SHOPIFY_FULFILMENT)
    assert table.lookup({"fulfillment_status": "fulfilled"}).status == "shipped"  # type: ignore[union-attr]
    unknown = table.lookup({"fulfillment_status": "restocked"})
    assert unknown is not None and (unknown.status, unknown.native) == (UNMAPPED, "restocked")


def test_blank_fields_are_unmapped_unless_a_rule_asks_for_blank() -> None:
    """Without a rule that asks for an empty field, a record whose status fields are blank is visible as
    `unmapped` with no native word (never silently "no status") — and a rule with no conditions does
    not claim it."""
    table = StatusTable.model_validate(
        {
            "dimension": "fulfillment",
            "field": "status",
            "map": {"OPEN": "approved"},
            "rules": [{"when": {}, "then": "placed"}],
        }
    )
    blank = table.lookup({"status": None})
    assert blank is not None and (blank.status, blank.native) == ("unmapped", None)
    assert table.lookup({"status": "OTHER"}).status == "placed"  # type: ignore[union-attr]


def test_ignore_leaves_another_dimensions_words_to_that_dimension() -> None:
    """One column holding fulfilment words and a billing word (已收款): each table ignores the other's
    words, so the record gets both statuses and no unmapped status; a word neither knows stays unmapped."""
    tables = [
        StatusTable.model_validate(
            {
                "dimension": "fulfillment",
                "field": "状态",
                "map": {"备货中": "preparing", "已发货": "shipped"},
                "ignore": ["已收款"],
            }
        ),
        StatusTable.model_validate(
            {
                "dimension": "billing",
                "field": "状态",
                "map": {"已收款": "paid"},
                "ignore": ["备货中", "已发货"],
            }
        ),
    ]
    paid = map_statuses(tables, {"状态": "已收款"})
    assert {d: s.status for d, s in paid.items()} == {Dimension.billing: "paid"}
    shipped = map_statuses(tables, {"状态": "已发货"})
    assert {d: s.status for d, s in shipped.items()} == {Dimension.fulfillment: "shipped"}
    odd = map_statuses(tables, {"状态": "已退货"})
    assert {d: s.status for d, s in odd.items()} == {
        Dimension.fulfillment: UNMAPPED,
        Dimension.billing: UNMAPPED,
    }


def test_ignore_follows_case_sensitivity_and_refuses_a_word_also_mapped() -> None:
    """With case_sensitive false an ignored word matches in any case; a word both mapped and ignored is a
    configuration error naming it."""
    table = StatusTable.model_validate(
        {
            "dimension": "fulfillment",
            "map": {"shipped": "shipped"},
            "ignore": ["Paid"],
            "case_sensitive": False,
        }
    )
    assert table.lookup({"status": "PAID"}) is None
    assert table.lookup({"status": "SHIPPED"}).status == "shipped"  # type: ignore[union-attr]
    with pytest.raises(ValidationError, match=r"(PAID|paid): both mapped and ignored"):
        StatusTable.model_validate(
            {"dimension": "billing", "map": {"PAID": "paid"}, "ignore": ["paid"], "case_sensitive": False}
        )
