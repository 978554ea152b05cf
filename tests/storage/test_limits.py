"""What the store can hold, checked when a record is mapped: values either store would refuse, or
keep differently on SQLite and PostgreSQL, are named; quarantine can keep anything it is given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from orderbridge.mapping.model import Amounts, Observation, Quantities
from orderbridge.storage.limits import Unstorable, check_storable, storable_json, storable_key

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def observation(**changes: Any) -> Observation:
    fields: dict[str, Any] = {"record_id": "R-1", "order_key": "SO-000001", **changes}
    return Observation(system="wms", observed_at=NOW, **fields)


@pytest.mark.parametrize(
    ("changes", "raw", "words"),
    [
        ({"record_id": "r" * 256}, {}, "record id is 256 characters"),
        ({"order_key": "K" * 300}, {}, "order key is 300 characters"),
        ({"external_ref": "E" * 256}, {}, "external reference"),
        ({"links": {"tracking_number": "1" * 256}}, {}, "link 'tracking_number'"),
        ({"links": {"t" * 65: "1"}}, {}, "longer than 64"),
        ({"reason": "late\x00"}, {}, "the mapped value 'reason' holds a NUL"),
        ({}, {"customer": {"name": "a\x00"}}, "field 'customer.name' holds a NUL"),
        ({}, {"lines": [{"sku": "\udc80"}]}, "field 'lines[0].sku' holds a lone surrogate (\\udc80)"),
        ({}, {"k\x00": 1}, "key holding a NUL"),
        ({}, {"amount": float("inf")}, "field 'amount' is Infinity"),
        ({"native_status": {"status": "\ud800"}}, {}, "'native_status.status' holds a lone surrogate"),
        ({"quantities": Quantities(ordered=Decimal("1e30"))}, {}, "ordered 1E+30 is out of range"),
        ({"amounts": Amounts(paid=Decimal("-1e19"))}, {}, "paid"),
        (
            {"status_at": datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5)))},
            {},
            "out of the range of dates",
        ),
        ({}, {"when": NOW}, "cannot be stored as JSON"),
    ],
)
def test_unstorable_values_are_named(changes: dict[str, Any], raw: Any, words: str) -> None:
    """Each value is refused with a message that names the field and what is wrong with it."""
    with pytest.raises(Unstorable) as refused:
        check_storable(observation(**changes), raw)
    assert words in str(refused.value)


def test_an_ordinary_record_passes() -> None:
    """Unicode text, long free text, nested raw data and big but sane numbers are fine."""
    check_storable(
        observation(reason="备货中 " * 500, quantities=Quantities(ordered=Decimal("123456789.125"))),
        {"客户": {"名称": "张三 😀", "lines": [[1, 2.5, None, True]]}, "note": "x" * 10000},
    )


def test_quarantine_values_are_made_storable() -> None:
    """What quarantine keeps of a bad record: NUL and lone surrogates replaced, non-finite numbers
    and other objects as text, long keys shortened to stay distinct."""
    assert storable_json({"a\x00": ["\ud800x", float("nan"), NOW, 1, None]}) == {
        "a\ufffd": ["\ufffdx", "nan", str(NOW), 1, None]
    }
    long_a, long_b = storable_key("a" * 300 + "1"), storable_key("a" * 300 + "2")
    assert long_a is not None and long_b is not None
    assert len(long_a) == 255 and long_a != long_b and long_a == storable_key("a" * 300 + "1")
