"""Each cursor style on its own: reading a record's value in the forms sources send (`+0000`, epoch
milliseconds, local time without a zone, hex row versions), writing it into a request (ISO, HTTP date,
epoch, strftime, SOQL, JSON bodies), and the overlap window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import BaseModel, ValidationError

from orderbridge.connectors.base import RecordError
from orderbridge.connectors.cursors import (
    REGISTRY,
    AnyCursor,
    CursorStyle,
    KeysetCursor,
    RowVersionCursor,
    TimestampCursor,
    WindowCursor,
    cursor_style,
    replace_cursor,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Block(BaseModel):
    cursor: AnyCursor


def style(block: dict[str, Any], tz: Any = UTC) -> CursorStyle:
    return cursor_style(Block.model_validate({"cursor": block}).cursor, tz)


def test_type_picks_the_style_and_defaults_to_timestamp() -> None:
    """`type:` picks a registered style; the existing `{field, overlap, format}` blocks are timestamps."""
    assert isinstance(style({"field": "updated_at", "overlap": "5m", "format": "epoch"}), TimestampCursor)
    assert isinstance(style({"type": "row_version", "field": "ts"}), RowVersionCursor)
    assert isinstance(style({"type": "keyset", "field": "id"}), KeysetCursor)
    assert isinstance(style({"type": "window", "field": "updateTime"}), WindowCursor)
    assert set(REGISTRY) == {"timestamp", "window", "row_version", "keyset"}
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        style({"type": "version", "field": "v"})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-01T10:00:00.000+0000", datetime(2024, 5, 1, 10, tzinfo=UTC)),  # Salesforce
        ("2024-05-01T18:00:00+08:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),  # Zoho, Shopify
        ("2024-05-01 18:00:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),  # Kingdee, local time
        (1714557600000, datetime(2024, 5, 1, 10, tzinfo=UTC)),  # Fxiaoke, epoch ms
        ("1714557600", datetime(2024, 5, 1, 10, tzinfo=UTC)),
    ],
)
def test_timestamps_are_read_in_the_forms_sources_send(raw: Any, expected: datetime) -> None:
    """Offsets with or without a colon, epoch seconds or milliseconds, local text in the system's zone."""
    assert style({"field": "t"}, SHANGHAI).read({"t": raw}) == expected


def test_an_unreadable_or_missing_cursor_field_is_a_record_problem() -> None:
    """A record whose cursor field is missing or garbage is quarantined, naming the field."""
    cursor = style({"field": "meta.modified"})
    with pytest.raises(RecordError, match=r"cursor field 'meta\.modified' is missing"):
        cursor.read({"meta": {}})
    with pytest.raises(RecordError, match=r"cursor field 'meta\.modified': 'soon' is not a date"):
        cursor.read({"meta": {"modified": "soon"}})


MOMENT = datetime(2024, 5, 1, 18, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("settings", "written"),
    [
        ({}, "2024-05-01T18:00:00+08:00"),
        ({"timezone": "UTC"}, "2024-05-01T10:00:00+00:00"),
        ({"format": "http_date"}, "Wed, 01 May 2024 10:00:00 GMT"),
        ({"format": "epoch"}, "1714557600"),
        ({"format": "epoch_ms"}, "1714557600000"),
        ({"format": "%Y-%m-%dT%H:%M:%SZ", "timezone": "UTC"}, "2024-05-01T10:00:00Z"),  # SOQL literal
        ({"format": "%Y-%m-%dT%H:%M:%S%z", "timezone": "UTC"}, "2024-05-01T10:00:00+0000"),
        ({"format": "%Y-%m-%d %H:%M:%S"}, "2024-05-01 18:00:00"),  # Kingdee FilterString
    ],
)
def test_timestamps_are_written_as_the_source_wants(settings: dict[str, Any], written: str) -> None:
    """ISO in its own zone or another, an HTTP date for If-Modified-Since, epochs, any strftime pattern."""
    assert style({"field": "t", **settings}).render(MOMENT) == written


def test_unknown_format_or_zone_is_refused_with_what_to_write() -> None:
    """A format that is neither a known name nor a strftime pattern, or an unknown zone, is refused."""
    with pytest.raises(ValidationError, match="use iso, http_date, epoch, epoch_ms or a strftime pattern"):
        style({"field": "t", "format": "rfc"})
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Base'"):
        style({"field": "t", "timezone": "Mars/Base"})


def test_the_overlap_reaches_back_but_never_before_the_initial_cursor() -> None:
    """A poll asks from the saved cursor minus the overlap; the first one from exactly `initial`."""
    cursor = style({"field": "t", "overlap": "10m", "initial": "2024-01-01T00:00:00Z"})
    saved = cursor.load("2024-05-01T10:00:00+00:00")
    assert cursor.start(saved) == saved - timedelta(minutes=10)
    first = cursor.load(None)
    assert cursor.start(first) == datetime(2024, 1, 1, tzinfo=UTC)
    assert cursor.dump(saved) == "2024-05-01T10:00:00+00:00"


def test_row_versions_are_numbers_decimal_or_hex() -> None:
    """A row version compares as a number; `0x…` is read as hex; the overlap counts versions."""
    cursor = style({"type": "row_version", "field": "ts", "overlap": 5})
    assert cursor.read({"ts": "0x00000000000A1B2C"}) == 0xA1B2C
    assert cursor.read({"ts": 987}) == 987
    assert cursor.start(100) == 95 and cursor.start(3) == 0
    assert cursor.render(42) == "42" and cursor.json_value(42) == 42
    with pytest.raises(RecordError, match="is not a row version"):
        cursor.read({"ts": "v12"})


def test_keyset_values_compare_as_numbers_when_they_are() -> None:
    """Numeric keys compare as numbers (9 before 10), ObjectId-like text as text."""
    cursor = style({"type": "keyset", "field": "id"})
    assert cursor.order(cursor.read({"id": "9"})) < cursor.order(cursor.read({"id": 10}))
    assert cursor.order("6818417bca66cb3cc212a021") < cursor.order("6818417bca66cb3cc212a022")
    assert cursor.settings.sorted and cursor.load(None) == 0


def test_cursor_is_written_into_params_headers_and_json_bodies() -> None:
    """`{cursor}` inside text becomes the written cursor (SOQL, If-Modified-Since); a JSON string that
    is only `{cursor}` takes the typed value (Fxiaoke wants epoch ms as a number); nested lists too
    (Odoo domains)."""
    soql = "SELECT Id FROM Order WHERE SystemModstamp > {cursor} ORDER BY SystemModstamp, Id"
    assert replace_cursor(soql, "2024-05-01T10:00:00Z", None).endswith(
        "> 2024-05-01T10:00:00Z ORDER BY SystemModstamp, Id"
    )
    body = {
        "domain": [["write_date", ">", "{cursor}"]],
        "filters": [{"field_name": "last_modified_time", "field_values": ["{cursor}"], "operator": "GT"}],
        "note": "since {cursor}",
        "limit": 200,
    }
    written = replace_cursor(body, "1714557600000", 1714557600000)
    assert written["domain"] == [["write_date", ">", 1714557600000]]
    assert written["filters"][0]["field_values"] == [1714557600000]
    assert written["note"] == "since 1714557600000" and written["limit"] == 200
    assert replace_cursor({"If-Modified-Since": "{cursor}"}, "Wed, 01 May 2024 10:00:00 GMT", None) == {
        "If-Modified-Since": "Wed, 01 May 2024 10:00:00 GMT"
    }
