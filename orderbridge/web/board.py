"""The discrepancy board: every open discrepancy, criticals first, filtered by rule, system,
dimension, severity, age and amount, each with what every system says and what to check."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from orderbridge.config.types import parse_duration
from orderbridge.mapping.model import Dimension
from orderbridge.notify.i18n import Language, format_amount, what_to_check
from orderbridge.notify.report import amount_difference, says
from orderbridge.reconciler.rules import RULE_NAMES
from orderbridge.reconciler.types import SEVERITY_ORDER
from orderbridge.reconciler.urgency import advice, by_urgency
from orderbridge.storage.discrepancies import Discrepancy

AGES = ("1h", "1d", "3d", "7d")  # the "open at least" choices
SNOOZES = ("1h", "4h", "1d", "3d", "7d")


@dataclass(frozen=True)
class Filters:
    rule: str = ""
    system: str = ""
    dimension: str = ""
    severity: str = ""
    age: str = ""
    amount: str = ""

    @classmethod
    def read(cls, params: Mapping[str, str], systems: Sequence[str]) -> Filters:
        """The filters a query asks for; a value no choice offers is ignored rather than refused."""

        def pick(name: str, choices: Sequence[str]) -> str:
            value = params.get(name, "")
            return value if value in choices else ""

        amount = params.get("amount", "").strip()
        try:
            amount = str(Decimal(amount)) if amount and Decimal(amount) >= 0 else ""
        except InvalidOperation:
            amount = ""
        return cls(
            rule=pick("rule", RULE_NAMES),
            system=pick("system", systems),
            dimension=pick("dimension", [d.value for d in Dimension]),
            severity=pick("severity", list(SEVERITY_ORDER)),
            age=pick("age", AGES),
            amount=amount,
        )

    def query(self) -> str:
        return urlencode({k: v for k, v in vars(self).items() if v})

    def keep(self, found: Discrepancy, now: datetime) -> bool:
        if self.rule and found.rule != self.rule:
            return False
        if self.system and self.system not in found.systems:
            return False
        if self.dimension and found.dimension != self.dimension:
            return False
        if self.severity and found.severity != self.severity:
            return False
        if self.age and now - found.since < parse_duration(self.age):
            return False
        if self.amount:
            difference, _ = amount_difference(found)
            if difference is None or abs(difference) < Decimal(self.amount):
                return False
        return True


def board(
    found: Sequence[Discrepancy], filters: Filters, now: datetime, language: Language
) -> dict[str, Any]:
    """The board's template context: the rows the filters keep (most urgent first) and the counts
    by rule and by system of every open discrepancy."""
    kept = by_urgency(d for d in found if filters.keep(d, now))
    return {
        "rows": [row(d, now, language) for d in kept],
        "total": len(found),
        "by_rule": sorted(Counter(d.rule for d in found).items()),
        "by_system": sorted(Counter(s for d in found for s in d.systems).items()),
        "filters": filters,
        "query": filters.query(),
        "now": now,
    }


def row(found: Discrepancy, now: datetime, language: Language) -> dict[str, Any]:
    difference, currency = amount_difference(found)
    return {
        "d": found,
        "age": now - found.since,
        "says": says(found),
        "check": advice(found) if language is Language.en else what_to_check(language, found.rule),
        "difference": format_amount(difference, currency, language) if difference is not None else "",
    }


def snooze_length(text: str) -> timedelta | None:
    return parse_duration(text) if text in SNOOZES else None
