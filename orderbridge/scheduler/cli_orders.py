"""`orderbridge orders`: the orders the store knows, with what each system says about them side by
side — canonical status and the system's own words."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from orderbridge.scheduler.commandline import (
    DEFAULT_CONFIG,
    ConfigOption,
    ExitCode,
    FormatOption,
    app,
    console,
    fail,
    known,
    load,
    open_store,
)
from orderbridge.scheduler.output import Column, Format, emit, plural
from orderbridge.scheduler.views import order_columns, order_item, order_row, parse_since, status_names
from orderbridge.storage import orders as order_store


@app.command("orders")
def list_orders(
    config: ConfigOption = DEFAULT_CONFIG,
    system: Annotated[str | None, typer.Option(help="Only orders this system knows.")] = None,
    status: Annotated[
        list[str] | None,
        typer.Option(
            help="Only orders in this canonical status (repeat for several): preparing, or "
            "fulfillment.preparing; with --system, that system's status.",
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only orders changed since then: 2h, 1d, or 2026-11-30 14:00.")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many orders.")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """List orders with each system's status side by side (canonical, and the system's own words)."""
    loaded = load(config, offline=True)
    systems = loaded.config.systems
    if system is not None:
        known("system", system, list(systems), option="--system")
    wanted = [part.strip() for value in status or [] for part in value.split(",") if part.strip()]
    accepted = status_names()
    for name in wanted:
        if name not in accepted:
            plain = [n for n in accepted if "." not in n]
            known(
                "status", name, plain, option="--status", also="; or dimension.status: fulfillment.preparing"
            )
    zone = loaded.config.display.zone
    try:
        after = parse_since(since, zone) if since is not None else None
    except ValueError as exc:
        fail(f"--since: {exc}", ExitCode.USAGE)
    store = open_store(loaded)
    with store.engine.connect() as conn:
        found = order_store.listing(conn, system=system, statuses=wanted, since=after, limit=limit)
    if fmt == Format.json:
        emit([order_item(view) for view in found], [], fmt)
        return
    columns = order_columns(systems)
    rows = [order_row(view, columns, absent="" if fmt == Format.csv else "—") for view in found]
    if fmt == Format.csv:
        keys = ["order_key", "changed_at", "open"]
        keys += [name for key, _, _ in columns for name in (key, f"{key} native")]
        emit(
            [{k: v.isoformat() if isinstance(v, datetime) else v for k, v in r.items()} for r in rows],
            keys,
            fmt,
        )
        return
    table = [
        Column("order_key", "order", keep=10),
        Column("open", keep=4),
        Column("changed_at", "changed", keep=3),
    ]
    table += [Column(key, header, keep=6, fold=True) for key, header, _ in columns]
    title = plural(len(found), "order") + (f" known to {system}" if system else "")
    if after is not None:
        title += f", changed since {after.astimezone(zone):%Y-%m-%d %H:%M}"
    emit(
        rows,
        table,
        fmt,
        title=f"{title} (times in {loaded.config.display.timezone})",
        console=console,
        zone=zone,
    )
