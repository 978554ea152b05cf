"""The connector contract: settings every system block shares, the Batch a poll yields, and the
shared step that turns a native record (a JSON object, a spreadsheet row) into a SourceRecord."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from orderbridge.config.types import Interval
from orderbridge.mapping.ids import OrderIdRule
from orderbridge.mapping.model import Amounts, Quantities, SourceRecord
from orderbridge.mapping.status import StatusTable
from orderbridge.mapping.timeparse import DateOrder, TimestampError, at_time_of_day, parse_timestamp, zone
from orderbridge.storage.db import Store


class PollSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    every: Interval = Field(default=timedelta(minutes=5), description="Interval between incremental polls.")
    unhealthy_after: int | None = Field(
        default=None,
        ge=1,
        description="Failed polls in a row after which this system is marked unhealthy and announced "
        "to the `source: unhealthy` alert rules; unset, `health.unhealthy_after` applies.",
    )


class HealthSettings(BaseModel):
    """When a failing source counts as unhealthy (each system may override it under `poll:`)."""

    model_config = ConfigDict(extra="forbid")

    unhealthy_after: int = Field(
        default=3,
        ge=1,
        description="Failed polls in a row after which a system is marked unhealthy (in /readyz, "
        "/metrics and `orderbridge status`) and announced to the `source: unhealthy` alert rules; one "
        "failure is often a blip. Its next successful poll marks it healthy and announces the recovery.",
    )


class FieldMap(BaseModel):
    """Where each canonical field is found in a native record (dotted paths into JSON, or column names)."""

    model_config = ConfigDict(extra="forbid")

    record_id: str | None = Field(default=None, description="Unique record id; defaults to the order field.")
    external_ref: str | None = Field(
        default=None, description="Another system's number for the order (customer PO, shop order id)."
    )
    updated: str | None = Field(default=None, description="When the record's status last changed.")
    updated_time: str | None = Field(
        default=None,
        description="The time of day of `updated`, for a system that keeps it in a field of its own (SAP "
        "Business One's UpdateTime beside UpdateDate): `updated`'s date at this time, in the system's zone.",
    )
    ordered_qty: str | None = Field(default=None, description="Quantity ordered.")
    shipped_qty: str | None = Field(default=None, description="Quantity shipped.")
    invoiced_qty: str | None = Field(default=None, description="Quantity invoiced.")
    order_amount: str | None = Field(default=None, description="Amount of the order.")
    invoiced_amount: str | None = Field(default=None, description="Amount invoiced.")
    paid_amount: str | None = Field(default=None, description="Amount paid.")
    currency: str | None = Field(default=None, description="Currency of the amounts (CNY, USD, ...).")
    reason: str | None = Field(default=None, description="Why the record is in an exception or on hold.")
    links: dict[str, str] = Field(
        default_factory=dict, description="Link type -> field, e.g. {tracking_number: tracking_no}."
    )


class SystemSettings(BaseModel):
    """Settings every system block has, whatever its connector type."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="The connector that reads the system.")
    enabled: bool = Field(default=True, description="false: configured but not polled.")
    poll: PollSettings = Field(default_factory=PollSettings, description="When the system is polled.")
    order_id: OrderIdRule = Field(
        default_factory=OrderIdRule,
        description="How the system's order number becomes the canonical order key (steps in order below).",
    )
    status: list[StatusTable] = Field(
        default_factory=list,
        description="The system's status words, per dimension: one table (or a list, one per dimension).",
    )
    fields: FieldMap = Field(
        default_factory=FieldMap, description="Where each canonical field is in the system's records."
    )
    timezone: str = Field(default="UTC", description="Zone of timestamps the system sends without one.")
    date_order: DateOrder | None = Field(
        default=None,
        description="How the system writes dates of three numbers: DMY (31/12/2025), MDY (12/31/2025) or "
        "YMD (25/12/31). Unset, a date whose day and month could be swapped (3/1/2025) or with a two-digit "
        "year is refused (its record quarantined) rather than guessed; 2025/3/1 and 13/3/2025 are clear.",
    )
    link_by: list[str] = Field(
        default_factory=list,
        description="Link types used to attach records without an order number, e.g. [tracking_number].",
    )
    decimal_separator: Literal["auto", ".", ","] = Field(
        default="auto",
        description="Decimal mark of numbers sent as text: '.' (1,234.5) or ',' (1.234,5). 'auto' reads "
        "'.' as the decimal mark and refuses text that only makes sense with ',' (1,5) or is "
        "ambiguous (1,234).",
    )

    def streams(self, name: str) -> dict[str, list[str]]:
        """The systems this block's records belong to, with the link types of each: the system itself
        and, for connectors with child listings, those (`erp.deliveries`)."""
        return {name: self.link_by}

    @property
    def polling(self) -> bool:
        """Whether the daemon polls this system (one that only receives pushes is not polled)."""
        return True

    @property
    def pushing(self) -> bool:
        """Whether the system pushes events (webhooks). Pushed events arrive out of order, so its
        records' latest observation is the one with the newest status time, not the last received."""
        return False

    def warnings(self) -> list[str]:
        """Things `check-config` points out about a valid block (an endpoint nothing signs, say)."""
        return []

    def effective(self) -> SystemSettings:
        """The settings the connector reads with: this block, or what a preset expands it to."""
        return self

    @field_validator("status", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @field_validator("link_by", mode="before")
    @classmethod
    def _link_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zone(value)
        except Exception:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai") from None
        return value


@dataclass(frozen=True)
class BadValue:
    """A native value known to be unusable (a formula never calculated, an Excel error): a record that
    reads it is quarantined with `reason`; `shown` stands for it in the raw record."""

    shown: str
    reason: str

    def __str__(self) -> str:
        return self.shown


@dataclass(frozen=True)
class RecordProblem:
    """A native record that could not be read; it is quarantined, the rest of its batch goes on."""

    location: str
    reason: str
    raw: Any
    record_id: str | None = None  # when known: reading this record successfully later settles it
    scope: str | None = None  # its file: reading the file whole again without the problem settles it
    whole: bool = False  # the whole unit (a file) could not be read, not just this record


@dataclass
class Batch:
    """One unit of work a poll yields: records, problems, and the cursor to commit with them."""

    label: str
    records: list[SourceRecord] = field(default_factory=list)
    problems: list[RecordProblem] = field(default_factory=list)
    cursor: dict[str, Any] | None = None
    done: int | None = None
    total: int | None = None
    # The batch is a complete read of `label` (a whole file, or a file that is gone: no records):
    # quarantined records of that scope that it did not find again are settled, and stored records of
    # that scope that it does not hold any more are retired.
    complete: bool = False
    # Where a record was in the source (`2026-11.xlsx row 7`), by record id, for a record that turns
    # out to be unusable only when mapped; without it the batch label and record id say where.
    locations: dict[str, str] = field(default_factory=dict)
    # A child listing's batch: its records are those of this system (`erp.deliveries`), mapped with
    # these settings; None for the system's own records.
    system: str | None = None
    settings: SystemSettings | None = None


class RecordError(ValueError):
    pass


def record_reason(exc: BaseException) -> str:
    """Why one record could not be read or mapped, for its quarantine entry."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    if isinstance(exc, ValueError):  # RecordError, OrderIdError, Unstorable, TimestampError: ours
        return str(exc)
    return f"cannot be read ({type(exc).__name__}: {exc})"


class SourceError(RuntimeError):
    """The source as a whole failed (unreachable, refused, answered garbage); the poll is retried later.

    Its message names the system and what went wrong, never a credential. `retry_after` is how many
    seconds the source asked us to wait, when it said so."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PollStopped(SourceError):
    """The poll's stop event was set while a request was in flight or waiting: the poll ends at once,
    with what was committed before; not a failure of the source."""


@dataclass(frozen=True)
class RetryNotice:
    """A request failed and will be tried again: which attempt comes next, of how many, after how long
    a wait, and why (secret-free)."""

    system: str
    attempt: int
    attempts: int
    wait: float
    reason: str


@dataclass(frozen=True)
class ConnectorContext:
    """What a connector gets from the daemon besides its settings."""

    base_dir: Path = field(default_factory=Path.cwd)  # relative paths in the config resolve here
    transport: httpx.BaseTransport | None = None  # tests and the demo may inject one
    on_retry: Callable[[RetryNotice], None] | None = None  # e.g. the progress line of `sync`
    # What is stored already, for a connector whose poll depends on it (the tracking safety net
    # asks only about the shipments gone silent); set by the sync that runs the poll.
    store: Store | None = None
    # The source's "now" (where a listing's window ends); None: the real time. Tests of sources
    # living on another timeline set it.
    clock: Callable[[], datetime] | None = None


class Connector(ABC):
    """A source system. `poll` yields batches; the pipeline commits each batch with its cursor."""

    settings_model: ClassVar[type[SystemSettings]]

    def __init__(self, name: str, settings: SystemSettings, context: ConnectorContext | None = None) -> None:
        self.name = name
        self.settings = settings
        self.context = context or ConnectorContext()

    @abstractmethod
    def poll(self, cursor: dict[str, Any] | None, stop: threading.Event) -> Iterator[Batch]:
        """Yield batches of what changed since `cursor`; check `stop` between batches."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


def get_path(data: Any, path: str) -> Any:
    """A value by exact key, else by dotted path (`customer.ref`, `lines.0.qty`); None when absent."""
    if isinstance(data, dict) and path in data:
        return data[path]
    current = data
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.lstrip("-").isdigit():
            index = int(part)
            current = current[index] if -len(current) <= index < len(current) else None
        else:
            return None
        if current is None:
            return None
    return current


def blanked(record: dict[str, Any], empty: list[Any]) -> dict[str, Any]:
    """The record as it is read: every field (in nested objects too) holding an `empty` value is None."""
    return {
        key: None
        if any(same_value(value, e) for e in empty)
        else blanked(value, empty)
        if isinstance(value, dict)
        else value
        for key, value in record.items()
    }


def same_value(value: Any, wanted: Any) -> bool:
    # `1 == True` and `0 == False` in Python: `false` must not match 0, nor `success: false` the ok 0
    return bool(value == wanted) and isinstance(value, bool) == isinstance(wanted, bool)


def content_hash(raw: Any) -> str:
    text = json.dumps(raw, sort_keys=True, default=str, ensure_ascii=False)
    # surrogatepass: a lone surrogate must not fail the hash; mapping refuses the record with a reason
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def read_field(data: Any, path: str) -> Any:
    """`get_path`, refusing a value the connector marked unusable (RecordError saying why)."""
    value = get_path(data, path)
    if isinstance(value, BadValue):
        raise RecordError(f"field {path!r}: {value.reason}")
    return value


def native_record_id(data: Any, settings: SystemSettings) -> str | None:
    """The record's own id (its `record_id` field, else its order number) as build_record reads it;
    for a record that could not be read, so that reading it correctly later settles its quarantine."""
    if not isinstance(data, dict):
        return None
    value = get_path(data, settings.fields.record_id or settings.order_id.field)
    return None if isinstance(value, dict | list | BadValue) else _text(value)


def build_record(
    system: str,
    data: dict[str, Any],
    settings: SystemSettings,
    *,
    record_id: str | None = None,
    raw: dict[str, Any] | None = None,
) -> SourceRecord:
    """Read the configured fields out of one native record. Raises RecordError saying what is wrong."""
    fm = settings.fields
    order_ref = _single(data, settings.order_id.field)
    links = {kind: v for kind, path in fm.links.items() if (v := _single(data, path)) is not None}
    if record_id is None:
        record_id = _single(data, fm.record_id) if fm.record_id else order_ref
    if record_id is None:
        wanted = fm.record_id or settings.order_id.field
        if not links:
            raise RecordError(f"no record id: field {wanted!r} is missing or empty, and no link field is set")
        kind, value = next(iter(links.items()))
        record_id = f"{kind}:{value}"
    native_status: dict[str, str | None] = {}
    for table in settings.status:
        for name in table.fields:
            native_status[name] = _status_text(read_field(data, name))
    tz = zone(settings.timezone)
    status_at = None
    if fm.updated:
        try:
            status_at = parse_timestamp(read_field(data, fm.updated), tz, date_order=settings.date_order)
        except TimestampError as exc:
            raise RecordError(f"field {fm.updated!r}: {exc}") from None
        if status_at is not None and fm.updated_time:
            try:
                status_at = at_time_of_day(status_at, read_field(data, fm.updated_time), tz)
            except TimestampError as exc:
                raise RecordError(f"field {fm.updated_time!r}: {exc}") from None
    return SourceRecord(
        system=system,
        record_id=record_id,
        order_ref=order_ref,
        external_ref=_single(data, fm.external_ref) if fm.external_ref else None,
        native_status=native_status,
        status_at=status_at,
        quantities=Quantities(
            ordered=_number(data, settings.decimal_separator, fm.ordered_qty),
            shipped=_number(data, settings.decimal_separator, fm.shipped_qty),
            invoiced=_number(data, settings.decimal_separator, fm.invoiced_qty),
        ),
        amounts=Amounts(
            order=_number(data, settings.decimal_separator, fm.order_amount),
            invoiced=_number(data, settings.decimal_separator, fm.invoiced_amount),
            paid=_number(data, settings.decimal_separator, fm.paid_amount),
            currency=_single(data, fm.currency) if fm.currency else None,
        ),
        links=links,
        reason=_status_text(read_field(data, fm.reason)) if fm.reason else None,
        raw=raw if raw is not None else data,
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _single(data: Any, path: str) -> str | None:
    """An id, a link or a code: one value, never a list or an object (whose text would be noise)."""
    value = read_field(data, path)
    if isinstance(value, dict | list):
        kind = "a list" if isinstance(value, list) else "an object"
        raise RecordError(f"field {path!r} holds {kind}, not a single value")
    return _text(value)


def _status_text(value: Any) -> str | None:
    """A status as text: a list, an object or a boolean as its JSON (`["A", "B"]`, `true`)."""
    if isinstance(value, dict | list | bool):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return _text(value)


_CURRENCY = re.compile(r"[¥￥$€£]")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def _number(data: dict[str, Any], separator: str, path: str | None) -> Decimal | None:
    if path is None:
        return None
    value = read_field(data, path)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise RecordError(f"field {path!r}: {value!r} is not a number")
    try:
        # A JSON or cell number is already unambiguous; only text is read by the decimal separator.
        number = (
            Decimal(str(value))
            if isinstance(value, int | float | Decimal)
            else parse_number(str(value), separator)
        )
    except ValueError as exc:
        raise RecordError(f"field {path!r}: {exc}") from None
    if not number.is_finite():
        raise RecordError(f"field {path!r}: {str(value)!r} is not a finite number")
    return number


def parse_number(text: str, separator: str = "auto") -> Decimal:
    """A number written as text with `separator` as its decimal mark ('.', ',' or 'auto'); thousands
    may be grouped by the other mark, spaces or apostrophes. 'auto' takes '.' as the decimal mark and
    raises ValueError for text that needs ',' to make sense, or means two different numbers."""
    if separator != "," and _PLAIN_NUMBER.fullmatch(text):
        return Decimal(text)  # digits with a decimal point or none: what the patterns below read it as
    body = _CURRENCY.sub("", text).strip()
    if separator != "auto":
        if (number := _with_separator(body, separator)) is None:
            raise ValueError(f"{text!r} is not a number with decimal separator {separator!r}")
        return number
    point = _with_separator(body, ".")
    comma = _with_separator(body, ",") if "," in body else None
    if point is not None and (comma is None or comma == point):
        return point
    if comma is None:
        raise ValueError(f"{text!r} is not a number")
    if point is None:
        raise ValueError(f"{text!r} needs a decimal comma; set decimal_separator: ',' for this system")
    meanings = f"{_plain(point)} or {_plain(comma)}"
    raise ValueError(f"{text!r} is ambiguous ({meanings}); set decimal_separator: '.' or ',' for this system")


@cache
def _number_pattern(separator: str) -> re.Pattern[str]:
    group = "," if separator == "." else "."
    # Grouped thousands: 1-3 leading digits, then groups of exactly three behind one consistent mark.
    return re.compile(
        rf"(?P<sign>[+-]?)\s*(?P<int>\d+|[1-9]\d{{0,2}}(?P<g>[{re.escape(group)} \u00a0\u202f'])\d{{3}}"
        rf"(?:(?P=g)\d{{3}})*)?(?:{re.escape(separator)}(?P<frac>\d+))?(?P<exp>[eE][+-]?\d+)?"
    )


def _with_separator(body: str, separator: str) -> Decimal | None:
    match = _number_pattern(separator).fullmatch(body)
    if match is None or not (match["int"] or match["frac"]) or (match["exp"] and separator != "."):
        return None
    digits = re.sub(r"\D", "", match["int"] or "0")
    fraction = f".{match['frac']}" if match["frac"] else ""
    try:
        return Decimal(f"{match['sign']}{digits}{fraction}{match['exp'] or ''}")
    except InvalidOperation:
        return None


def _plain(number: Decimal) -> str:
    return format(number.normalize(), "f")
