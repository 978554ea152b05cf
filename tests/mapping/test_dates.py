"""Dates as people type them into sheets and systems send them: the order of day and month is never
guessed, and the Chinese forms are read."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from orderbridge.mapping.timeparse import TimestampError, at_time_of_day, parse_timestamp

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025年3月1日", at(2025, 3, 1)),
        ("2025年3月1日 9:15", at(2025, 3, 1, 9, 15)),
        ("2025年3月1日9时15分", at(2025, 3, 1, 9, 15)),
        ("2025年3月1日 上午9:15", at(2025, 3, 1, 9, 15)),
        ("2025年3月1日 下午3:30", at(2025, 3, 1, 15, 30)),
        ("2025年03月01日 晚上11:05:09", at(2025, 3, 1, 23, 5, 9)),
        ("2025/3/1 上午12:30", at(2025, 3, 1, 0, 30)),
        ("2025/3/1 下午 3:30:05", at(2025, 3, 1, 15, 30, 5)),
        ("2025.03.01 09:15", at(2025, 3, 1, 9, 15)),
        ("2025.03.01", at(2025, 3, 1)),
        ("2025/3/1", at(2025, 3, 1)),
        ("2025-3-1 9:05", at(2025, 3, 1, 9, 5)),
        ("13/3/2025", at(2025, 3, 13)),
        ("3/13/2025 10:00 PM", at(2025, 3, 13, 22, 0)),
        ("3/3/2025", at(2025, 3, 3)),
        ("1 Mar 2025", at(2025, 3, 1)),
        ("20250301", at(2025, 3, 1)),
    ],
)
def test_common_and_chinese_forms_without_a_date_order(text: str, expected: datetime) -> None:
    """A year written first, a day above 12, or day equal to month leave no doubt; 上午/下午 and AM/PM set
    the half of the day; the value takes the system's zone."""
    assert parse_timestamp(text, SHANGHAI) == expected


@pytest.mark.parametrize("text", ["3/1/2025", "03.01.2025", "3-1-2025 08:00", "01.03.25"])
def test_a_date_that_could_be_read_two_ways_is_refused_without_a_date_order(text: str) -> None:
    """3/1/2025 is 3 January or 1 March: without `date_order` the value is refused, and the message says
    both readings (or that the year has two digits) and which setting decides."""
    with pytest.raises(TimestampError, match="set date_order") as refused:
        parse_timestamp(text)
    if "2025" in text:
        assert "3 January 2025 or 1 March 2025" in str(refused.value)


@pytest.mark.parametrize(
    ("order", "text", "expected"),
    [
        ("DMY", "3/1/2025", at(2025, 1, 3)),
        ("MDY", "3/1/2025", at(2025, 3, 1)),
        ("DMY", "01.03.25 14:00", at(2025, 3, 1, 14, 0)),
        ("YMD", "25/03/01", at(2025, 3, 1)),
        ("MDY", "2025/3/1", at(2025, 3, 1)),  # a year written first is read year first whatever the order
    ],
)
def test_date_order_decides(order: str, text: str, expected: datetime) -> None:
    """With `date_order` set, the numbers are read in that order."""
    assert parse_timestamp(text, SHANGHAI, date_order=order) == expected  # type: ignore[arg-type]


def test_a_date_that_does_not_fit_its_date_order_is_refused() -> None:
    """3/13/2025 in a DMY system has no 13th month: refused with the order named, not read the other way."""
    with pytest.raises(TimestampError, match="read as DMY is not a valid date"):
        parse_timestamp("3/13/2025", date_order="DMY")


@pytest.mark.parametrize("text", ["上午9:15", "14:05"])
def test_a_time_without_a_date_is_refused_as_such(text: str) -> None:
    """A time of day alone names no moment: the message says a date is missing."""
    with pytest.raises(TimestampError, match="time of day without a date"):
        parse_timestamp(text)


def test_a_time_of_day_kept_in_its_own_field_joins_the_date() -> None:
    """SAP Business One keeps UpdateDate (a date; v2 writes it with a misleading Z) and UpdateTime
    apart: the change is that calendar date at that time, in the system's zone; a blank time keeps the
    date, a time that is not one is refused."""
    v1 = parse_timestamp("2024-05-02", SHANGHAI)
    v2 = parse_timestamp("2024-05-02T00:00:00Z", SHANGHAI)
    assert v1 is not None and v2 is not None
    assert at_time_of_day(v1, "14:35:10", SHANGHAI) == at(2024, 5, 2, 14, 35, 10)
    assert at_time_of_day(v2, "14:35:10", SHANGHAI) == at(2024, 5, 2, 14, 35, 10)
    assert at_time_of_day(v1, "1435", SHANGHAI) == at(2024, 5, 2, 14, 35)
    assert at_time_of_day(v1, None, SHANGHAI) == v1
    for wrong in ("25:00:00", "noon", "14:3"):
        with pytest.raises(TimestampError):
            at_time_of_day(v1, wrong, SHANGHAI)
