"""The reconciliation rules: pure callables from what the systems say about an order to findings
and the times at which to look again."""

from __future__ import annotations

from orderbridge.reconciler import advice
from orderbridge.reconciler.advice import Advice
from orderbridge.reconciler.rules.amounts import amount_mismatch, quantity_mismatch
from orderbridge.reconciler.rules.deadlines import missing, stuck
from orderbridge.reconciler.rules.records import ORPHAN, duplicate, orphan, unmapped_status
from orderbridge.reconciler.rules.status import (
    ahead_of_authority,
    regression,
    status_conflict,
    status_lag,
    still_open,
)
from orderbridge.reconciler.types import Rule

ORDER_RULES: dict[str, Rule] = {
    "status_lag": status_lag,
    "status_conflict": status_conflict,
    "still_open": still_open,
    "ahead_of_authority": ahead_of_authority,
    "missing": missing,
    "quantity_mismatch": quantity_mismatch,
    "amount_mismatch": amount_mismatch,
    "stuck": stuck,
    "regression": regression,
    "unmapped_status": unmapped_status,
    "duplicate": duplicate,
}
RULE_NAMES: tuple[str, ...] = (*ORDER_RULES, ORPHAN)

# What to do about each rule's discrepancies, in one plain sentence (a test checks every rule has one).
ADVICE: dict[str, Advice] = {name: getattr(advice, name) for name in RULE_NAMES}

__all__ = ["ADVICE", "ORDER_RULES", "RULE_NAMES", "orphan"]
