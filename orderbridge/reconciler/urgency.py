"""What to look at first and what to do about it, for every place that lists discrepancies (command
line, read API, web pages): the most urgent first, each with its rule's advice."""

from __future__ import annotations

from collections.abc import Iterable

from orderbridge.reconciler.rules import ADVICE
from orderbridge.reconciler.types import SEVERITY_ORDER
from orderbridge.storage.discrepancies import Discrepancy


def by_urgency(found: Iterable[Discrepancy]) -> list[Discrepancy]:
    """Critical first, then warnings, then the rest; the oldest problem first within each."""
    return sorted(found, key=lambda d: (-SEVERITY_ORDER.get(d.severity, 0), d.since, d.id))


def advice(d: Discrepancy) -> str:
    found = ADVICE.get(d.rule)
    return found(d.order_key, d.systems, d.details) if found is not None else ""
