"""What the store can hold, the same on SQLite and PostgreSQL: a record that breaks a limit is refused
when it is mapped (and quarantined), never left to fail the transaction of its whole page; and what
quarantine keeps of such a record is made storable first."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from datetime import UTC
from decimal import Decimal
from typing import Any

from orderbridge.mapping.model import Observation
from orderbridge.storage.bulk import encoder
from orderbridge.storage.tables import KEY

NAME = 64  # system names and link types (String(64) columns)
MAX_DEPTH = 100  # quarantine keeps a raw record this deep at most (deeper: "…")
MAX_NUMBER = Decimal(10) ** 18  # quantities and amounts: beyond this a number is noise, not an order
_RAW_CHECK = encoder(ascii=False, allow_nan=False)


class Unstorable(ValueError):
    """A mapped record holds a value the store cannot keep; the message names the field and why."""


def check_storable(obs: Observation, raw: Any) -> None:
    """Raise Unstorable naming the first value of `obs` or its raw record that a store would refuse
    (or keep differently on SQLite and PostgreSQL)."""
    for what, value in (
        ("record id", obs.record_id),
        ("order key", obs.order_key),
        ("order number", obs.order_ref),
        ("external reference", obs.external_ref),
    ):
        if value is not None and len(value) > KEY:
            raise Unstorable(f"the {what} is {len(value)} characters long; at most {KEY} can be stored")
    for kind, value in obs.links.items():
        if len(kind) > NAME:
            raise Unstorable(f"link type {kind[:40]!r}… is longer than {NAME} characters")
        if len(value) > KEY:
            raise Unstorable(f"link {kind!r} is {len(value)} characters long; at most {KEY} can be stored")
    q, a = obs.quantities, obs.amounts
    for name, number in (
        ("ordered", q.ordered),
        ("shipped", q.shipped),
        ("invoiced", q.invoiced),
        ("order", a.order),
        ("invoiced", a.invoiced),
        ("paid", a.paid),
    ):
        if isinstance(number, Decimal) and abs(number) >= MAX_NUMBER:
            raise Unstorable(f"{name} {number} is out of range (at most {MAX_NUMBER:.0e})")
    if obs.status_at is not None:
        try:
            obs.status_at.astimezone(UTC)
        except (OverflowError, ValueError):
            raise Unstorable(f"the time {obs.status_at.isoformat()} is out of the range of dates") from None
    if _clean("".join(_mapped_texts(obs))):
        try:
            text = _RAW_CHECK(raw)
        except (TypeError, ValueError, RecursionError):
            text = None
        if text is not None and "\\u0000" not in text and _clean(text):
            return  # the common case, checked without dumping the observation
    mapped = obs.model_dump(mode="json", exclude={"observed_at", "status_at"})
    try:
        text = json.dumps([raw, mapped], ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        text, failure = None, str(exc) or type(exc).__name__
    if text is not None and "\\u0000" not in text and _clean(text):
        return  # the common case, checked in one pass
    for where, problem in _text_problems({"raw": raw, "record": mapped}):
        raise Unstorable(f"{where} {problem}")
    if text is None:
        raise Unstorable(f"the raw record cannot be stored as JSON: {failure}")


def _mapped_texts(obs: Observation) -> list[str]:
    """Every text of the observation as mapped (what `model_dump` holds besides numbers and times)."""
    texts = [obs.system, obs.record_id, obs.order_key or "", obs.order_ref or "", obs.external_ref or ""]
    texts += (obs.reason or "", obs.amounts.currency or "")
    for dimension, status in obs.statuses.items():
        texts += (dimension, status.status, status.native or "")  # a StrEnum: its text is its value
    for name, value in obs.native_status.items():
        texts += (name, value or "")
    for kind, value in obs.links.items():
        texts += (kind, value)
    return texts


def usable_key(text: str) -> bool:
    """Whether `text` could be a key the store holds (an order key asked for by a request)."""
    return len(text) <= KEY and _clean(text)


def storable_text(text: str) -> str:
    """`text` with what no store keeps as text (NUL, lone surrogates) replaced by U+FFFD."""
    if _clean(text):
        return text
    return "".join("\ufffd" if ch == "\x00" or "\ud800" <= ch <= "\udfff" else ch for ch in text)


def storable_key(text: str | None) -> str | None:
    """A storable key column value: clean text of at most KEY characters (a longer one is shortened
    with a digest, so that equal texts still give equal keys)."""
    if text is None:
        return None
    text = storable_text(text)
    if len(text) <= KEY:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{text[: KEY - 17]}…{digest}"


def storable_json(value: Any, depth: int = 0) -> Any:
    """A JSON value every store keeps as it is: text made storable, non-finite numbers and other
    objects as text, nesting cut at MAX_DEPTH (for quarantine, which must keep what it was given)."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth >= MAX_DEPTH:
        return "…"
    if isinstance(value, dict):
        return {storable_text(str(k)): storable_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_json(v, depth + 1) for v in value]
    return storable_text(str(value))


def _clean(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text_problems(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        if "\x00" in value:
            yield _where(path), "holds a NUL character (\\u0000), which no store keeps as text"
        elif not _clean(value):
            bad = next(ch for ch in value if "\ud800" <= ch <= "\udfff")
            yield _where(path), f"holds a lone surrogate (\\u{ord(bad):04x}), which is not valid Unicode text"
    elif isinstance(value, float) and not math.isfinite(value):
        shown = "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
        yield _where(path), f"is {shown}, which JSON cannot hold"
    elif isinstance(value, dict):
        for key, item in value.items():
            key_text = str(key)
            if not _clean(key_text):
                yield _where(path), "has a key holding a NUL character or a lone surrogate"
                return
            yield from _text_problems(item, f"{path}.{key_text}" if path else key_text)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _text_problems(item, f"{path}[{index}]")


def _where(path: str) -> str:
    if path == "raw" or path.startswith(("raw.", "raw[")):
        rest = path[3:].removeprefix(".")
        return f"field {rest!r}" if rest else "the raw record"
    rest = path.removeprefix("record").removeprefix(".")
    return f"the mapped value {rest!r}" if rest else "the record"
