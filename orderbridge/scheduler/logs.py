"""Structured logging: JSON lines (or console), with every configured secret masked as a last guard."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from pathlib import Path
from typing import Any, TextIO

import structlog
from pydantic import BaseModel, SecretStr

MASK = "***"
_opened: TextIO | None = None  # the log file configure() opened, closed when it is replaced


class SecretMasker:
    """Replaces any configured secret value that reaches a log event, wherever it hides."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def __call__(self, _logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        if not self.secrets:
            return event
        return {key: self._mask(value) for key, value in event.items()}

    def _mask(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self.secrets:
                if secret in value:
                    value = value.replace(secret, MASK)
            return value
        if isinstance(value, dict):
            return {k: self._mask(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._mask(v) for v in value]
        return value


def secrets_in(model: BaseModel | Any) -> list[str]:
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


def secrets_of(config: Any) -> list[str]:
    """Every secret of a loaded configuration: SecretStr values and the store URL's password."""
    from sqlalchemy.engine import make_url

    found = secrets_in(config)
    try:
        password = make_url(config.store.url).password
    except Exception:
        password = None
    if password:
        found.append(str(password))
    return found


def configure(
    level: str = "info",
    fmt: str = "json",
    file: Path | None = None,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> None:
    global _opened
    target: TextIO = stream or sys.stderr
    previous, _opened = _opened, None
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        target = _opened = file.open("a", encoding="utf-8")
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            SecretMasker(secrets),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(target),
        cache_logger_on_first_use=False,
    )
    # Libraries (uvicorn, APScheduler, SQLAlchemy) log through the standard library: same format,
    # same destination, same masking; warnings and above only.
    handler = logging.StreamHandler(target)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                SecretMasker(secrets),
                renderer,
            ],
            foreign_pre_chain=[
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.format_exc_info,
            ],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_orderbridge", False)]:
        root.removeHandler(old)
    handler._orderbridge = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    if previous is not None:
        previous.close()  # the log file of an earlier configuration, no longer written to
