"""What every `orderbridge` command shares: the Typer app, consoles, the config and store options, and
loading a config or opening a store with the exit codes the commands document."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

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

from orderbridge.config.errors import ConfigError
from orderbridge.config.loader import LoadedConfig, load_config
from orderbridge.reconciler.engine import Reconciler
from orderbridge.scheduler import logs
from orderbridge.scheduler.output import Format
from orderbridge.storage.db import Store, StoreError

app = typer.Typer(
    name="orderbridge",
    help="Reconciles what your ERP, WMS, CRM, spreadsheets and carriers say about each order.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)
if not console.is_terminal and "COLUMNS" not in os.environ:
    console.width = 120  # piped into a file or a CI log: tables stay readable instead of 80 columns

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="The orderbridge YAML file.", envvar="ORDERBRIDGE_CONFIG")
]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
DEFAULT_CONFIG = Path("orderbridge.yaml")


def load(path: Path, *, daemon: bool = False, log_file: bool = True) -> LoadedConfig:
    """Load the config or exit 2 listing its problems, and set up logging: the daemon logs as the
    config says; a one-shot command writes to the configured log file, or, without one, shows only
    warnings on standard error, where its own output speaks to the person running it."""
    try:
        loaded = load_config(path)
    except ConfigError as exc:
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    cfg = loaded.config.log
    file = None if cfg.file is None or not log_file else loaded.base_dir / cfg.file
    level, fmt = cfg.level, cfg.format
    if not daemon and file is None:
        if logging.getLevelNamesMapping()[level.upper()] < logging.WARNING:
            level = "warning"
        if sys.stderr.isatty():
            fmt = "console"
    logs.configure(level, fmt, file, logs.secrets_of(loaded.config))
    return loaded


def open_store(loaded: LoadedConfig) -> Store:
    try:
        return Store(loaded.config.store.url, loaded.base_dir)
    except StoreError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(3) from None


def reconciler(loaded: LoadedConfig, store: Store) -> Reconciler:
    from orderbridge.notify.alerts import Alerting

    streams, alerts = loaded.config.streams(), loaded.config.alerts
    return Reconciler(
        store,
        loaded.config.reconcile,
        tuple(streams),
        streams,
        observer=Alerting(alerts) if alerts.rules else None,  # a pass run by hand announces too
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
