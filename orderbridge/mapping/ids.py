"""Order-id normalisation: turn each system's native order number into the canonical order key."""

from __future__ import annotations

import re
import string
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class OrderIdRule(BaseModel):
    """How one system's native order number becomes the canonical key.

    Steps run in this order: trim, case, strip prefixes, remove separators, extract by pattern,
    zero-pad, format template, add prefix.
    """

    model_config = ConfigDict(extra="forbid")

    field: str = Field(default="order", description="Field (or column) holding the native order number.")
    trim: bool = Field(default=True, description="Remove spaces around the number.")
    case: Literal["upper", "lower", "keep"] = Field(
        default="upper", description="Letters upper-cased (so42 = SO42), lower-cased, or kept as they are."
    )
    strip_prefix: list[str] = Field(default_factory=list, description="Prefixes removed when present.")
    pattern: str | None = Field(
        default=None,
        description="Regular expression; its first group (or whole match) is kept. No match: not an id.",
    )
    remove: str = Field(default="", description="Characters removed anywhere (separators), e.g. '-_ /'.")
    pad: int | None = Field(default=None, ge=1, le=64, description="Zero-pad numeric keys to this width.")
    format: str | None = Field(
        default=None, description="Template applied last, e.g. 'SO-{0:0>6}' ({0} is the id so far)."
    )
    add_prefix: str = Field(default="", description="Text put before the key at the very end.")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @field_validator("format")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is None:
            return value
        hint = "use {0} for the id, with a format spec such as {0:0>6}"
        try:
            parsed = [(name, spec or "") for _, name, spec, _ in string.Formatter().parse(value)]
        except ValueError as exc:
            raise ValueError(f"not a valid format template ({exc}); {hint}") from None
        fields = [name for name, _ in parsed if name is not None]
        if any(int(width) > 64 for _, spec in parsed for width in re.findall(r"\d+", spec)):
            raise ValueError(f"a width or precision in the template is over 64; {hint}")
        if not fields:
            raise ValueError(f"the template does not contain the id; {hint}")
        wrong = [name for name in fields if name not in ("", "0")]
        if wrong:
            raise ValueError(f"only the id can be formatted, not {{{wrong[0]}}}; {hint}")
        # A numeric id is formatted as a number (so {0:0>6} and {0:06d} pad it): the template must take one.
        try:
            value.format(42)
        except Exception as exc:
            raise ValueError(f"not a valid format template for a numeric id ({exc}); {hint}") from None
        return value


class OrderIdError(ValueError):
    """A native value that cannot be turned into an order key."""


def normalise_order_id(native: object, rule: OrderIdRule) -> str:
    if native is None:
        raise OrderIdError("no order number")
    if isinstance(native, float) and native.is_integer():
        native = int(native)  # spreadsheets hand numbers over as floats
    value = str(native)
    if rule.trim:
        value = value.strip()
    if rule.case == "upper":
        value = value.upper()
    elif rule.case == "lower":
        value = value.lower()
    for prefix in rule.strip_prefix:
        candidate = (
            prefix.upper() if rule.case == "upper" else prefix.lower() if rule.case == "lower" else prefix
        )
        if value.startswith(candidate):
            value = value[len(candidate) :]
            break
    if rule.remove:
        value = value.translate({ord(ch): None for ch in rule.remove})
    if rule.pattern is not None:
        match = re.search(rule.pattern, value)
        if match is None:
            raise OrderIdError(f"{str(native)!r} does not match the pattern {rule.pattern!r}")
        value = match.group(1) if match.groups() else match.group(0)
    if rule.pad is not None:
        if value.isdigit():
            value = value.zfill(rule.pad)
        else:
            raise OrderIdError(f"{str(native)!r} cannot be zero-padded: {value!r} is not numeric")
    if rule.format is not None:
        try:
            value = rule.format.format(int(value) if value.isdigit() else value)
        except Exception as exc:  # {0:06d} given a non-numeric id
            raise OrderIdError(f"{str(native)!r} does not fit the format {rule.format!r}: {exc}") from None
    if rule.add_prefix:
        value = rule.add_prefix + value
    if not value:
        raise OrderIdError(f"{str(native)!r} normalises to an empty key")
    return value
