"""The `orderbridge` command: the daemon and the tools people use around it. Shared options and
helpers are in `commandline`. An area with commands of its own keeps them in a module of its own
(`cli_<area>.py`, decorating `commandline.app`), imported at the end of this file so they register."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from orderbridge.config.types import parse_duration
from orderbridge.connectors import registry
from orderbridge.connectors.base import Batch, ConnectorContext, RetryNotice, SourceError
from orderbridge.reconciler.engine import PassResult
from orderbridge.reconciler.lifecycle import LifecycleError, acknowledge, snooze
from orderbridge.scheduler.commandline import (
    DEFAULT_CONFIG,
    ConfigOption,
    FormatOption,
    app,
    console,
    err,
    load,
    open_store,
    progress_bar,
    reconciler,
)
from orderbridge.scheduler.output import Format, emit
from orderbridge.scheduler.sync import sync_system
from orderbridge.storage import discrepancies, observations, quarantine
from orderbridge.storage.db import StoreError, safe_url


@app.command()
def run(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Run the daemon: scheduled polls and reconcile passes, and the HTTP endpoint."""
    from orderbridge.scheduler.daemon import Daemon

    loaded = load(config, daemon=True)
    try:
        Daemon(loaded).run()
    except StoreError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(3) from None


@app.command("check-config")
def check_config(
    config: ConfigOption = DEFAULT_CONFIG,
    probe: Annotated[
        bool, typer.Option("--probe", help="Also read one page of every system (exit 1 if one needs fixing).")
    ] = False,
) -> None:
    """Validate a configuration file; exit 0 when valid, 2 with every problem listed."""
    loaded = load(config, log_file=False)  # checking a file creates nothing
    systems = loaded.config.systems
    console.print(
        f"{config}: valid — {len(systems)} systems ({', '.join(systems) or 'none'}), "
        f"store {safe_url(loaded.config.store.url)}",
        markup=False,
        highlight=False,
    )
    for name, settings in systems.items():
        for warning in settings.warnings():
            err.print(f"warning: systems.{name}.{warning}", markup=False, highlight=False)
    if probe:
        from orderbridge.scheduler.cli_probe import probe_every

        raise typer.Exit(probe_every(loaded))


@app.command()
def schema() -> None:
    """Print the JSON Schema of the configuration file (for editors)."""
    from orderbridge.config.loader import config_json_schema

    typer.echo(json.dumps(config_json_schema(), indent=2, ensure_ascii=False))


@app.command()
def sync(
    system: Annotated[str, typer.Argument(help="System name from the config.")],
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Run one incremental poll of SYSTEM now, with progress."""
    loaded = load(config)
    settings = loaded.config.systems.get(system)
    if settings is None:
        err.print(
            f"error: no system {system!r} in {config}; systems: {', '.join(loaded.config.systems)}",
            markup=False,
        )
        raise typer.Exit(2)
    if not registry.polls(settings):
        err.print(
            f"error: {system} is not polled ({settings.type}: it pushes to /webhooks/{system})", markup=False
        )
        raise typer.Exit(2)
    store = open_store(loaded)
    stop = threading.Event()
    with progress_bar() as progress:
        task = progress.add_task(f"sync {system}", total=None)

        label = ""

        def advance(batch: Batch) -> None:
            nonlocal label
            label = f": {batch.label}"
            progress.update(
                task, description=f"sync {system}{label}", completed=batch.done, total=batch.total
            )

        def retrying(notice: RetryNotice) -> None:
            line = f"sync {system}{label} — {retry_line(notice)}"
            progress.update(task, description=line, refresh=True)

        context = ConnectorContext(base_dir=loaded.base_dir, on_retry=retrying)
        try:
            result = sync_system(store, system, settings, context, stop, advance)
        except SourceError as exc:
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            stop.set()
            raise
    console.print(
        f"{system}: {result.records} records in {result.batches} batches — {result.new} new, "
        f"{result.changed} changed, {result.unchanged} unchanged, {result.quarantined} quarantined",
        markup=False,
    )
    if result.quarantined:
        console.print(f"see them with: orderbridge quarantine -c {config} --system {system}", markup=False)
    for warning in result.warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)


@app.command()
def reconcile(
    config: ConfigOption = DEFAULT_CONFIG,
    full: Annotated[bool, typer.Option("--full", help="Evaluate every order, not only due ones.")] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Run one reconcile pass now and print what opened, changed and resolved."""
    loaded = load(config)
    store = open_store(loaded)
    with progress_bar() as progress:
        task = progress.add_task("reconcile", total=None)
        result = reconciler(loaded, store).run(
            full=full, progress=lambda done, total: progress.update(task, completed=done, total=total)
        )
    print_pass(result, fmt)


def retry_line(notice: RetryNotice) -> str:
    """What a long retry shows in the progress line: which attempt comes, of how many, and why."""
    reason = notice.reason if len(notice.reason) <= 60 else notice.reason[:59] + "…"
    return f"attempt {notice.attempt}/{notice.attempts} in {notice.wait:.0f} s ({reason})"


def print_pass(result: PassResult, fmt: Format) -> None:
    rows = [
        {
            "change": c.kind,
            "id": c.id,
            "order_key": c.order_key,
            "rule": c.rule,
            "severity": c.severity,
            "summary": c.summary,
        }
        for c in result.changes
    ]
    if fmt != Format.table:
        emit(rows, ["change", "id", "order_key", "rule", "severity", "summary"], fmt)
        return
    counts = {k: len(result.of(k)) for k in ("opened", "reopened", "updated", "escalated", "resolved")}
    console.print(
        f"evaluated {result.evaluated} orders: " + ", ".join(f"{v} {k}" for k, v in counts.items()),
        markup=False,
    )
    if rows:
        emit(rows, ["change", "id", "order_key", "rule", "severity", "summary"], fmt, console=console)


@app.command("discrepancies")
def list_discrepancies(
    config: ConfigOption = DEFAULT_CONFIG,
    status: Annotated[str, typer.Option(help="open (incl. acknowledged/snoozed), resolved or all.")] = "open",
    rule: Annotated[str | None, typer.Option(help="Only this rule.")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """List discrepancies."""
    if status not in ("open", "resolved", "all"):
        err.print("error: --status must be open, resolved or all", markup=False)
        raise typer.Exit(2)
    loaded = load(config)
    store = open_store(loaded)
    with store.engine.connect() as conn:
        found = discrepancies.listing(conn, status=status, rule=rule)
    rows = [d.as_dict() for d in found]
    columns = [
        "id",
        "order_key",
        "rule",
        "dimension",
        "systems",
        "severity",
        "status",
        "opened_at",
        "summary",
    ]
    if fmt == Format.csv:
        columns = [*columns, "resolved_at", "details"]
    emit(
        rows,
        columns if fmt != Format.json else list(rows[0]) if rows else [],
        fmt,
        title=f"{len(rows)} {status} discrepancies",
    )


@app.command()
def order(
    key: Annotated[str, typer.Argument(help="Canonical order key, e.g. SO-000042.")],
    config: ConfigOption = DEFAULT_CONFIG,
    fmt: FormatOption = Format.table,
) -> None:
    """Show an order's timeline: every status every system reported, in time order."""
    from orderbridge.scheduler.http import timeline_item

    loaded = load(config)
    store = open_store(loaded)
    with store.engine.connect() as conn:
        entries = [timeline_item(e) for e in observations.timeline(conn, key)]
        found = discrepancies.listing(conn, status="all", order_key=key)
    if not entries and not found:
        err.print(f"no order {key!r} is known", markup=False)
        raise typer.Exit(1)
    if fmt == Format.json:
        typer.echo(
            json.dumps(
                {"order_key": key, "timeline": entries, "discrepancies": [d.as_dict() for d in found]},
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    emit(entries, ["at", "system", "dimension", "status", "native", "record_id"], fmt, title=f"order {key}")
    if fmt == Format.table and found:
        emit(
            [d.as_dict() for d in found],
            ["id", "rule", "status", "severity", "summary"],
            fmt,
            title="discrepancies",
        )


@app.command()
def ack(
    discrepancy_id: Annotated[int, typer.Argument(help="Discrepancy id.")],
    by: Annotated[str, typer.Option(help="Who acknowledges it.")],
    note: Annotated[str | None, typer.Option(help="Why.")] = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Acknowledge a discrepancy: someone is on it; it no longer escalates."""
    loaded = load(config)
    store = open_store(loaded)
    try:
        with store.begin() as conn:
            acknowledge(conn, discrepancy_id, by, note, datetime.now(UTC))
    except LifecycleError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None
    console.print(f"#{discrepancy_id} acknowledged by {by}", markup=False)


@app.command("snooze")
def snooze_cmd(
    discrepancy_id: Annotated[int, typer.Argument(help="Discrepancy id.")],
    for_: Annotated[str, typer.Option("--for", help="How long, e.g. 4h or 2d.")],
    by: Annotated[str, typer.Option(help="Who snoozes it.")],
    note: Annotated[str | None, typer.Option(help="Why.")] = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Snooze a discrepancy for a while; it comes back if the problem is still there."""
    try:
        length = parse_duration(for_)
    except ValueError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    loaded = load(config)
    store = open_store(loaded)
    now = datetime.now(UTC)
    try:
        with store.begin() as conn:
            snooze(conn, discrepancy_id, now + length, by, note, now)
    except (LifecycleError, ValueError) as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None
    console.print(
        f"#{discrepancy_id} snoozed until {(now + length).isoformat(timespec='minutes')}", markup=False
    )


@app.command("quarantine")
def list_quarantine(
    config: ConfigOption = DEFAULT_CONFIG,
    system: Annotated[str | None, typer.Option(help="Only this system.")] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Include records settled since (read successfully later).")
    ] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """List records that could not be read: where they came from and why."""
    loaded = load(config)
    store = open_store(loaded)
    with store.engine.connect() as conn:
        found = quarantine.listing(conn, system, include_resolved=everything)
    rows = [
        {
            "id": q.id,
            "system": q.system,
            "location": q.location,
            "reason": q.reason,
            "times_seen": q.times_seen,
            "last_seen_at": q.last_seen_at.isoformat(),
            "resolved_at": q.resolved_at.isoformat() if q.resolved_at else None,
            "raw": q.raw,
        }
        for q in found
    ]
    columns = ["id", "system", "location", "reason", "times_seen", "last_seen_at"]
    if everything or fmt != Format.table:
        columns.append("resolved_at")
    emit(
        rows,
        columns + (["raw"] if fmt != Format.table else []),
        fmt,
        title=f"{len(rows)} quarantined records" + ("" if everything else " still open"),
    )


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where the demo writes its files.")] = Path(
        "demo-output"
    ),
    serve: Annotated[bool, typer.Option("--serve", help="Keep the daemon running afterwards.")] = False,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="Run on this store instead of a new SQLite file, e.g. an empty PostgreSQL database: "
            "postgresql+psycopg://user@host/db",
        ),
    ] = None,
) -> None:
    """Run the whole pipeline against simulated ERP, WMS, purchasing sheet and finance CSV."""
    from orderbridge.scheduler.demo import run_demo

    raise typer.Exit(run_demo(directory, serve=serve, console=console, store_url=store))


# Command modules of their own areas register here, after the core commands (the order of `--help`).
from orderbridge.scheduler import (  # noqa: E402, F401 - register their commands
    cli_notify,
    cli_probe,
    cli_webhooks,
)


def main() -> None:
    app()
