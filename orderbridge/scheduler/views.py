"""What people and programs see of discrepancies and orders, shared by the command line, the demo and
the read API: the most urgent first, each with what to do, and each system's status side by side."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import RowMapping

from orderbridge.config.types import parse_duration
from orderbridge.connectors.base import SystemSettings
from orderbridge.mapping.model import UNMAPPED, Dimension, Observation, statuses_of
from orderbridge.mapping.timeparse import TimestampError, parse_timestamp
from orderbridge.reconciler.urgency import advice
from orderbridge.scheduler.output import Below, Column
from orderbridge.storage.discrepancies import Discrepancy
from orderbridge.storage.orders import OrderView

SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}

DISCREPANCY_COLUMNS = [
    Column("id", keep=10),
    Column("order_key", "order", keep=10),
    Column("rule", keep=9),
    Column("severity", keep=8, style=lambda value: SEVERITY_STYLE.get(value, "")),
    Column("since", keep=7),
    Column("systems", keep=6),
    Column("status", keep=4),
    Column("opened_at", "opened", keep=3),
    Column("dimension", keep=2),
]
EXPLAINED = [Below("summary"), Below("advice", prefix="→ ", style="dim")]


def discrepancy_item(d: Discrepancy) -> dict[str, Any]:
    """A discrepancy as JSON: its stored fields and what to do about it."""
    return {**d.as_dict(), "advice": advice(d)}


def discrepancy_row(d: Discrepancy) -> dict[str, Any]:
    """A discrepancy as a table row: times as datetimes, so the table shows them short and local."""
    return {**discrepancy_item(d), "since": d.since, "opened_at": d.opened_at, "resolved_at": d.resolved_at}


def retired_item(row: RowMapping) -> dict[str, Any]:
    """A record a complete read no longer holds, as JSON: which, from where, since when."""
    return {
        "system": row["system"],
        "record_id": row["record_id"],
        "scope": row["scope"],
        "retired_at": row["retired_at"].isoformat(),
    }


def next_steps(command: str, suffix: str = "") -> list[str]:
    """How to say that someone is on a discrepancy, or to hide it for a while; `suffix` is `-c FILE`."""
    tail = f" {suffix}" if suffix else ""
    return [
        f"Someone is on it:  {command} ack ID --by NAME{tail}",
        f"Not now:           {command} snooze ID --for 1d --by NAME{tail}",
    ]


def status_names() -> list[str]:
    """What `--status` accepts: every canonical status, alone or as dimension.status, and unmapped."""
    plain = list(dict.fromkeys(str(s) for d in Dimension for s in statuses_of(d)))
    return [*plain, UNMAPPED, *(f"{d.value}.{s}" for d in Dimension for s in (*statuses_of(d), UNMAPPED))]


def parse_since(text: str, zone: tzinfo, now: datetime | None = None) -> datetime:
    """`--since`: a duration back from now (2h, 1d) or a date/time (2026-11-30, 2026-11-30 14:00),
    read in the display time zone. Raises ValueError saying what is accepted."""
    try:
        return (now or datetime.now(UTC)) - parse_duration(text)
    except ValueError:
        pass
    try:
        moment = parse_timestamp(text, zone, date_order="YMD")
    except TimestampError:
        moment = None
    if moment is None:
        raise ValueError(f"{text!r} is neither a duration (2h, 1d) nor a date and time (2026-11-30 14:00)")
    return moment


def order_item(view: OrderView) -> dict[str, Any]:
    """An order as JSON: each system's records with their canonical and native statuses."""
    return {
        "order_key": view.order_key,
        "changed_at": view.changed_at.isoformat() if view.changed_at else None,
        "open_discrepancies": view.open_discrepancies,
        "systems": {
            system: [_record(obs) for obs in records] for system, records in sorted(view.records.items())
        },
    }


def order_columns(systems: Mapping[str, SystemSettings]) -> list[tuple[str, str, Dimension | None]]:
    """(column key, header, dimension) per system and dimension it reports: `erp`, or `erp.billing`
    when the system reports several dimensions."""
    out: list[tuple[str, str, Dimension | None]] = []
    for name, settings in systems.items():
        dimensions = list(dict.fromkeys(table.dimension for table in settings.status))
        if len(dimensions) <= 1:
            out.append((name, name, dimensions[0] if dimensions else None))
        else:
            out.extend((f"{name}.{d.value}", f"{name} {d.value}", d) for d in dimensions)
    return out


def order_row(
    view: OrderView, columns: Sequence[tuple[str, str, Dimension | None]], absent: str = ""
) -> dict[str, Any]:
    """An order as a table or CSV row: per column `status (native)`, several records joined by ` | `,
    `absent` where the system does not know the order; `<key> native` holds the native words alone."""
    row: dict[str, Any] = {
        "order_key": view.order_key,
        "changed_at": view.changed_at,
        "open": view.open_discrepancies or "",
    }
    for key, _, dimension in columns:
        system = key.split(".")[0]
        said = [_said(obs, dimension) for obs in view.records.get(system, [])]
        row[key] = " | ".join(text for text, _ in said) or absent
        row[f"{key} native"] = " | ".join(native for _, native in said)
    return row


def _said(obs: Observation, dimension: Dimension | None) -> tuple[str, str]:
    found = obs.statuses.get(dimension) if dimension is not None else None
    if found is None:
        return ("(no status)" if dimension is not None else "present"), ""
    native = found.native or ""
    if native and native.casefold() != found.status.casefold():
        return f"{found.status} ({native})", native
    return found.status, native


def _record(obs: Observation) -> dict[str, Any]:
    return {
        "record_id": obs.record_id,
        "order_ref": obs.order_ref,
        "status_at": _iso(obs.status_at),
        "statuses": {
            dimension.value: {"status": found.status, "native": found.native, "implied": found.implied}
            for dimension, found in obs.statuses.items()
        },
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
