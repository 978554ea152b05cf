"""A declarative preset's `preset.yaml`: a block of the REST connector's settings with `{{setting}}`
placeholders, the preset's status tables and its documented gaps. Placeholders are filled in after
the YAML is parsed, so no value the user gives can change the block's structure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml
from pydantic import SecretStr

PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
TEMPLATE_KEYS = frozenset({"rest", "status", "gaps"})


@dataclass(frozen=True)
class Gap:
    """A part of a preset the vendor's documentation leaves unknown or uncertain: `check-config` warns
    about it until the user sets `setting` themselves."""

    setting: str
    note: str

    def warning(self) -> str:
        return f"{self.setting}: {self.note} (set `{self.setting}` to confirm it)"


@dataclass(frozen=True)
class Template:
    rest: dict[str, Any]
    status: list[dict[str, Any]]
    gaps: tuple[Gap, ...]


class TemplateError(ValueError):
    """The preset's own YAML is wrong: a fault of the preset, reported with the file it is in."""


def load_template(package: str, name: str = "preset.yaml") -> Template:
    where = f"{package.replace('.', '/')}/{name}"
    try:
        text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError) as exc:
        raise TemplateError(f"{where}: not found (is it listed in package-data?)") from exc
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("rest"), dict):
        raise TemplateError(f"{where}: expected a mapping with a `rest:` block")
    unknown = sorted(set(data) - TEMPLATE_KEYS)
    if unknown:
        raise TemplateError(
            f"{where}: unknown key {unknown[0]!r}; expected {', '.join(sorted(TEMPLATE_KEYS))}"
        )
    gaps = tuple(Gap(str(g["setting"]), str(g["note"])) for g in data.get("gaps") or [])
    status = data.get("status") or []
    return Template(data["rest"], status if isinstance(status, list) else [status], gaps)


def fill(value: Any, values: dict[str, Any]) -> Any:
    """`value` with every `{{name}}` filled in: a string that is one placeholder and nothing else
    becomes the value itself (a number, a list, a mapping, a secret); one inside a longer string is
    written in as text. An unknown name is a KeyError naming it."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole is not None:
            return _value(whole.group(1), values)
        return PLACEHOLDER.sub(lambda m: _text(m.group(1), values), value)
    if isinstance(value, dict):
        return {fill(k, values): fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    return value


def placeholders(value: Any) -> set[str]:
    """Every name a template asks for."""
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    if isinstance(value, dict):
        return {n for k, v in value.items() for n in placeholders(k) | placeholders(v)}
    if isinstance(value, list):
        return {n for v in value for n in placeholders(v)}
    return set()


def _value(name: str, values: dict[str, Any]) -> Any:
    if name not in values:
        raise KeyError(name)
    return values[name]


def _text(name: str, values: dict[str, Any]) -> str:
    value = _value(name, values)
    if isinstance(value, SecretStr):
        raise TemplateError(
            f"{{{{{name}}}}} is a credential: it can only be a whole value, never part of a text"
        )
    if value is None:
        raise ValueError(f"`{name}` is not set, and the preset needs it")
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)
