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

from orderbridge.config.loader import LoadedConfig
from orderbridge.config.types import parse_duration
from orderbridge.connectors import registry
from orderbridge.connectors.base import Batch, ConnectorContext, RetryNotice, SourceError
from orderbridge.reconciler.engine import PassResult
from orderbridge.reconciler.lifecycle import LifecycleError, acknowledge, snooze
from orderbridge.reconciler.rules import RULE_NAMES
from orderbridge.reconciler.urgency import by_urgency
from orderbridge.scheduler.commandline import (
    DEFAULT_CONFIG,
    ConfigOption,
    ExitCode,
    FormatOption,
    app,
    console,
    err,
    fail,
    known,
    load,
    open_store,
    progress_bar,
    reconciler,
)
from orderbridge.scheduler.output import Below, Column, Format, emit, plural, short
from orderbridge.scheduler.sync import SyncError, sync_system
from orderbridge.scheduler.views import (
    DISCREPANCY_COLUMNS,
    EXPLAINED,
    discrepancy_item,
    discrepancy_row,
    next_steps,
    retired_item,
)
from orderbridge.storage import discrepancies, observations, orders, quarantine
from orderbridge.storage.db import StoreError, safe_url


@app.command()
def run(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Run the daemon: scheduled polls and reconcile passes, and the HTTP endpoint."""
    from orderbridge.scheduler.daemon import Daemon
    from orderbridge.scheduler.heap import prepare_collector

    loaded = load(config, daemon=True)
    try:
        daemon = Daemon(loaded)
        prepare_collector()
        daemon.run()
    except StoreError as exc:
        fail(str(exc), ExitCode.STORE, event="store unavailable")


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
    """Run one incremental poll of SYSTEM now, with progress.

    Exit 0 when it read everything it found; 1 when the source failed (unreachable, refused, no file
    matching the path); 4 when some of it could not be read at all (a whole file)."""
    loaded = load(config)
    known("system", system, list(loaded.config.systems))
    settings = loaded.config.systems[system]
    if not settings.enabled:
        fail(f"{system} is switched off (enabled: false in {config})", ExitCode.USAGE)
    if not registry.polls(settings):
        fail(f"{system} is not polled ({settings.type}: it pushes to /webhooks/{system})", ExitCode.USAGE)
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
        except (SourceError, SyncError) as exc:
            fail(str(exc), ExitCode.FAILED, event="sync failed", system=system)
        except KeyboardInterrupt:
            stop.set()
            raise
        finally:
            store.close()
    console.print(
        f"{system}: {plural(result.records, 'record')} in {plural(result.batches, 'batch', 'batches')} — "
        f"{result.new} new, {result.changed} changed, {result.unchanged} unchanged, "
        f"{result.quarantined} quarantined",
        markup=False,
        highlight=False,
    )
    for scope, count in result.retired_from.items():
        console.print(
            f"{scope}: {plural(count, 'record')} no longer there — marked gone (kept in the history); "
            "what they alone caused resolves at the next reconcile",
            markup=False,
            highlight=False,
        )
    if result.quarantined:
        console.print(f"see them with: orderbridge quarantine -c {config} --system {system}", markup=False)
    for warning in result.warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    if result.unread:
        for what in result.unread:
            err.print(f"not read: {what}", markup=False, highlight=False, soft_wrap=True)
        fail(
            f"{system}: {plural(len(result.unread), 'file')} gave nothing usable; fix and sync again",
            ExitCode.INCOMPLETE,
            event="sync incomplete",
            system=system,
            unread=result.unread,
        )


@app.command()
def reconcile(
    config: ConfigOption = DEFAULT_CONFIG,
    full: Annotated[bool, typer.Option("--full", help="Evaluate every order, not only due ones.")] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Run one reconcile pass now and print what opened, changed and resolved."""
    loaded = load(config, offline=True)
    store = open_store(loaded)
    with progress_bar() as progress:
        task = progress.add_task("reconcile", total=None)
        result = reconciler(loaded, store).run(
            full=full, progress=lambda done, total: progress.update(task, completed=done, total=total)
        )
    print_pass(result, fmt, loaded)


def retry_line(notice: RetryNotice) -> str:
    """What a long retry shows in the progress line: which attempt comes, of how many, and why."""
    reason = notice.reason if len(notice.reason) <= 60 else notice.reason[:59] + "…"
    return f"attempt {notice.attempt}/{notice.attempts} in {notice.wait:.0f} s ({reason})"


CHANGE_COLUMNS = ["change", "id", "order_key", "rule", "severity", "summary"]


def print_pass(result: PassResult, fmt: Format, loaded: LoadedConfig) -> None:
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
        emit(rows, CHANGE_COLUMNS, fmt)
        return
    counts = {k: len(result.of(k)) for k in ("opened", "reopened", "updated", "escalated", "resolved")}
    console.print(
        f"evaluated {plural(result.evaluated, 'order')}: " + ", ".join(f"{v} {k}" for k, v in counts.items()),
        markup=False,
        highlight=False,
    )
    if rows:
        columns = [Column("change", keep=9), Column("id", keep=8), Column("order_key", "order", keep=8)]
        columns += [Column("rule", keep=7), Column("severity", keep=6)]
        emit(rows, columns, fmt, console=console, below=[Below("summary")], zone=loaded.config.display.zone)


@app.command("discrepancies")
def list_discrepancies(
    config: ConfigOption = DEFAULT_CONFIG,
    status: Annotated[str, typer.Option(help="open (incl. acknowledged/snoozed), resolved or all.")] = "open",
    rule: Annotated[str | None, typer.Option(help="Only this rule.")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """List discrepancies, the most urgent first (critical, then the oldest), each with what to do."""
    known("status", status, ["open", "resolved", "all"], option="--status")
    if rule is not None:
        known("rule", rule, RULE_NAMES, option="--rule")
    loaded = load(config, offline=True)
    store = open_store(loaded)
    with store.engine.connect() as conn:
        found = by_urgency(discrepancies.listing(conn, status=status, rule=rule))
    if fmt == Format.json:
        emit([discrepancy_item(d) for d in found], [], fmt)
        return
    if fmt == Format.csv:
        columns = [c.key for c in DISCREPANCY_COLUMNS] + ["summary", "advice", "resolved_at", "details"]
        emit([discrepancy_item(d) for d in found], columns, fmt)
        return
    zone = loaded.config.display
    emit(
        [discrepancy_row(d) for d in found],
        DISCREPANCY_COLUMNS,
        fmt,
        title=f"{plural(len(found), f'{status} discrepancy', f'{status} discrepancies')} "
        f"(times in {zone.timezone})",
        console=console,
        below=EXPLAINED,
        zone=zone.zone,
    )
    if found and status != "resolved":
        for line in next_steps("orderbridge", f"-c {config}"):
            console.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command()
def order(
    key: Annotated[
        str,
        typer.Argument(
            help="The order: its key (SO-000042), or any system's record id or document number "
            "(SO-2026-0042, 42, a tracking number)."
        ),
    ],
    config: ConfigOption = DEFAULT_CONFIG,
    fmt: FormatOption = Format.table,
) -> None:
    """Show an order's timeline: every status every system reported, in time order."""
    from orderbridge.scheduler.http import timeline_item

    loaded = load(config, offline=True)
    store = open_store(loaded)
    rules = {name: s.order_id for name, s in loaded.config.systems.items()}
    with store.engine.connect() as conn:
        matches = orders.find(conn, key, rules)
        if not matches:
            close = orders.nearest(conn, key, rules)
            hint = f"; closest known: {', '.join(close)}" if close else ""
            fail(f"no order {key!r} is known{hint}", ExitCode.FAILED)
        if len(matches) > 1:
            listed = ", ".join(f"{m.order_key} ({m.how})" for m in matches)
            fail(f"{key!r} names several orders: {listed}; give one of their keys", ExitCode.FAILED)
        order_key = matches[0].order_key
        entries = [timeline_item(e) for e in observations.timeline(conn, order_key)]
        gone = [retired_item(row) for row in observations.retired(conn, order_key)]
        found = by_urgency(discrepancies.listing(conn, status="all", order_key=order_key))
    if order_key != key:
        err.print(f"{key} is order {order_key} ({matches[0].how})", markup=False, highlight=False)
    if fmt == Format.json:
        body = {
            "order_key": order_key,
            "timeline": entries,
            "retired": gone,
            "discrepancies": [discrepancy_item(d) for d in found],
        }
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    columns = [
        Column("at", keep=9),
        Column("system", keep=8),
        Column("dimension", keep=3),
        Column("status", keep=7),
        Column("native", keep=6),
        Column("record_id", "record", keep=2),
    ]
    shown = entries + [
        {
            "at": g["retired_at"],
            "system": g["system"],
            "status": "gone",
            "native": f"no longer in {g['scope']}",
            "record_id": g["record_id"],
        }
        for g in gone
    ]
    shown.sort(key=lambda e: str(e["at"]))
    zone = loaded.config.display
    title = f"order {order_key} (times in {zone.timezone})" if fmt == Format.table else None
    emit(shown, columns, fmt, title=title, console=console, zone=zone.zone)
    if fmt == Format.table and found:
        console.print()
        emit(
            [discrepancy_row(d) for d in found],
            [c for c in DISCREPANCY_COLUMNS if c.key != "order_key"],
            fmt,
            title="discrepancies",
            console=console,
            below=EXPLAINED,
            zone=zone.zone,
        )


@app.command()
def ack(
    discrepancy_id: Annotated[int, typer.Argument(help="Discrepancy id.")],
    by: Annotated[str, typer.Option(help="Who acknowledges it.")],
    note: Annotated[str | None, typer.Option(help="Why.")] = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Acknowledge a discrepancy: someone is on it; it no longer escalates."""
    loaded = load(config, offline=True)
    store = open_store(loaded)
    try:
        with store.begin() as conn:
            acknowledge(conn, discrepancy_id, by, note, datetime.now(UTC))
    except LifecycleError as exc:
        fail(str(exc))
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
        fail(f"--for: {exc}", ExitCode.USAGE)
    loaded = load(config, offline=True)
    store = open_store(loaded)
    now = datetime.now(UTC)
    try:
        with store.begin() as conn:
            snooze(conn, discrepancy_id, now + length, by, note, now)
    except (LifecycleError, ValueError) as exc:
        fail(str(exc))
    until = short(now + length, loaded.config.display.zone)
    console.print(f"#{discrepancy_id} snoozed until {until} ({loaded.config.display.timezone})", markup=False)


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
    loaded = load(config, offline=True)
    if system is not None:
        known("system", system, list(loaded.config.systems), option="--system")
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
    if fmt != Format.table:
        columns = ["id", "system", "location", "reason", "times_seen", "last_seen_at", "resolved_at", "raw"]
        emit(rows, columns, fmt)
        return
    table = [Column("id", keep=9), Column("system", keep=7), Column("location", keep=8)]
    table += [Column("times_seen", "seen", keep=3), Column("last_seen_at", "last seen", keep=5)]
    if everything:
        table.append(Column("resolved_at", "settled", keep=6))
    zone = loaded.config.display
    emit(
        rows,
        table,
        fmt,
        title=plural(len(rows), "quarantined record")
        + ("" if everything else " still open")
        + f" (times in {zone.timezone})",
        console=console,
        below=[Below("reason")],
        zone=zone.zone,
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
    cli_orders,
    cli_probe,
    cli_status,
    cli_web,
    cli_webhooks,
)


def main() -> None:
    app()
