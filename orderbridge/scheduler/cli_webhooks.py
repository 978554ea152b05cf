"""`orderbridge inbox` and `orderbridge replay`: the pushed events as stored, and processing them again
(after a mapping fix: replaying a processed event whose mapping did not change changes nothing)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from orderbridge.config.types import parse_duration
from orderbridge.mapping.timeparse import TimestampError, parse_timestamp
from orderbridge.scheduler.commandline import (
    DEFAULT_CONFIG,
    ConfigOption,
    FormatOption,
    app,
    console,
    err,
    load,
    open_store,
    reconciler,
)
from orderbridge.scheduler.output import Format, emit
from orderbridge.scheduler.processing import BATCH, process_pending, receivers
from orderbridge.storage import inbox

StatusOption = Annotated[
    str | None, typer.Option("--status", help=f"Only events in this state: {', '.join(inbox.STATES)}.")
]
SystemOption = Annotated[str | None, typer.Option("--system", help="Only this system's events.")]


@app.command("inbox")
def list_inbox(
    config: ConfigOption = DEFAULT_CONFIG,
    status: StatusOption = None,
    system: SystemOption = None,
    limit: Annotated[int, typer.Option(help="At most this many events (the oldest first).")] = 1000,
    fmt: FormatOption = Format.table,
) -> None:
    """List pushed events as stored: state, when received and processed, and why one failed."""
    _check_state(status)
    loaded = load(config)
    store = open_store(loaded)
    with store.engine.connect() as conn:
        found = inbox.listing(conn, state=status, system=system, limit=limit)
    rows = [_row(event, full=fmt != Format.table) for event in found]
    columns = ["id", "system", "state", "received_at", "processed_at", "dedupe_key", "error"]
    emit(rows, columns + (["headers", "body"] if fmt == Format.csv else []), fmt, title=f"{len(rows)} events")


@app.command()
def replay(
    config: ConfigOption = DEFAULT_CONFIG,
    event_id: Annotated[
        list[int] | None, typer.Option("--id", help="This event (repeat for several).")
    ] = None,
    system: SystemOption = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Events received since: 2026-11-20T08:00+08:00, or 2h ago (2h)."),
    ] = None,
    status: Annotated[
        str, typer.Option("--status", help="With --system/--since: which events (default failed).")
    ] = inbox.FAILED,
) -> None:
    """Process stored events again, after a mapping or configuration fix, and reconcile what changed."""
    if not event_id and system is None and since is None:
        err.print("error: say which events: --id ID, --system S and/or --since T", markup=False)
        raise typer.Exit(2)
    _check_state(status)
    moment = _since(since) if since is not None else None
    loaded = load(config)
    store = open_store(loaded)
    systems = loaded.config.systems
    if system is not None and system not in systems:
        err.print(f"error: no system {system!r} in {config}", markup=False)
        raise typer.Exit(2)
    with store.begin() as conn:
        chosen = inbox.listing(
            conn, ids=event_id or None, system=system, since=moment, state=None if event_id else status
        )
        handled = receivers(systems)
        unknown = sorted({e.system for e in chosen if e.system not in handled})
        chosen = [e for e in chosen if e.system in handled]
        inbox.requeue(conn, [e.id for e in chosen])
    for name in unknown:
        err.print(
            f"warning: events of {name!r} skipped: no such push-capable system in {config}", markup=False
        )
    if event_id and (missing := sorted(set(event_id) - {e.id for e in chosen})):
        err.print(f"warning: no event {', '.join(map(str, missing))} to replay", markup=False)
    processed = failed = 0
    errors: list[tuple[int, str]] = []
    while True:
        result = process_pending(store, systems, {n: r for n, r in handled.items()}, limit=BATCH)
        processed, failed, errors = (
            processed + result.processed,
            failed + result.failed,
            errors + result.errors,
        )
        if result.events < BATCH:
            break
    if processed:
        reconciler(loaded, store).run()
    console.print(f"replayed {len(chosen)} events: {processed} processed, {failed} failed", markup=False)
    for number, error in errors[:20]:
        console.print(f"  #{number}: {error}", markup=False)
    if failed:
        raise typer.Exit(1)


def _check_state(status: str | None) -> None:
    if status is not None and status not in inbox.STATES:
        err.print(f"error: --status must be one of {', '.join(inbox.STATES)}", markup=False)
        raise typer.Exit(2)


def _since(text: str) -> datetime:
    try:
        return datetime.now(UTC) - parse_duration(text.removesuffix(" ago").strip())
    except ValueError:
        pass
    try:
        moment = parse_timestamp(text, UTC)
    except TimestampError as exc:
        err.print(f"error: --since: {exc}; e.g. 2026-11-20T08:00+08:00 or 2h", markup=False)
        raise typer.Exit(2) from None
    assert moment is not None
    return moment


def _row(event: inbox.InboxEvent, *, full: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": event.id,
        "system": event.system,
        "state": event.state,
        "received_at": event.received_at.isoformat(),
        "processed_at": event.processed_at.isoformat() if event.processed_at else None,
        "dedupe_key": event.dedupe_key,
        "error": event.error,
    }
    if full:
        row["headers"] = event.headers
        row["body"] = event.body
    return row
