"""Load the configuration file: read it, validate every section and every system, and refuse it with
all its problems listed at once, never quoting a secret or a value taken from the environment."""

from __future__ import annotations

import difflib
import os
import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr, ValidationError

from orderbridge.config.document import Document, read_document
from orderbridge.config.errors import ConfigError, KeyPath, Problem, format_key_path
from orderbridge.config.models import (
    SKIP_REFERENCE_CHECKS,
    SYSTEM_NAME,
    SYSTEM_NAME_RULE,
    OrderbridgeConfig,
    config_json_schema,
    reference_problems,
)
from orderbridge.config.secrets import carried_to_source, secret_values
from orderbridge.connectors.base import SystemSettings
from orderbridge.connectors.registry import REGISTRY

__all__ = ["ConfigError", "LoadedConfig", "Problem", "config_json_schema", "load_config", "parse_config"]

# Key names whose values are credentials, whatever the model says (matched case-insensitively).
_SENSITIVE_KEY = re.compile(r"token|passw|pwd|secret|key|salt|credential|authoriz|cookie|signature")
_SENSITIVE_SECTIONS = frozenset({"auth", "headers"})
_URL_USERINFO = re.compile(r"://\S*@")  # greedy: a password may hold an unescaped @ or /
_NOTHING: Any = object()


# What a command that only reads the store needs resolved; elsewhere (a source's credentials, say) an
# unset variable may stay unset for it.
OFFLINE_NEEDS = frozenset({"store", "log", "display", "reconcile"})


@dataclass(frozen=True)
class LoadedConfig:
    config: OrderbridgeConfig
    path: Path  # absolute
    base_dir: Path  # the config file's folder: relative paths in the file resolve against it
    unset: tuple[str, ...] = ()  # variables left unset (offline loading): what is built from them is unusable
    # Every value no output may show: secret settings, the store password, and what `${ENV}`
    # references put into settings sent to a source.
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def resolve(self, value: str | Path) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.base_dir / path


def load_config(
    path: str | Path, environ: Mapping[str, str] | None = None, *, offline: bool = False
) -> LoadedConfig:
    """Read and validate the file; raise ConfigError listing every problem in it. `offline`: for a
    command that does not reach the sources, an unset variable outside OFFLINE_NEEDS is no problem as
    long as the value, as written, is valid (a secret is)."""
    source = str(path)
    file = Path(path)
    try:
        data = file.read_bytes()
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            source, [Problem("", line, f"not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8")]
        ) from None
    except OSError as exc:
        raise ConfigError(
            source, [Problem("", None, f"cannot read the file: {exc.strerror or exc}")]
        ) from None
    unset: list[str] = []
    absolute = file.resolve()
    config, document = _parse(text, source, environ, absolute.parent, offline=offline, unset=unset)
    models = {name: type(settings) for name, settings in config.systems.items()}
    carried = carried_to_source(document.env_values, models, OrderbridgeConfig)
    return LoadedConfig(
        config=config,
        path=absolute,
        base_dir=absolute.parent,
        unset=tuple(unset),
        secrets=tuple(secret_values(config, carried)),
    )


def parse_config(
    text: str,
    source: str = "<config>",
    environ: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
    *,
    offline: bool = False,
    unset: list[str] | None = None,
) -> OrderbridgeConfig:
    """Validate configuration text; `source` names it in problems. With `base_dir` (the file's folder)
    paths the file names are checked too. With `offline` (see load_config), the names of the
    variables left unset are appended to `unset`."""
    return _parse(text, source, environ, base_dir, offline=offline, unset=unset)[0]


def _parse(
    text: str,
    source: str,
    environ: Mapping[str, str] | None,
    base_dir: Path | None,
    *,
    offline: bool = False,
    unset: list[str] | None = None,
) -> tuple[OrderbridgeConfig, Document]:
    document = read_document(
        text,
        os.environ if environ is None else environ,
        (lambda path: not path or path[0] not in OFFLINE_NEEDS) if offline else None,
    )
    if unset is not None:
        unset.extend(dict.fromkeys(name for names in document.deferred.values() for name in names))
    data = document.data
    if not isinstance(data, dict):
        if not document.problems:
            sections = ", ".join(OrderbridgeConfig.model_fields)
            document.problems.append(
                Problem(
                    "",
                    document.lines.get(()),
                    f"expected a mapping of sections ({sections}), not {_kind(data)}",
                )
            )
        raise ConfigError(source, document.problems)

    checker = _Checker(document)
    systems = checker.systems(data.get("systems"))
    checker.sections(data)
    checker.references(data, systems)
    if base_dir is not None:
        checker.log_file(data, base_dir)
    if document.problems:
        raise ConfigError(source, document.problems)
    try:
        return OrderbridgeConfig.model_validate({**data, "systems": systems}), document
    except ValidationError as exc:  # not expected: every part was checked above
        checker.validation_error(exc, OrderbridgeConfig, data, ())
        raise ConfigError(source, document.problems) from None


class _Checker:
    """Turns validation errors into problems at their place in the file."""

    def __init__(self, document: Document) -> None:
        self.document = document

    def add(self, path: KeyPath, message: str, found: Any = _NOTHING, *, secret: bool = False) -> None:
        problem = Problem(
            format_key_path(path), self.document.line_of(path), message + self._found(path, found, secret)
        )
        if problem not in self.document.problems:
            self.document.problems.append(problem)

    def systems(self, raw: Any) -> dict[str, SystemSettings]:
        """Each system on its own, by the settings model of its `type`: one bad system hides nothing."""
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.add(("systems",), "expected a mapping of system name -> settings", raw)
            return {}
        known = ", ".join(sorted(REGISTRY))
        instances: dict[str, SystemSettings] = {}
        for name, block in raw.items():
            path: KeyPath = ("systems", name)
            if not SYSTEM_NAME.match(name):
                self.add(path, f"system name {name!r} must {SYSTEM_NAME_RULE}")
            if not isinstance(block, dict):
                self.add(
                    path, f"expected the system's settings, starting with `type` (one of {known})", block
                )
                continue
            if "type" not in block:
                self.add(path, f"missing `type`; known types: {known}")
                continue
            type_name = block["type"]
            if not isinstance(type_name, str) or type_name not in REGISTRY:
                self.add((*path, "type"), f"unknown connector type; known types: {known}", type_name)
                continue
            settings_model = REGISTRY[type_name].settings
            try:
                instances[name] = settings_model.model_validate(block)
            except ValidationError as exc:
                self.validation_error(exc, settings_model, block, path)
        return instances

    def sections(self, data: dict[str, Any]) -> None:
        """Everything but the systems (checked above) and the cross-references (checked below)."""
        stubbed = {**data, "systems": {}}
        try:
            OrderbridgeConfig.model_validate(stubbed, context={SKIP_REFERENCE_CHECKS: True})
        except ValidationError as exc:
            self.validation_error(exc, OrderbridgeConfig, stubbed, ())

    def log_file(self, data: dict[str, Any], base_dir: Path) -> None:
        """A log file that cannot be one (a folder, a path through a file) is refused now, not when the
        daemon first writes to it."""
        log = data.get("log")
        file = log.get("file") if isinstance(log, dict) else None
        if not isinstance(file, str) or any(p.key_path == "log.file" for p in self.document.problems):
            return
        path = Path(file).expanduser()
        path = path if path.is_absolute() else base_dir / path
        try:
            if path.is_dir():
                self.add(("log", "file"), "is a folder; name a file in it, e.g. orderbridge.log")
            elif any(parent.exists() and not parent.is_dir() for parent in path.parents):
                self.add(("log", "file"), "goes through something that is not a folder")
        except (OSError, ValueError) as exc:
            self.add(("log", "file"), f"is not a usable path ({exc})")

    def references(self, data: dict[str, Any], checked: dict[str, SystemSettings]) -> None:
        systems = data.get("systems")
        names = [name for name in systems if isinstance(name, str)] if isinstance(systems, dict) else []
        names += [n for name, s in checked.items() for n in s.streams(name) if n != name]
        for found in reference_problems(names, data.get("reconcile")):
            self.add(
                ("reconcile", *found.path), found.message, _NOTHING if found.found is None else found.found
            )
        server = data.get("server")
        track = server.get("track") if isinstance(server, dict) else None
        named = track.get("system") if isinstance(track, dict) else None
        if isinstance(named, str) and named not in names:
            configured = ", ".join(names) or "none"
            self.add(
                ("server", "track", "system"), f"not a configured system; configured: {configured}", named
            )

    def validation_error(
        self, exc: ValidationError, model: type[BaseModel], data: Any, prefix: KeyPath
    ) -> None:
        for error in exc.errors(include_url=False):
            loc, kind = error["loc"], error["type"]
            path = (*prefix, *_data_path(data, loc, kind))
            if any(path[: len(missing)] == missing for missing in self.document.unresolved):
                continue  # already reported: the environment variable it names is not set
            deferred = next((d for d in self.document.deferred if path[: len(d)] == d), None)
            if deferred is not None:  # left unset, and needed after all: as written, it is not valid
                for name in self.document.deferred[deferred]:
                    self.add(deferred, f"environment variable {name} is not set")
                continue
            if kind == "extra_forbidden":
                self.add(path, _unknown_key(str(loc[-1]), _field_names(_annotation_at(model, loc[:-1]))))
                continue
            found = error.get("input", _NOTHING)
            secret = _is_secret(_annotation_at(model, loc))
            message = error["msg"]
            if kind in ("value_error", "assertion_error"):
                cause = error.get("ctx", {}).get("error")
                message = str(cause) if cause is not None else message.split(", ", 1)[-1]
                if self._sensitive(path, secret):
                    message = _scrub(message, found)
                elif isinstance(found, str | int | float) and repr(found) in message:
                    found = _NOTHING  # the message already quotes it
            self.add(path, message, found, secret=secret)

    def _sensitive(self, path: KeyPath, secret: bool) -> bool:
        if secret or path in self.document.from_env or (path and path[0] == "store"):
            return True
        return any(
            isinstance(part, str) and (part in _SENSITIVE_SECTIONS or _SENSITIVE_KEY.search(part.lower()))
            for part in path
        )

    def _found(self, path: KeyPath, found: Any, secret: bool) -> str:
        if found is _NOTHING:
            return ""
        names = self.document.from_env.get(path)
        if names:
            return f" (found a value from {', '.join('${' + name + '}' for name in names)})"
        if not isinstance(found, str | int | float | bool | None) or path[:1] == ("store",):
            return ""  # a mapping or list may hold secrets; the store URL a password
        if self._sensitive(path, secret):
            return " (found a secret)"
        if found is None:
            return " (found nothing)"
        if isinstance(found, str):
            found = _URL_USERINFO.sub("://***@", found)
            found = found if len(found) <= 80 else found[:77] + "..."
        return f" (found {found!r})"


def _data_path(data: Any, loc: Sequence[str | int], kind: str) -> KeyPath:
    """The place in the file an error's `loc` points to. Parts that do not index the data are
    pydantic's own (union members, `[key]`) or reshaping by a validator, and are left out; a
    missing key is kept."""
    path: list[str | int] = []
    node = data
    for index, part in enumerate(loc):
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and -len(node) <= part < len(node)
        if in_dict or in_list:
            node = node[part]
            path.append(part)
        elif kind == "missing" and index == len(loc) - 1:
            path.append(part)
    return tuple(path)


def _members(annotation: Any) -> list[Any]:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _members(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [m for arg in get_args(annotation) for m in _members(arg) if m is not type(None)]
    return [annotation]


def _annotation_at(model: type[BaseModel], loc: Sequence[str | int]) -> Any:
    """The declared type at `loc`, stepping over parts that are not fields (union member tags)."""
    current: Any = model
    for part in loc:
        for member in _members(current):
            if isinstance(member, type) and issubclass(member, BaseModel) and isinstance(part, str):
                found = next((f for n, f in member.model_fields.items() if part in (n, f.alias)), None)
                if found is not None:
                    current = found.annotation
                    break
                if _tagged(member, part):  # a tagged union's member, named by its tag
                    current = member
                    break
            elif get_origin(member) is dict and isinstance(part, str) and part != "[key]":
                current = get_args(member)[1]
                break
            elif get_origin(member) is list and isinstance(part, int):
                current = get_args(member)[0]
                break
    return current


def _tagged(model: type[BaseModel], tag: str) -> bool:
    return any(
        get_origin(f.annotation) is Literal and tag in get_args(f.annotation)
        for f in model.model_fields.values()
    )


def _field_names(annotation: Any) -> list[str]:
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return [info.alias or name for name, info in member.model_fields.items()]
    return []


def _is_secret(annotation: Any) -> bool:
    return any(member is SecretStr for member in _members(annotation))


def _unknown_key(key: str, expected: list[str]) -> str:
    if not expected:
        return f"unknown key {key!r}"
    close = difflib.get_close_matches(key, expected, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {key!r}; expected one of {', '.join(expected)}{hint}"


def _scrub(message: str, value: Any) -> str:
    """A validator's own message may quote its input; take a secret out of it."""
    if isinstance(value, str | int | float) and str(value):
        for text in (repr(value), str(value)):
            message = message.replace(text, "<hidden>")
    return message


def _kind(value: Any) -> str:
    if value is None:
        return "an empty document"
    if isinstance(value, list):
        return "a list"
    return f"a single value ({type(value).__name__})"
