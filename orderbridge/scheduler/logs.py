"""Structured logging: JSON lines (or console), with every configured secret masked as a last guard."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from pathlib import Path
from typing import Any, TextIO

import structlog

from orderbridge.config.secrets import secret_values

MASK = "***"
_opened: TextIO | None = None  # the log file configure() opened, closed when it is replaced


class SecretMasker:
    """Replaces any configured secret value that reaches a log event, wherever it hides."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def mask_text(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def __call__(self, _logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        if not self.secrets:
            return event
        return {key: self._mask(value) for key, value in event.items()}

    def _mask(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.mask_text(value)
        if isinstance(value, dict):
            return {k: self._mask(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._mask(v) for v in value]
        return value


_masker = SecretMasker(())  # the secrets of the configuration in use, set by configure()


def secrets_of(config: Any) -> list[str]:
    """The secrets of a configuration model: secret settings and the store password (a loaded file's
    `LoadedConfig.secrets` adds what `${ENV}` references put into settings sent to sources)."""
    return secret_values(config)


def mask(text: str) -> str:
    """`text` with every secret of the configuration in use replaced by ***: for what the CLI prints
    and the HTTP endpoint answers, which do not pass through the log's masker."""
    return _masker.mask_text(text)


class MaskedStream:
    """Standard output or error (looked up at each write, as tests and pipes replace them) with every
    secret masked: what the CLI's consoles write through."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def target(self) -> TextIO:
        stream = getattr(sys, self.name)
        # While a progress bar runs, Rich stands a proxy in for the stream: write past it, as Rich does.
        target: TextIO = getattr(stream, "rich_proxied_file", stream)
        return target

    def write(self, text: str) -> int:
        return self.target.write(mask(text))

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return self.target.isatty()

    def fileno(self) -> int:
        return self.target.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self.target, "encoding", None) or "utf-8"


def configure(
    level: str = "info",
    fmt: str = "json",
    file: Path | None = None,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> None:
    global _opened, _masker
    _masker = SecretMasker(secrets)
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
            _masker,
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
                _masker,
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
