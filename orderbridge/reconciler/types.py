"""What rules see (an order's snapshot) and what they say (findings, and when to look again)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, Literal

from orderbridge.mapping.model import Dimension, HistoryEntry, Observation
from orderbridge.reconciler.settings import ReconcileSettings

Severity = Literal["info", "warning", "critical"]
SEVERITY_ORDER: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}


@dataclass
class OrderSnapshot:
    order_key: str
    observations: list[Observation]  # latest per (system, record)
    history: list[HistoryEntry] = field(default_factory=list)  # oldest first

    def by_system(self, dimension: Dimension | None = None) -> dict[str, Observation]:
        """One observation per system (reporting on `dimension` when given). When a system has several
        records (a duplicate), the one that changed last: latest status time, then latest seen, then the
        highest record id, so the choice never depends on the order records were loaded in. The
        duplicate and unmapped rules read `observations`, which keeps every record."""
        chosen: dict[str, Observation] = {}
        for obs in sorted(self.observations, key=lambda o: (o.effective_at, o.observed_at, o.record_id)):
            if dimension is None or dimension in obs.statuses:
                chosen[obs.system] = obs
        return chosen

    def entered_at(self, system: str, record_id: str, dimension: Dimension, status: str) -> datetime | None:
        """When one record of `system` entered its current run of `status` on `dimension`, from history.
        Per record: another record of the same system (a duplicate) does not interrupt the run."""
        start = None
        for entry in self.history:
            if entry.system != system or entry.record_id != record_id or entry.dimension != dimension:
                continue
            start = (start or entry.at) if entry.status == status else None
        return start


@dataclass
class RuleContext:
    now: datetime
    settings: ReconcileSettings
    systems: tuple[str, ...]  # every configured system name
    zone: tzinfo = UTC  # of the times summaries show


@dataclass(frozen=True)
class Finding:
    """A problem a rule sees now. `since` is when it began: grace and age count from there."""

    rule: str
    dimension: Dimension | None
    systems: tuple[str, ...]
    severity: Severity
    since: datetime
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    tier: int = 0
    grace_exempt: bool = False  # the rule applied its own time limits (stuck)


@dataclass(frozen=True)
class Wake:
    """Evaluate the order again at `at` (a grace or SLA deadline) even if nothing changes."""

    at: datetime


Outcome = Finding | Wake
__all__ = ["Finding", "HistoryEntry", "OrderSnapshot", "OrphanRule", "Outcome", "Rule", "RuleContext", "Wake"]
Rule = Callable[[OrderSnapshot, RuleContext], Iterable[Outcome]]
OrphanRule = Callable[[list[Observation], RuleContext], Iterable[Outcome]]
