"""The settings reference in the documentation, generated from the settings models so that it cannot
drift from them. A page holds blocks between `<!-- settings: NAME -->` and `<!-- end settings -->`;
NAME is `sections` (the file's top level), `connectors` (the list of connector types), a section
(`store`, `reconcile`, ...), `system:TYPE` (a connector type's settings) or `system:TYPE/PART` (those
below PART: `system:spreadsheet/fields`). `python -m orderbridge.config.reference [--check] [FILE...]`
rewrites the blocks of FILEs (by default every page of PAGES, relative to the current folder), or, with
--check, exits 1 naming the files that are out of date."""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, HttpUrl, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from orderbridge.config.models import OrderbridgeConfig
from orderbridge.config.types import format_duration
from orderbridge.connectors.registry import REGISTRY

BLOCK = re.compile(
    r"(<!-- settings: (?P<name>[\w:./-]+) -->\n)(?P<body>.*?)(<!-- end settings -->)", re.DOTALL
)
COMMAND = "python3 tasks.py docs"
# Where each connector type's page is: docs/connectors/<type>.md when there is one.
CONNECTOR_PAGES = Path(__file__).resolve().parents[2] / "docs" / "connectors"
# The pages holding generated blocks, relative to the repository root: these, and every connector page
# that holds one (a new connector's page joins by itself).
PAGES = (
    "docs/configuration.md",
    "docs/webhooks.md",
    *sorted(
        f"docs/connectors/{page.name}"
        for page in CONNECTOR_PAGES.glob("*.md")
        if "<!-- settings: " in page.read_text(encoding="utf-8")
    ),
)


@dataclass(frozen=True)
class Setting:
    path: str
    kind: str
    default: str
    description: str


def settings_of(model: type[BaseModel], prefix: str = "") -> Iterator[Setting]:
    """Every setting of `model`, nested ones by their dotted path (`status[].rules[].when`)."""
    for name, info in model.model_fields.items():
        if info.exclude:
            continue  # set by the connector itself, never written in YAML
        path = f"{prefix}{info.alias or name}"
        yield Setting(path, kind(info.annotation), default(info), " ".join((info.description or "").split()))
        nested, shape = _nested(info.annotation)
        if nested is not None:
            yield from settings_of(nested, f"{path}{shape}.")


def kind(annotation: Any) -> str:
    """A setting's type in words: text, integer, duration, one of `a`, `b`, list of ..."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return "duration" if args[0] is timedelta else kind(args[0])
    if origin is Union or origin is types.UnionType:
        members = [a for a in args if a is not type(None)]
        return " or ".join(dict.fromkeys(kind(a) for a in members))
    if origin is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin is list:
        return f"list of {kind(args[0])}"
    if origin is dict:
        return f"mapping of {kind(args[0])} to {kind(args[1])}"
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return "section"
        if issubclass(annotation, Enum):
            return "one of " + ", ".join(f"`{m.value}`" for m in annotation)
    simple = {str: "text", int: "integer", float: "number", Decimal: "number", bool: "true or false"}
    special = {timedelta: "duration", SecretStr: "secret text", HttpUrl: "URL"}
    return simple.get(annotation) or special.get(annotation) or "value"


def default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value = info.default_factory() if info.default_factory is not None else info.default  # type: ignore[call-arg]
    if value is PydanticUndefined or value is None:
        return ""
    if isinstance(value, BaseModel):
        return ""  # a section: its settings follow
    if isinstance(value, timedelta):
        return f"`{format_duration(value)}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Enum):
        return f"`{value.value}`"
    if isinstance(value, list | dict) and not value:
        return ""
    if value == "":
        return '`""`'
    if isinstance(value, list):
        return "`[" + ", ".join(_plain(v) for v in value) + "]`"
    if isinstance(value, dict):
        return "`{" + ", ".join(f"{k}: {_plain(v)}" for k, v in value.items()) + "}`"
    return f"`{value}`"


def render(name: str) -> str:
    """The markdown of one block."""
    if name == "sections":
        rows = [s for s in settings_of(OrderbridgeConfig) if "." not in s.path]
        return _table(rows, "section")
    if name == "connectors":
        return _connectors()
    if name.startswith("system:"):
        type_name, _, under = name.removeprefix("system:").partition("/")
        entry = REGISTRY.get(type_name)
        if entry is None:
            raise KeyError(f"no connector type {type_name!r}; known: {', '.join(REGISTRY)}")
        rows = [s for s in settings_of(entry.settings) if not under or s.path.startswith(f"{under}.")]
        return _table(rows, "setting")
    field = OrderbridgeConfig.model_fields.get(name)
    nested, shape = _nested(field.annotation) if field is not None else (None, "")
    if nested is None:
        known = ", ".join(OrderbridgeConfig.model_fields)
        raise KeyError(f"no settings block {name!r}; use sections, system:TYPE or one of {known}")
    return _table(list(settings_of(nested, f"{name}{shape}.")), "setting")


def update(text: str) -> str:
    """`text` with every settings block generated afresh."""
    return BLOCK.sub(lambda m: f"{m.group(1)}{render(m.group('name'))}{m.group(4)}", text)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name in [a for a in argv if a != "--check"] or PAGES:
        path = Path(name)
        text = path.read_text(encoding="utf-8")
        fresh = update(text)
        if fresh != text:
            stale.append(name)
            if not check:
                path.write_text(fresh, encoding="utf-8")
    if check and stale:
        print(f"out of date: {', '.join(stale)}; regenerate with: {COMMAND}", file=sys.stderr)
        return 1
    for name in stale:
        print(f"updated {name}")
    return 0


def _connectors() -> str:
    """One line per connector type, from the registry: its name, how it is read, its summary, its page."""
    lines = ["| `type:` | read by | what it reads |", "|---|---|---|"]
    for name, entry in REGISTRY.items():
        how = " and ".join(
            w for w, on in (("polling", entry.implementation), ("pushes", entry.receiver)) if on
        )
        page = CONNECTOR_PAGES / f"{name}.md"
        link = f"[`{name}`]({name}.md)" if page.is_file() else f"[`{name}`](../webhooks.md)"
        lines.append(f"| {link} | {how} | {_escape(entry.summary)} |")
    return "\n".join(lines) + "\n"


def _table(rows: list[Setting], what: str) -> str:
    lines = [f"| {what} | type | default | what it does |", "|---|---|---|---|"]
    for row in rows:
        cells = [f"`{row.path}`", row.kind, row.default, row.description]
        lines.append("| " + " | ".join(_escape(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _nested(annotation: Any) -> tuple[type[BaseModel] | None, str]:
    """The settings model inside a field's type, and how it nests: "" (a section), "[]" (a list of
    them) or ".<name>" (a mapping of names to them)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _nested(args[0])
    if origin is Union or origin is types.UnionType:
        for member in args:
            inner = _nested(member)
            if inner[0] is not None:
                return inner
        return None, ""
    if origin is list:
        found, shape = _nested(args[0])
        return (found, "[]" + shape) if found is not None else (None, "")
    if origin is dict:
        found, shape = _nested(args[1])
        return (found, ".<name>" + shape) if found is not None else (None, "")
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, ""
    return None, ""


def _plain(value: Any) -> str:
    return format_duration(value) if isinstance(value, timedelta) else str(value)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
