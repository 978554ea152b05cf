"""Value types shared by every settings model: durations ("30m", "2h", "1d") and secrets."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Annotated, Any, Union

from pydantic import BaseModel, BeforeValidator, Field, PlainSerializer, SecretStr, WithJsonSchema

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")


def parse_duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 5m, 2h, 1d")
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    text = str(value).strip().lower().replace(" ", "")
    if text in ("0", ""):
        return timedelta(0)
    pos = 0
    total = 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or pos == 0:
        raise ValueError(f"{value!r} is not a duration; expected e.g. 30s, 5m, 2h, 1d or 1h30m")
    return timedelta(seconds=total)


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

Secret = SecretStr


def tagged_union(models: Iterable[type[BaseModel]], tag: str, default: str) -> Any:
    """The settings of a family of styles as one field type: the block's `tag` key picks the model
    (`default` when the key is left out)."""

    def fill(value: Any) -> Any:
        return {**value, tag: default} if isinstance(value, Mapping) and tag not in value else value

    members = tuple(models)
    return Annotated[Union[members], Field(discriminator=tag), BeforeValidator(fill)]  # noqa: UP007
