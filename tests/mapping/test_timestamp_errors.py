"""Timestamps no calendar has are refused with TimestampError (which quarantines the record), never
with the ValueError, OSError or OverflowError of the date functions underneath (which failed polls)."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal

import pytest

from orderbridge.mapping.timeparse import TimestampError, parse_timestamp


@pytest.mark.parametrize(
    "value",
    [
        "2025年13月45日",
        "2026年2月30日 10:00",
        1e20,
        -1e20,
        float("inf"),
        float("nan"),
        Decimal("NaN"),
        10**400,
        "9" * 400,
        253402300800000 * 1000,  # milliseconds beyond year 9999
    ],
)
def test_impossible_timestamps_raise_timestamp_error(value: object) -> None:
    """Each value is refused with a TimestampError that quotes it."""
    with pytest.raises(TimestampError):
        parse_timestamp(value, UTC)


def test_real_timestamps_still_parse() -> None:
    """The Chinese form and epoch seconds still read as before."""
    assert parse_timestamp("2025年12月31日", UTC).isoformat() == "2025-12-31T00:00:00+00:00"  # type: ignore[union-attr]
    assert parse_timestamp(1767225600, UTC).isoformat() == "2026-01-01T00:00:00+00:00"  # type: ignore[union-attr]
