"""The reconciliation rules: pure callables from what the systems say about an order to findings
and the times at which to look again."""

from __future__ import annotations

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

__all__ = ["ORDER_RULES", "RULE_NAMES", "orphan"]
