"""Which values of a loaded configuration are secrets, so that every output can mask them: values of
secret-typed settings, the store URL's password, and every value an `${ENV}` reference put into a
setting that is sent to a source (headers, query parameters, the base URL), whatever its name."""

from __future__ import annotations

import re
import types
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Union, get_args, get_origin
from urllib.parse import quote, unquote

from pydantic import BaseModel, SecretStr

from orderbridge.config.errors import KeyPath
from orderbridge.config.types import SentToSource


def secrets_in(model: Any) -> list[str]:
    """Every SecretStr value inside a settings model tree."""
    found: list[str] = []
    if isinstance(model, SecretStr):
        found.append(model.get_secret_value())
    elif isinstance(model, BaseModel):
        for name in type(model).model_fields:
            found.extend(secrets_in(getattr(model, name)))
    elif isinstance(model, dict):
        for value in model.values():
            found.extend(secrets_in(value))
    elif isinstance(model, list | tuple):
        for value in model:
            found.extend(secrets_in(value))
    return found


def url_password(url: str) -> list[str]:
    """The password in a URL's userinfo, as written and decoded (either may reach a message)."""
    match = _USERINFO.match(url)
    if match is None or match["password"] is None:
        return []
    written = match["password"]
    return [p for p in dict.fromkeys((written, unquote(written), quote(unquote(written), safe=""))) if p]


def secret_values(config: Any, carried: Iterable[str] = ()) -> list[str]:
    """The secrets of a loaded configuration: secret settings, the store password, and `carried`
    (environment values put into settings sent to a source)."""
    found = secrets_in(config)
    store = getattr(config, "store", None)
    if store is not None:
        found.extend(url_password(store.url))
    found.extend(carried)
    return list(dict.fromkeys(value for value in found if value))


def carried_to_source(
    env_values: dict[KeyPath, list[str]], models: Mapping[str, type[BaseModel]], top: type[BaseModel]
) -> list[str]:
    """The environment values put into settings marked SentToSource (or secret-typed): `env_values`
    maps a key path to the values substituted there; `models` gives each system's settings model."""
    found: list[str] = []
    for path, values in env_values.items():
        if len(path) >= 2 and path[0] == "systems" and isinstance(path[1], str) and path[1] in models:
            model, rest = models[path[1]], path[2:]
        else:
            model, rest = top, path
        if _sent_to_source(model, rest):
            found.extend(values)
    return found


# scheme://user:password@host... — the password is everything up to the last `@` before the host
_USERINFO = re.compile(
    r"^[A-Za-z][A-Za-z0-9+.-]*://(?P<user>[^:/?#@]*)(?::(?P<password>.*))?@[^@/?#]*(?:[/?#][^@]*)?$"
)


def _sent_to_source(model: type[BaseModel], path: Sequence[str | int]) -> bool:
    """Whether the setting at `path` below `model` is, or is inside, one marked SentToSource, or is
    secret-typed."""
    current: Any = model
    for part in path:
        step = _step(current, part)
        if step is None:
            return False
        current, marked = step
        if marked:
            return True
    return any(member is SecretStr for member in _members(current))


def _step(annotation: Any, part: str | int) -> tuple[Any, bool] | None:
    """The annotation one key below `annotation`, and whether that field is marked SentToSource."""
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel) and isinstance(part, str):
            for name, info in member.model_fields.items():
                if part in (name, info.alias):
                    return info.annotation, any(m is SentToSource for m in info.metadata)
        elif get_origin(member) is dict and isinstance(part, str):
            return get_args(member)[1], False
        elif get_origin(member) is list and isinstance(part, int):
            return get_args(member)[0], False
    return None


def _members(annotation: Any) -> list[Any]:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _members(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [m for arg in get_args(annotation) if arg is not type(None) for m in _members(arg)]
    return [annotation]
