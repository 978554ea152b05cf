"""Cursor styles: what an incremental listing remembers between polls, how it reads it from a record and
how it writes it into a request. One small class per `type:` behind one interface, in REGISTRY."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from orderbridge.config.types import Duration, tagged_union
from orderbridge.connectors.base import RecordError, get_path
from orderbridge.mapping.timeparse import TimestampError, at_time_of_day, parse_timestamp, zone

CURSOR = "{cursor}"
Clock = Callable[[], datetime]
UNTIL = "{until}"


class CursorSettings(BaseModel):
    """What every cursor style has."""

    model_config = ConfigDict(extra="forbid")

    type: str
    field: str = Field(description="Record field the cursor follows.")
    sorted: bool = Field(
        default=False,
        description="Records come sorted by this field, oldest first: the listing then pages by the "
        "cursor itself and commits it page by page. Otherwise it is committed once the whole listing "
        "was read.",
    )


class CursorStyle(ABC):
    """Values are compared with `order`; `load`/`dump` turn them into what the store keeps."""

    kind: ClassVar[str]
    settings_model: ClassVar[type[CursorSettings]]
    settings: CursorSettings

    def __init__(self, settings: CursorSettings, tz: tzinfo, clock: Clock | None = None) -> None:
        self.settings, self.tz = settings, tz
        self.clock: Clock = clock or (lambda: datetime.now(UTC))  # the source's now

    @abstractmethod
    def parse(self, value: Any) -> Any:
        """A record's or the store's value; ValueError when it is not one."""

    @abstractmethod
    def initial(self) -> Any: ...

    @abstractmethod
    def start(self, saved: Any) -> Any:
        """What the first request of a poll asks from: the saved value minus the overlap."""

    @abstractmethod
    def render(self, value: Any) -> str: ...

    def json_value(self, value: Any) -> Any:
        """The value for a JSON body field that is `{cursor}` and nothing else."""
        return self.render(value)

    def dump(self, value: Any) -> Any:
        return value

    def order(self, value: Any) -> Any:
        return value

    def read(self, record: Any) -> Any:
        raw = get_path(record, self.settings.field)
        if raw is None or raw == "":
            raise RecordError(f"cursor field {self.settings.field!r} is missing or empty")
        try:
            return self.parse(raw)
        except ValueError as exc:
            raise RecordError(f"cursor field {self.settings.field!r}: {exc}") from None

    def load(self, saved: Any) -> Any:
        return self.initial() if saved is None else self.parse(saved)

    def bound(self) -> Any:
        """The upper end of the window the listing reads, fixed when it starts (`{until}` in the
        request); None: the listing reads everything after the cursor."""
        return None

    def complete(self, newest: Any) -> Any:
        """What a listing read in full commits: the newest value it read (None: nothing read)."""
        return newest


class TimestampCursor(CursorStyle):
    """A modification time. Read in any common format (ISO 8601 with `Z`, `+08:00` or `+0000`, epoch
    seconds or milliseconds, local text in the system's time zone); written as `format` says."""

    kind = "timestamp"

    class TimestampSettings(CursorSettings):
        type: Literal["timestamp"] = Field(default="timestamp", description="A modification time.")
        overlap: Duration = Field(
            default=timedelta(minutes=5), description="Re-read this much before the saved cursor."
        )
        format: str = Field(
            default="iso",
            description="How the cursor is written into the request: `iso` (ISO 8601), `http_date` "
            "(RFC 9110, for If-Modified-Since), `epoch`, `epoch_ms`, or a strftime pattern such as "
            "'%Y-%m-%d %H:%M:%S' or '%Y-%m-%dT%H:%M:%S%z'.",
        )
        timezone: str | None = Field(
            default=None,
            description="Zone the cursor is written in (default: as the records wrote it; UTC for "
            "`http_date` and epochs).",
        )
        initial: str = Field(default="1970-01-01T00:00:00+00:00", description="Cursor of the first poll.")
        time_field: str | None = Field(
            default=None,
            description="A record field holding the time of day of `field`, for a system that keeps a "
            "change's date and time apart (SAP Business One UpdateDate and UpdateTime): the cursor is "
            "that date at that time. `format` may then write both, e.g. \"UpdateDate gt '%Y-%m-%d' or "
            "(UpdateDate eq '%Y-%m-%d' and UpdateTime ge '%H:%M:%S')\".",
        )

        @field_validator("format")
        @classmethod
        def _known_format(cls, value: str) -> str:
            if value not in ("iso", "http_date", "epoch", "epoch_ms") and "%" not in value:
                raise ValueError(
                    f"unknown cursor format {value!r}; use iso, http_date, epoch, epoch_ms or a strftime "
                    "pattern such as '%Y-%m-%d %H:%M:%S'"
                )
            return value

        @field_validator("timezone")
        @classmethod
        def _known_zone(cls, value: str | None) -> str | None:
            if value is not None:
                try:
                    zone(value)
                except Exception:
                    raise ValueError(f"unknown time zone {value!r}; use an IANA name such as UTC") from None
            return value

    settings_model = TimestampSettings
    settings: TimestampSettings

    def parse(self, value: Any) -> datetime:
        try:
            moment = parse_timestamp(value, self.tz)
        except (TimestampError, OverflowError, OSError) as exc:
            raise ValueError(str(exc)) from None
        if moment is None:
            raise ValueError("empty")
        return moment

    def initial(self) -> datetime:
        return self.parse(self.settings.initial)

    def read(self, record: Any) -> datetime:
        day: datetime = super().read(record)
        if self.settings.time_field is None:
            return day
        try:
            return at_time_of_day(day, get_path(record, self.settings.time_field), self.tz)
        except TimestampError as exc:
            raise RecordError(f"cursor field {self.settings.time_field!r}: {exc}") from None

    def start(self, saved: datetime) -> datetime:
        # The overlap re-reads ties at a saved cursor; it never reaches before the initial cursor.
        return max(saved - self.settings.overlap, min(saved, self.initial()))

    def render(self, value: datetime) -> str:
        fmt, zone_name = self.settings.format, self.settings.timezone
        moment = value.astimezone(zone(zone_name)) if zone_name else value
        if fmt == "iso":
            return moment.isoformat()
        if fmt == "http_date":
            return format_datetime(value.astimezone(UTC), usegmt=True)
        if fmt in ("epoch", "epoch_ms"):
            seconds = max(0.0, value.timestamp())  # an initial cursor of 1970 minus the overlap
            return str(int(seconds * 1000) if fmt == "epoch_ms" else int(seconds))
        return moment.strftime(fmt)

    def json_value(self, value: datetime) -> Any:
        text = self.render(value)
        return int(text) if self.settings.format in ("epoch", "epoch_ms") else text

    def dump(self, value: datetime) -> str:
        return value.isoformat()


class WindowCursor(TimestampCursor):
    """A modification time read in windows: each poll asks for `(cursor - overlap, until]`, with
    `until` fixed before the first page (`{until}` in the request), and commits `until` once the
    whole window was read. For listings sorted by something else (Jiandaoyun's keyset by `data_id`):
    a record changed while the window is read falls after `until` and is read by the next poll,
    never skipped behind the position the listing had reached."""

    kind = "window"

    class WindowSettings(TimestampCursor.TimestampSettings):
        type: Literal["window"] = Field(  # type: ignore[assignment]
            description="A modification time read in windows fixed before the scan."
        )
        settle: Duration = Field(
            default=timedelta(seconds=0),
            description="`until` is this long before now: for sources whose change time is set a "
            "little before the change is visible.",
        )

    settings_model = WindowSettings  # type: ignore[assignment]
    settings: WindowSettings

    def __init__(self, settings: CursorSettings, tz: tzinfo, clock: Clock | None = None) -> None:
        super().__init__(settings, tz, clock)
        self.until: datetime | None = None

    def start(self, saved: datetime) -> datetime:
        # As the request writes it (a format without fractions rounds it down): the window committed
        # is exactly the window asked for.
        self.until = self.parse(self.render(self.clock() - self.settings.settle))
        return super().start(saved)

    def bound(self) -> datetime | None:
        return self.until

    def complete(self, newest: datetime | None) -> datetime | None:
        if self.until is None:
            return newest
        return self.until if newest is None or newest <= self.until else newest


class RowVersionCursor(CursorStyle):
    """An increasing number every change bumps (a row version, a change sequence); hex `0x…` accepted."""

    kind = "row_version"

    class RowVersionSettings(CursorSettings):
        type: Literal["row_version"] = Field(default="row_version", description="A row version number.")
        overlap: int = Field(default=0, ge=0, description="Re-read this many versions before the saved one.")
        initial: int = Field(default=0, ge=0, description="Cursor of the first poll.")

    settings_model = RowVersionSettings
    settings: RowVersionSettings

    def parse(self, value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a row version")
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if not re.fullmatch(r"\d+|0[xX][0-9a-fA-F]+", text):
            raise ValueError(f"{text!r} is not a row version (a whole number)")
        return int(text, 0) if text.lower().startswith("0x") else int(text)

    def initial(self) -> int:
        return self.settings.initial

    def start(self, saved: int) -> int:
        return max(self.settings.initial, saved - self.settings.overlap)

    def render(self, value: int) -> str:
        return str(value)

    def json_value(self, value: int) -> int:
        return value


class KeysetCursor(CursorStyle):
    """The key of the last record read, for listings sorted by that key that only grow (events,
    payments): the next poll asks for what comes after it. Numbers compare as numbers."""

    kind = "keyset"

    class KeysetCursorSettings(CursorSettings):
        type: Literal["keyset"] = Field(default="keyset", description="The last record's key.")
        sorted: bool = Field(default=True, description="Keyset listings are sorted by their key.")
        initial: str | int = Field(default=0, description="Cursor of the first poll.")

    settings_model = KeysetCursorSettings
    settings: KeysetCursorSettings

    def parse(self, value: Any) -> str | int:
        if isinstance(value, bool | dict | list):
            raise ValueError(f"{value!r} is not a key")
        if isinstance(value, int):
            return value
        text = str(value)
        return int(text) if re.fullmatch(r"-?\d{1,18}", text) else text

    def initial(self) -> str | int:
        return self.parse(self.settings.initial)

    def start(self, saved: str | int) -> str | int:
        return saved

    def render(self, value: str | int) -> str:
        return str(value)

    def json_value(self, value: str | int) -> str | int:
        return value

    def order(self, value: str | int) -> tuple[int, int | str]:
        return (0, value) if isinstance(value, int) else (1, value)


REGISTRY: dict[str, type[CursorStyle]] = {
    cls.kind: cls for cls in (TimestampCursor, WindowCursor, RowVersionCursor, KeysetCursor)
}


if TYPE_CHECKING:
    AnyCursor = CursorSettings
else:
    # The settings of every registered style, told apart by `type`.
    AnyCursor = tagged_union((cls.settings_model for cls in REGISTRY.values()), "type", TimestampCursor.kind)


def cursor_style(settings: CursorSettings, tz: tzinfo, clock: Clock | None = None) -> CursorStyle:
    return REGISTRY[settings.type](settings, tz, clock)


def replace_cursor(value: Any, text: str, typed: Any, marker: str = CURSOR) -> Any:
    """`value` (a parameter, header, or JSON body) with `{cursor}` (or `marker`) written in: as `text`
    inside strings, as `typed` where a JSON string is the marker and nothing else."""
    if isinstance(value, str):
        return typed if value == marker and typed is not None else value.replace(marker, text)
    if isinstance(value, dict):
        return {k: replace_cursor(v, text, typed, marker) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_cursor(v, text, typed, marker) for v in value]
    return value


def uses_cursor(value: Any, marker: str = CURSOR) -> bool:
    if isinstance(value, str):
        return marker in value
    if isinstance(value, dict):
        return any(uses_cursor(v, marker) for v in value.values())
    if isinstance(value, list):
        return any(uses_cursor(v, marker) for v in value)
    return False
