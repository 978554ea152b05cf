"""Value types shared by every settings model: durations ("30m", "2h", "1d") and secrets."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Annotated, Any, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    PlainSerializer,
    SecretStr,
    WithJsonSchema,
)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")


MAX_DURATION = timedelta(days=3650)  # ten years: anything longer is a typo, and overflows dates
_HINT = "expected e.g. 30s, 5m, 2h, 1d or 1h30m"


def parse_duration(value: Any) -> timedelta:
    """A duration from text (`1h30m`) or a number of seconds; never negative, at most MAX_DURATION."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise ValueError(f"expected a duration; {_HINT}")
    elif isinstance(value, int | float):
        seconds = float(value)
    else:
        seconds = _seconds(str(value))
    if not math.isfinite(seconds):
        raise ValueError(f"{value!r} is not a duration; {_HINT}")
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative (found {value!r}); {_HINT}")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{value!r} is longer than {MAX_DURATION.days} days; {_HINT}")
    return timedelta(seconds=seconds)


def _seconds(value: str) -> float:
    text = value.strip().lower().replace(" ", "")
    if text in ("0", ""):
        return 0.0
    pos = 0
    total = 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or pos == 0:
        raise ValueError(f"{value!r} is not a duration; {_HINT}")
    return total


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError(f"must be longer than 0; {_HINT}")
    return value


def _interval(value: timedelta) -> timedelta:
    if value < timedelta(seconds=1):
        raise ValueError(f"an interval must be at least 1s (found {format_duration(value)}); {_HINT}")
    return value


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^(\d+(\.\d+)?[smhdw])+$", "examples": ["30m", "1d"]}),
]
# A duration that must not be zero (a timeout, an SLA tier), and one that paces a repeating job.
PositiveDuration = Annotated[Duration, AfterValidator(_positive)]
Interval = Annotated[Duration, AfterValidator(_interval)]

Secret = SecretStr


class _SentToSource:
    """Marks a setting sent to a source as it is (headers, query parameters, the base URL): values
    that `${ENV}` references put there are credentials as far as any output is concerned, and are
    masked like secrets, whatever the setting's name. Use as `Annotated[dict[str, str], SentToSource]`."""

    def __repr__(self) -> str:
        return "SentToSource"


SentToSource = _SentToSource()


def tagged_union(models: Iterable[type[BaseModel]], tag: str, default: str) -> Any:
    """The settings of a family of styles as one field type: the block's `tag` key picks the model
    (`default` when the key is left out)."""

    def fill(value: Any) -> Any:
        return {**value, tag: default} if isinstance(value, Mapping) and tag not in value else value

    members = tuple(models)
    return Annotated[Union[members], Field(discriminator=tag), BeforeValidator(fill)]  # noqa: UP007
