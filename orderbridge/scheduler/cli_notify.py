"""Commands of notifications: render or send a report now, see the outbox, the numbers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from orderbridge.config.loader import LoadedConfig
from orderbridge.config.types import parse_duration
from orderbridge.notify.report import gather, message, previous_report, render
from orderbridge.notify.service import Notifier
from orderbridge.reconciler import stats as stats_module
from orderbridge.scheduler.commandline import (
    DEFAULT_CONFIG,
    ConfigOption,
    FormatOption,
    app,
    console,
    err,
    load,
    open_store,
)
from orderbridge.scheduler.output import Format, emit
from orderbridge.storage import outbox
from orderbridge.storage.db import Store


def notifier(loaded: LoadedConfig, store: Store) -> Notifier:
    cfg = loaded.config
    return Notifier(store, cfg.smtp, cfg.reports, cfg.alerts, cfg.reconcile)


@app.command("report")
def report_cmd(
    name: Annotated[str, typer.Argument(help="Report name from the config's reports: section.")],
    config: ConfigOption = DEFAULT_CONFIG,
    send: Annotated[bool, typer.Option("--send", help="Queue it in the outbox and send it now.")] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the .eml, the .html, the chart and the attachments here."),
    ] = None,
) -> None:
    """Render report NAME now: print its text, write its files (--out), or send it (--send)."""
    if send and out is not None:
        err.print("error: give --send or --out, not both", markup=False)
        raise typer.Exit(2)
    loaded = load(config)
    settings = loaded.config.reports.get(name)
    if settings is None:
        known = ", ".join(loaded.config.reports) or "none are configured"
        err.print(f"error: no report {name!r} in {config}; reports: {known}", markup=False)
        raise typer.Exit(2)
    store = open_store(loaded)
    try:
        _report(loaded, store, name, send, out, config)
    finally:
        store.close()


def _report(
    loaded: LoadedConfig, store: Store, name: str, send: bool, out: Path | None, config: Path
) -> None:
    settings = loaded.config.reports[name]
    now = datetime.now(UTC)
    if send:
        notify = notifier(loaded, store)
        item_id = notify.queue_report(name, now, slot=f"manual:{now.isoformat()}")
        if item_id is None:
            console.print(f"{name}: nothing to report (skip_empty)", markup=False)
            return
        result = notify.send(now, only=item_id)
        if item_id in result.failed:
            err.print(
                f"error: report {name} (outbox #{item_id}) not sent: {result.failed[item_id]}\n"
                f"it stays in the outbox; the daemon retries it (orderbridge outbox -c {config})",
                markup=False,
            )
            raise typer.Exit(1)
        console.print(f"report {name} sent to {', '.join(settings.to)} (outbox #{item_id})", markup=False)
        return
    with store.engine.connect() as conn:
        data = gather(conn, name, settings, loaded.config.reconcile, now, previous_report(conn, name))
    rendered = render(data)
    if out is None:
        typer.echo(rendered.text)
        return
    out.mkdir(parents=True, exist_ok=True)
    mail = message(rendered, settings, loaded.config.smtp, f"report:{name}:preview:{now.isoformat()}", now)
    written = write_report_files(out, rendered, mail.as_bytes())
    for path in written:
        console.print(str(path), markup=False, highlight=False)


def write_report_files(directory: Path, rendered: object, eml: bytes) -> list[Path]:
    """The report as files: .eml (the whole message), .html (opens in a browser), chart, attachments."""
    from orderbridge.notify.report import CHART_CID, Rendered

    assert isinstance(rendered, Rendered)
    stem = directory / rendered.file_stem
    chart = stem.with_name(f"{rendered.file_stem}-chart.png")
    chart.write_bytes(rendered.chart)
    paths = [stem.with_suffix(".eml"), stem.with_suffix(".html"), chart]
    paths[0].write_bytes(eml)
    paths[1].write_text(rendered.html.replace(f"cid:{CHART_CID}", chart.name), encoding="utf-8")
    if rendered.xlsx is not None:
        paths.append(stem.with_suffix(".xlsx"))
        paths[-1].write_bytes(rendered.xlsx)
    if rendered.csv is not None:
        paths.append(stem.with_suffix(".csv"))
        paths[-1].write_bytes(rendered.csv)
    return paths


@app.command("outbox")
def outbox_cmd(
    config: ConfigOption = DEFAULT_CONFIG,
    state: Annotated[
        str, typer.Option(help="pending (incl. failing), failing, sent, failed, packed or all.")
    ] = "all",
    deliver: Annotated[bool, typer.Option("--deliver", help="Deliver what is due now, first.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 200,
    fmt: FormatOption = Format.table,
) -> None:
    """What is waiting to be sent, what was sent, and what keeps failing and why."""
    states = ("pending", "failing", "sent", "failed", "packed", "all")
    if state not in states:
        err.print(f"error: --state must be one of {', '.join(states)}", markup=False)
        raise typer.Exit(2)
    loaded = load(config, offline=not deliver)  # delivering needs the channels' secrets
    store = open_store(loaded)
    try:
        if deliver:
            result = notifier(loaded, store).send()
            err.print(f"delivered {len(result.sent)}, failed {len(result.failed)}", markup=False)
        with store.engine.connect() as conn:
            rows = [item.as_dict() for item in outbox.listing(conn, state, limit)]
    finally:
        store.close()
    columns = ["id", "kind", "channel", "state", "attempts", "subject", "created_at", "sent_at", "last_error"]
    emit(
        rows,
        list(rows[0]) if rows and fmt != Format.table else columns,
        fmt,
        title=f"{len(rows)} in the outbox",
    )


@app.command("stats")
def stats_cmd(
    config: ConfigOption = DEFAULT_CONFIG,
    since: Annotated[
        str | None,
        typer.Option(
            help="Only stays in a stage that began since: a date/time (2026-11-01) or a span (30d)."
        ),
    ] = None,
    days: Annotated[int, typer.Option(help="Days of open-discrepancy history.")] = 30,
    fmt: FormatOption = Format.table,
) -> None:
    """Time in each stage, share within SLA, open discrepancies by rule and system, where orders wait."""
    now = datetime.now(UTC)
    start = None
    if since is not None:
        try:
            start = _moment(since, now)
        except ValueError as exc:
            err.print(f"error: --since: {exc}", markup=False)
            raise typer.Exit(2) from None
    loaded = load(config, offline=True)
    store = open_store(loaded)
    try:
        with store.engine.connect() as conn:
            found = stats_module.compute(conn, loaded.config.reconcile, now, since=start, days=days)
    finally:
        store.close()
    if fmt == Format.json:
        typer.echo(json.dumps(found.as_dict(), ensure_ascii=False, indent=2))
        return
    stages = [{k: v for k, v in vars(s).items()} for s in found.stages]
    emit(
        stages,
        [
            "dimension",
            "stage",
            "orders",
            "average_hours",
            "p90_hours",
            "sla_hours",
            "within_sla",
            "waiting_now",
        ],
        fmt,
        title="time in each stage (hours)",
    )
    if fmt == Format.table:
        if found.longest_wait:
            console.print(
                f"orders wait longest in {found.longest_wait['stage']} "
                f"({found.longest_wait['average_hours']} h on average)",
                markup=False,
            )
        opened = ", ".join(f"{rule} {count}" for rule, count in found.open_by_rule.items()) or "none"
        console.print(f"open now by rule: {opened}", markup=False)
        by_system = ", ".join(f"{system} {count}" for system, count in found.open_by_system.items()) or "none"
        console.print(f"open now by system: {by_system}", markup=False)


def _moment(text: str, now: datetime) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            return now - parse_duration(text)
        except ValueError:
            raise ValueError(f"{text!r} is neither a date/time (2026-11-01T08:00) nor a span (7d)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
