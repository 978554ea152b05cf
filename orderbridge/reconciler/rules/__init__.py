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
from orderbridge.storage.screen import Flag

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

# What of an order the pass's pre-screen (storage/screen.py) must have seen for each rule to have
# anything to say about it (a finding or a time to look again); an order with none of a rule's flags is
# not shown to that rule. An order with unresolved discrepancies, or with several records in one
# system, is shown to every rule; a rule not listed here sees every order.
SCREENED_BY: dict[str, frozenset[Flag]] = {
    "status_lag": frozenset({Flag.statuses_differ}),
    "status_conflict": frozenset({Flag.statuses_differ, Flag.stopped_but_moving}),
    "still_open": frozenset({Flag.statuses_differ}),
    "ahead_of_authority": frozenset({Flag.statuses_differ}),
    "missing": frozenset({Flag.expected_absent}),
    "quantity_mismatch": frozenset({Flag.quantities_differ}),
    "amount_mismatch": frozenset({Flag.amounts_differ}),
    "stuck": frozenset({Flag.in_sla_status}),
    "regression": frozenset({Flag.moved_back}),
    "unmapped_status": frozenset({Flag.unmapped}),
    "duplicate": frozenset({Flag.several_records}),
}
EVERY_RULE = frozenset({Flag.active, Flag.several_records})

# What to do about each rule's discrepancies, in one plain sentence (a test checks every rule has one).
ADVICE: dict[str, Advice] = {name: getattr(advice, name) for name in RULE_NAMES}

__all__ = ["ADVICE", "EVERY_RULE", "ORDER_RULES", "RULE_NAMES", "SCREENED_BY", "orphan"]
