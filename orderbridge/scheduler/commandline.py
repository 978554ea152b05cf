"""What every `orderbridge` command shares: the Typer app, consoles, the config and store options, and
loading a config or opening a store with the exit codes the commands document."""

from __future__ import annotations

import difflib
import logging
import os
import sys
from collections.abc import Collection
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TextIO, cast

import structlog
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from orderbridge import __version__
from orderbridge.config.errors import ConfigError
from orderbridge.config.loader import LoadedConfig, load_config
from orderbridge.reconciler.engine import Reconciler
from orderbridge.scheduler import logs
from orderbridge.scheduler.output import Format
from orderbridge.storage.db import Store, StoreError


class ExitCode(IntEnum):
    """What every command's exit status means (docs/cli.md lists them per command)."""

    OK = 0
    FAILED = 1  # the command could not do its work: a source failed, no such order or discrepancy
    USAGE = 2  # the configuration file or the command line is wrong; the message lists what
    STORE = 3  # the store cannot be opened or reached
    INCOMPLETE = 4  # done, but some of the source could not be read at all (a whole file)


app = typer.Typer(
    name="orderbridge",
    help="Reconciles what your ERP, WMS, CRM, spreadsheets and carriers say about each order.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"orderbridge {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Reconciles what your ERP, WMS, CRM, spreadsheets and carriers say about each order."""


# What the commands print passes the secret masker too: an error message may quote a source's answer.
console = Console(file=cast(TextIO, logs.MaskedStream("stdout")))
err = Console(file=cast(TextIO, logs.MaskedStream("stderr")))
if not console.is_terminal and "COLUMNS" not in os.environ:
    console.width = 120  # piped into a file or a CI log: tables stay readable instead of 80 columns

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="The orderbridge YAML file.", envvar="ORDERBRIDGE_CONFIG")
]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
DEFAULT_CONFIG = Path("orderbridge.yaml")


_logging_to_file = False


def load(path: Path, *, daemon: bool = False, log_file: bool = True, offline: bool = False) -> LoadedConfig:
    """Load the config or exit 2 listing its problems, and set up logging: the daemon logs as the
    config says; a one-shot command writes to the configured log file, or, without one, shows only
    warnings on standard error, where its own output speaks to the person running it. `offline`: the
    command reads only the store, so a source's unset secret variable does not stop it."""
    global _logging_to_file
    try:
        loaded = load_config(path, offline=offline)
    except ConfigError as exc:
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(ExitCode.USAGE) from None
    cfg = loaded.config.log
    file = None if cfg.file is None or not log_file else loaded.base_dir / cfg.file
    _logging_to_file = file is not None
    level, fmt = cfg.level, cfg.format
    if not daemon and file is None:
        if logging.getLevelNamesMapping()[level.upper()] < logging.WARNING:
            level = "warning"
        if sys.stderr.isatty():
            fmt = "console"
    try:
        logs.configure(level, fmt, file, loaded.secrets)
    except OSError as exc:  # the folder is read-only, the disk full, ...
        err.print(f"{path}: log.file: cannot write to {file}: {exc.strerror or exc}", markup=False)
        raise typer.Exit(2) from None
    return loaded


def open_store(loaded: LoadedConfig) -> Store:
    try:
        return Store(loaded.config.store.url, loaded.base_dir)
    except StoreError as exc:
        fail(str(exc), ExitCode.STORE, event="store unavailable")


def fail(
    message: str, code: ExitCode = ExitCode.FAILED, *, event: str | None = None, **fields: Any
) -> NoReturn:
    """Say what went wrong on standard error and exit with `code`. With `event`, the failure is also
    logged, so that it reaches the configured log file (without one, the message above is the log)."""
    typer.echo(logs.mask(f"error: {message}"), err=True)  # a message may quote a source: mask secrets
    if event is not None and _logging_to_file:
        structlog.get_logger("orderbridge.cli").error(event, error=message, **fields)
    raise typer.Exit(code)


def known(
    kind: str, name: str, choices: Collection[str], *, option: str | None = None, also: str = ""
) -> str:
    """`name` when it is one of `choices`; otherwise exit 2 listing them (and the closest one), then
    `also` (another form that is accepted)."""
    if name in choices:
        return name
    close = difflib.get_close_matches(name, list(choices), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    where = f"{option}: " if option else ""
    listed = ", ".join(choices) if choices else "none are configured"
    several = kind + ("es" if kind.endswith("s") else "s")
    fail(f"{where}unknown {kind} {name!r}{hint}; {several}: {listed}{also}", ExitCode.USAGE)


def reconciler(loaded: LoadedConfig, store: Store) -> Reconciler:
    from orderbridge.notify.alerts import Alerting

    streams, alerts = loaded.config.streams(), loaded.config.alerts
    return Reconciler(
        store,
        loaded.config.reconcile,
        tuple(streams),
        streams,
        observer=Alerting(alerts) if alerts.rules else None,  # a pass run by hand announces too
        zone=loaded.config.display.zone,
    )


def progress_bar() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
