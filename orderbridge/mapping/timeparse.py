"""Timestamps as sources send them: ISO 8601, epoch seconds or milliseconds, local date/time text in
common layouts (including 2026年11月20日), Excel serial dates. Values without a zone take the system's."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

_EXCEL_EPOCH = datetime(1899, 12, 30)
_LAYOUTS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y.%m.%d %H:%M:%S",
    "%Y.%m.%d",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%Y%m%d%H%M%S",
    "%Y%m%d",
    "%d %b %Y %H:%M",
    "%d %b %Y",
    "%b %d, %Y %H:%M",
    "%b %d, %Y",
)
_CHINESE = re.compile(
    r"^\s*(\d{4})年(\d{1,2})月(\d{1,2})日\s*(?:(\d{1,2})[:：时](\d{1,2})(?:[:：分](\d{1,2})秒?)?)?\s*$"
)


class TimestampError(ValueError):
    pass


def zone(name: str) -> tzinfo:
    return UTC if name.upper() == "UTC" else ZoneInfo(name)


def parse_timestamp(value: object, tz: tzinfo = UTC, *, epoch: str | None = None) -> datetime | None:
    """Parse `value`; None for blank. `epoch` forces 's' or 'ms' for numbers; otherwise numbers below
    100000 are Excel serial dates and larger ones epoch seconds (or ms when beyond year 5138)."""
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
    if re.fullmatch(r"-?\d+(\.\d+)?", text) and not re.fullmatch(r"\d{8}(\d{6})?", text):
        return _from_number(float(text), tz, epoch)
    iso = text.replace("Z", "+00:00") if text.endswith("Z") else text
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        parsed = None
    if parsed is None:
        match = _CHINESE.match(text)
        if match:
            y, mo, d, h, mi, s = (int(g) if g else 0 for g in match.groups())
            try:
                parsed = datetime(y, mo, d, h, mi, s)
            except ValueError as exc:  # 2025年13月45日
                raise TimestampError(f"{text!r} is not a real date or time ({exc})") from None
    if parsed is None:
        for layout in _LAYOUTS:
            try:
                parsed = datetime.strptime(text, layout)
                break
            except ValueError:
                continue
    if parsed is None:
        raise TimestampError(f"{text!r} is not a date or time in a known format")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


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
