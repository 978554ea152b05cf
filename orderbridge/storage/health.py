"""Each polled system's health, kept in the store: failures in a row, the last success and error, and
the unhealthy episode that starts when the failures reach the system's threshold and ends at the next
success. `failed`/`succeeded` say when an episode starts or ends; the caller saves the new state and the
announcement of the change in one transaction, so it is made once. `for_all` is what /readyz, /metrics,
`orderbridge status` and any page read; lag is measured from the system's saved cursor."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, select

from orderbridge.storage.db import Store
from orderbridge.storage.sql import upsert
from orderbridge.storage.tables import connector_health, cursors

Change = Literal["unhealthy", "recovered"]
LagBasis = Literal["cursor", "saved"]


@dataclass
class SystemHealth:
    system: str
    failures: int = 0
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    failing_since: datetime | None = None
    unhealthy_since: datetime | None = None
    retry_at: datetime | None = None
    # The cursor's own time (a timestamp cursor), else when the cursor was last saved.
    cursor_at: datetime | None = None
    lag_basis: LagBasis | None = None

    @property
    def healthy(self) -> bool:
        """False from the failure that reached the threshold until the next successful poll."""
        return self.unhealthy_since is None

    @property
    def up(self) -> bool:
        """Whether the last poll succeeded (False from the first failure, before the threshold)."""
        return self.failures == 0

    def lag(self, now: datetime) -> float | None:
        """Seconds from the cursor to now; None before any cursor was saved."""
        return (now - self.cursor_at).total_seconds() if self.cursor_at is not None else None

    def as_dict(self, now: datetime) -> dict[str, Any]:
        """The JSON shape /readyz, the read API and `orderbridge status --format json` share."""

        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "system": self.system,
            "healthy": self.healthy,
            "up": self.up,
            "failures": self.failures,
            "last_success": iso(self.last_success_at),
            "last_error": self.last_error,
            "last_error_at": iso(self.last_error_at),
            "failing_since": iso(self.failing_since),
            "unhealthy_since": iso(self.unhealthy_since),
            "retry_at": iso(self.retry_at),
            "cursor_at": iso(self.cursor_at),
            "lag_seconds": self.lag(now),
            "lag_basis": self.lag_basis,
        }


def load(conn: Connection, system: str) -> SystemHealth:
    row = conn.execute(select(connector_health).where(connector_health.c.system == system)).first()
    return _health(system, row, None)


def failed(
    before: SystemHealth, error: str, now: datetime, *, threshold: int, retry_at: datetime | None = None
) -> tuple[SystemHealth, Change | None]:
    """`before` after one more failed poll, and "unhealthy" when this failure is the one that reaches
    `threshold` (the episode starts), else None."""
    failures = before.failures + 1
    starts = before.healthy and failures >= threshold
    after = replace(
        before,
        failures=failures,
        last_error=error,
        last_error_at=now,
        failing_since=before.failing_since or now,
        unhealthy_since=now if starts else before.unhealthy_since,
        retry_at=retry_at,
    )
    return after, "unhealthy" if starts else None


def succeeded(before: SystemHealth, now: datetime) -> tuple[SystemHealth, Change | None]:
    """`before` after a successful poll (the last error is kept, with its time), and "recovered" when
    it ends an unhealthy episode."""
    after = replace(
        before, failures=0, last_success_at=now, failing_since=None, unhealthy_since=None, retry_at=None
    )
    return after, None if before.healthy else "recovered"


def save(conn: Connection, health: SystemHealth, now: datetime) -> None:
    row = {
        "system": health.system,
        "failures": health.failures,
        "last_success_at": health.last_success_at,
        "last_error": health.last_error,
        "last_error_at": health.last_error_at,
        "failing_since": health.failing_since,
        "unhealthy_since": health.unhealthy_since,
        "retry_at": health.retry_at,
        "updated_at": now,
    }
    upsert(conn, connector_health, [row], ["system"])


def for_all(store: Store, systems: Iterable[str]) -> list[SystemHealth]:
    """Each of `systems` (in that order) with its cursor's time; a system never polled yet has an
    empty record. Lag is measured at the reader's moment: `SystemHealth.lag(now)`."""
    with store.engine.connect() as conn:
        return listing(conn, systems)


def listing(conn: Connection, systems: Iterable[str]) -> list[SystemHealth]:
    """`for_all` on a connection of the caller's."""
    wanted = list(systems)
    rows = {
        r.system: r
        for r in conn.execute(select(connector_health).where(connector_health.c.system.in_(wanted)))
    }
    saved = {r.system: r for r in conn.execute(select(cursors).where(cursors.c.system.in_(wanted)))}
    return [_health(name, rows.get(name), saved.get(name)) for name in wanted]


def _health(system: str, row: Any, cursor: Any) -> SystemHealth:
    cursor_at, basis = _cursor_time(cursor)
    if row is None:
        return SystemHealth(system, cursor_at=cursor_at, lag_basis=basis)
    return SystemHealth(
        system,
        failures=row.failures,
        last_success_at=row.last_success_at,
        last_error=row.last_error,
        last_error_at=row.last_error_at,
        failing_since=row.failing_since,
        unhealthy_since=row.unhealthy_since,
        retry_at=row.retry_at,
        cursor_at=cursor_at,
        lag_basis=basis,
    )


def _cursor_time(cursor: Any) -> tuple[datetime | None, LagBasis | None]:
    """A timestamp cursor's value when it carries its offset; otherwise (row versions, keysets, file
    lists, zone-less text) the moment the cursor was last saved."""
    if cursor is None:
        return None, None
    value = cursor.value.get("value") if isinstance(cursor.value, dict) else None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment, "cursor"
    return cursor.updated_at, "saved"
