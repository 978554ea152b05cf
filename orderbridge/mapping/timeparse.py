"""Timestamps as sources send them: ISO 8601, epoch seconds or milliseconds, local date/time text in
common layouts (including 2026年11月20日 and 下午3:30), Excel serial dates. Values without a zone take the
system's; a date whose day and month could be swapped needs the system's `date_order`."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Literal, get_args
from zoneinfo import ZoneInfo

_EXCEL_EPOCH = datetime(1899, 12, 30)
DateOrder = Literal["DMY", "MDY", "YMD"]
DATE_ORDERS: tuple[DateOrder, ...] = get_args(DateOrder)

# Dates written with month names or packed digits: nothing to decide about their order.
_LAYOUTS = (
    "%Y%m%d%H%M%S",
    "%Y%m%d",
    "%d %b %Y %H:%M:%S",
    "%d %b %Y %H:%M",
    "%d %b %Y",
    "%b %d, %Y %H:%M",
    "%b %d, %Y",
)
# A time of day after a date: 09:15, 9:15:30, 9时15分, with 上午/下午 (or AM/PM) before or after it.
_MERIDIEM = r"(?P<{}>上午|下午|中午|凌晨|早上|晚上|[AaPp]\.?[Mm]\.?)"
_TIME = (
    r"(?:{}" + _MERIDIEM.format("before") + r"?\s*(?P<hour>\d{{1,2}})\s*[:：时點点]\s*(?P<minute>\d{{1,2}})"
    r"(?:\s*[:：分]\s*(?P<second>\d{{1,2}})(?:\.(?P<fraction>\d{{1,6}})\d*)?)?\s*[分秒]?\s*"
    + _MERIDIEM.format("after")
    + r"?)?"
)
# Three numbers with the same separator (2025/3/1, 01.03.2025, 3-1-25), then perhaps a time.
_NUMERIC = re.compile(
    r"(?P<a>\d{1,4})(?P<sep>[-/.])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4})" + _TIME.format(r"[ T]+")
)
_CHINESE = re.compile(
    r"(?P<a>\d{4})\s*年\s*(?P<b>\d{1,2})\s*月\s*(?P<c>\d{1,2})\s*[日号]" + _TIME.format(r"\s*")
)
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_COMPACT_DATE = re.compile(r"\d{8}(\d{6})?")  # 20250301, 20250301143000: a date, not a number
_TIME_ONLY = re.compile(_TIME.format("").removeprefix("(?:").removesuffix(")?"))
_AFTERNOON = ("下午", "晚上", "中午")


class TimestampError(ValueError):
    pass


def zone(name: str) -> tzinfo:
    return UTC if name.upper() == "UTC" else ZoneInfo(name)


def parse_timestamp(
    value: object, tz: tzinfo = UTC, *, epoch: str | None = None, date_order: DateOrder | None = None
) -> datetime | None:
    """Parse `value`; None for blank. `epoch` forces 's' or 'ms' for numbers; otherwise numbers below
    100000 are Excel serial dates and larger ones epoch seconds (or ms when beyond year 5138).

    A date of three numbers is read in `date_order`. Without it, a year written first is year-month-day
    and one written last is day-month or month-day as its numbers allow (13/3/2025, 3/13/2025); a date
    both ways could mean (3/1/2025), or with a two-digit year, raises TimestampError asking for it."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=tz)
    if isinstance(value, bool):
        raise TimestampError(f"{value!r} is not a timestamp")
    if isinstance(value, int | float | Decimal):
        try:
            number = float(value)
        except OverflowError:  # an int too large for a float
            raise TimestampError(f"{value!r} is out of the range of dates") from None
        return _from_number(number, tz, epoch)
    text = str(value).strip()
    if not text:
        return None
    if _NUMBER.fullmatch(text) and not _COMPACT_DATE.fullmatch(text):
        return _from_number(float(text), tz, epoch)
    iso = text.replace("Z", "+00:00") if text.endswith("Z") else text
    try:
        parsed: datetime | None = datetime.fromisoformat(iso)
    except ValueError:
        parsed = None
    if parsed is None:
        numeric = _NUMERIC.fullmatch(text) or _CHINESE.fullmatch(text)
        if numeric is not None:
            parsed = _from_parts(text, numeric, date_order)
    if parsed is None:
        for layout in _LAYOUTS:
            try:
                parsed = datetime.strptime(text, layout)
                break
            except ValueError:
                continue
    if parsed is None:
        if _TIME_ONLY.fullmatch(text):
            raise TimestampError(f"{text!r} is a time of day without a date")
        raise TimestampError(f"{text!r} is not a date or time in a known format")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


_CLOCK = re.compile(r"(?P<hour>\d{1,2}):?(?P<minute>\d{2})(?::?(?P<second>\d{2}))?")


def at_time_of_day(day: datetime, value: object, tz: tzinfo) -> datetime:
    """The calendar date `day` was written with, at the time of day `value` (14:35:10, 14:35, 143510)
    in `tz`: for sources that keep a change's date and time in two fields. A blank time keeps `day`."""
    text = "" if value is None else str(value).strip()
    if not text:
        return day
    match = _CLOCK.fullmatch(text)
    if match is None:
        raise TimestampError(f"{text!r} is not a time of day")
    hour, minute, second = (int(match[name] or 0) for name in ("hour", "minute", "second"))
    if hour > 23 or minute > 59 or second > 59:
        raise TimestampError(f"{text!r} is not a time of day")
    return datetime.combine(day.date(), datetime.min.time(), tz).replace(
        hour=hour, minute=minute, second=second
    )


def _from_parts(text: str, match: re.Match[str], date_order: DateOrder | None) -> datetime:
    first, second, third = match["a"], match["b"], match["c"]
    year_first, year_last = len(first) == 4, len(third) == 4
    if year_first and year_last:
        raise TimestampError(f"{text!r} is not a date in a known format")
    order = date_order
    if year_first:
        order = "YMD"  # nobody writes year-day-month
    elif year_last and order not in ("DMY", "MDY"):
        a, b = int(first), int(second)
        if a > 12 >= b:
            order = "DMY"
        elif b > 12 >= a:
            order = "MDY"
        elif a == b:
            order = "DMY"  # the same date either way
        else:
            raise TimestampError(
                f"{text!r} is ambiguous ({_plain(a, b, third)} or {_plain(b, a, third)}); set date_order: "
                "DMY or MDY for this system"
            )
    elif order is None:
        raise TimestampError(
            f"{text!r} has a two-digit year and could be read several ways; set date_order: DMY, MDY or "
            "YMD for this system"
        )
    if order == "YMD":
        year, month, day = first, second, third
    elif order == "DMY":
        day, month, year = first, second, third
    else:
        month, day, year = first, second, third
    full_year = int(year) + 2000 if len(year) <= 2 else int(year)
    hour = int(match["hour"] or 0)
    meridiem = match["before"] or match["after"]
    if meridiem:
        if hour > 12:
            raise TimestampError(f"{text!r}: hour {hour} does not go with {meridiem}")
        afternoon = meridiem in _AFTERNOON or meridiem[0] in "Pp"
        hour = hour % 12 + (12 if afternoon else 0)
    fraction = (match["fraction"] or "").ljust(6, "0")
    try:
        return datetime(
            full_year,
            int(month),
            int(day),
            hour,
            int(match["minute"] or 0),
            int(match["second"] or 0),
            int(fraction or 0),
        )
    except ValueError as exc:
        read = f" read as {order}" if date_order is not None else ""
        raise TimestampError(f"{text!r}{read} is not a valid date or time: {exc}") from None


def _plain(day: int, month: int, year: str) -> str:
    name = _MONTHS[month - 1] if 1 <= month <= 12 else str(month)
    return f"{day} {name} {year}"


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _from_number(number: float, tz: tzinfo, epoch: str | None) -> datetime:
    try:
        return _number_to_datetime(number, tz, epoch)
    except (ValueError, OverflowError, OSError) as exc:  # 1e20, NaN, beyond year 9999
        if isinstance(exc, TimestampError):
            raise
        raise TimestampError(f"{number!r} is out of the range of dates") from None


def _number_to_datetime(number: float, tz: tzinfo, epoch: str | None) -> datetime:
    if epoch is None and number.is_integer() and 19000101 <= number <= 21001231:
        # yyyymmdd typed as a number, common in spreadsheets
        try:
            return datetime.strptime(str(int(number)), "%Y%m%d").replace(tzinfo=tz)
        except ValueError:
            pass
    if epoch == "ms" or (epoch is None and number > 1e11):
        return datetime.fromtimestamp(number / 1000, UTC)
    if epoch == "s" or number >= 100000:
        return datetime.fromtimestamp(number, UTC)
    if number <= 0:
        raise TimestampError(f"{number!r} is not a timestamp")
    naive = _EXCEL_EPOCH + timedelta(days=number)
    return naive.replace(tzinfo=tz)
