"""The scenarios there are, by name: `python3 tasks.py bench NAME` runs the one registered here."""

from __future__ import annotations

from bench import full_reconcile, incremental_reconcile, side_by_side, sync_memory
from bench.scenario import Scenario

SCENARIOS: dict[str, Scenario] = {
    "full_reconcile": full_reconcile.SCENARIO,
    "incremental_reconcile": incremental_reconcile.SCENARIO,
    "side_by_side": side_by_side.SCENARIO,
    "sync_memory": sync_memory.scenario(),
}
