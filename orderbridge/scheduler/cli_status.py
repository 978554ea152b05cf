"""`orderbridge status`: each polled system's health as the store keeps it — healthy, failing or
unhealthy, failures in a row, last success, last error and lag behind its cursor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orderbridge.connectors import registry
from orderbridge.scheduler.commandline import (
    DEFAULT_CONFIG,
    ConfigOption,
    FormatOption,
    app,
    console,
    load,
    open_store,
)
from orderbridge.scheduler.output import Below, Column, Format, emit, plural
from orderbridge.storage import health
from orderbridge.storage.health import SystemHealth


@app.command("status")
def status(config: ConfigOption = DEFAULT_CONFIG, fmt: FormatOption = Format.table) -> None:
    """Show each polled system's health: last success, last error, failures in a row and lag."""
    loaded = load(config, offline=True)
    systems = [n for n, s in loaded.config.systems.items() if s.enabled and registry.polls(s)]
    store = open_store(loaded)
    try:
        found = health.for_all(store, systems)
    finally:
        store.close()
    now = datetime.now(UTC)
    items = [{**h.as_dict(now), "unhealthy_after": loaded.config.unhealthy_after(h.system)} for h in found]
    if fmt == Format.json:
        emit(items, [], fmt)
        return
    rows = [
        {**item, "state": state(h), "lag": lag_text(h.lag(now))} for h, item in zip(found, items, strict=True)
    ]
    if fmt == Format.csv:
        emit(
            rows,
            ["system", "state", "failures", "last_success", "last_error_at", "lag_seconds", "last_error"],
            fmt,
        )
        return
    unhealthy = sum(1 for h in found if not h.healthy)
    title = plural(len(found), "polled system") + (f", {unhealthy} unhealthy" if unhealthy else "")
    emit(
        rows,
        [
            Column("system", keep=10),
            Column("state", keep=9, style=_style),
            Column("failures", keep=6),
            Column("last_success", "last success", keep=7),
            Column("lag", keep=8),
            Column("last_error_at", "last error at", keep=4),
        ],
        fmt,
        title=f"{title} (times in {loaded.config.display.timezone})",
        console=console,
        below=[Below("last_error", "last error: ", "dim")],
        zone=loaded.config.display.zone,
    )


def state(h: SystemHealth) -> str:
    """healthy; failing (failed polls in a row, below the threshold); unhealthy; or never polled."""
    if h.last_success_at is None and h.last_error_at is None:
        return "not polled yet"
    return "unhealthy" if not h.healthy else "failing" if not h.up else "healthy"


def lag_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    left = timedelta(seconds=int(max(seconds, 0)))
    days, rest = left.days, left.seconds
    hours, minutes = rest // 3600, rest % 3600 // 60
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes}m" if hours else f"{minutes}m {rest % 60}s"


def _style(text: str) -> str:
    return {"unhealthy": "bold red", "failing": "yellow", "healthy": "green"}.get(text, "")
