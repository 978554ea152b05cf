"""Numbers sent as text: read by the system's decimal separator, refused when they could mean two
different numbers, never silently misread."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from orderbridge.connectors.base import RecordError, SystemSettings, build_record, parse_number


@pytest.mark.parametrize(
    ("text", "separator", "expected"),
    [
        ("12", "auto", "12"),
        ("2.50", "auto", "2.50"),
        ("-3.5", "auto", "-3.5"),
        ("1,234.50", "auto", "1234.50"),
        ("1,234,567", "auto", "1234567"),
        ("¥1,200.00", "auto", "1200.00"),
        ("1 234.5", "auto", "1234.5"),
        ("0.125", "auto", "0.125"),
        ("1,234", ".", "1234"),
        ("1'234.5", ".", "1234.5"),
        ("1,5", ",", "1.5"),
        ("1.234,50", ",", "1234.50"),
        ("1.234", ",", "1234"),
        ("1\u202f234,5 €", ",", "1234.5"),
    ],
)
def test_numbers_read_by_their_separator(text: str, separator: str, expected: str) -> None:
    """Grouped thousands and decimals are read as the system writes them; the result keeps its digits."""
    number = parse_number(text, separator)
    assert number == Decimal(expected) and str(number) == expected


@pytest.mark.parametrize(
    ("text", "separator", "reason"),
    [
        ("1,5", "auto", "'1,5' needs a decimal comma; set decimal_separator: ',' for this system"),
        ("1.234,50", "auto", "'1.234,50' needs a decimal comma; set decimal_separator: ',' for this system"),
        ("1,234", "auto", "'1,234' is ambiguous (1234 or 1.234); set decimal_separator: '.' or ','"),
        ("1,5", ".", "'1,5' is not a number with decimal separator '.'"),
        ("1.5", ",", "'1.5' is not a number with decimal separator ','"),
        ("12,34", ".", "'12,34' is not a number with decimal separator '.'"),
        ("1.2.3", "auto", "'1.2.3' is not a number"),
        ("ten", "auto", "'ten' is not a number"),
    ],
)
def test_text_that_is_ambiguous_or_wrong_for_the_separator_is_refused(
    text: str, separator: str, reason: str
) -> None:
    """'1,5' is never 15 and '1,234' never a guess: the refusal says what to configure."""
    with pytest.raises(ValueError) as refused:
        parse_number(text, separator)
    assert str(refused.value).startswith(reason)


def settings(**overrides: Any) -> SystemSettings:
    return SystemSettings.model_validate(
        {"type": "rest", "order_id": {"field": "no"}, "fields": {"ordered_qty": "qty", "paid_amount": "paid"}}
        | overrides
    )


def test_json_numbers_are_not_read_through_the_separator() -> None:
    """A JSON or cell number (2.5, 1234) is already unambiguous: a system with decimal comma keeps it."""
    record = build_record("shop", {"no": "SO-1", "qty": 2.5, "paid": 1234}, settings(decimal_separator=","))
    assert (record.quantities.ordered, record.amounts.paid) == (Decimal("2.5"), Decimal(1234))


def test_an_ambiguous_amount_is_a_record_error_naming_the_field() -> None:
    """The record that holds '1,234' is refused (quarantined by its connector) with field and reason."""
    with pytest.raises(RecordError) as refused:
        build_record("shop", {"no": "SO-1", "qty": "1", "paid": "1,234"}, settings())
    assert str(refused.value) == (
        "field 'paid': '1,234' is ambiguous (1234 or 1.234); "
        "set decimal_separator: '.' or ',' for this system"
    )


def test_decimal_separator_is_validated() -> None:
    """Only '.', ',' and 'auto' are decimal separators; anything else is refused when the config loads."""
    with pytest.raises(ValueError, match="decimal_separator"):
        settings(decimal_separator=";")
