"""The scenarios there are, by name: `python3 tasks.py bench NAME` runs the one registered here."""

from __future__ import annotations

from bench import freshness, full_reconcile, incremental_reconcile, ingest, side_by_side, sync_memory
from bench.scenario import Scenario

SCENARIOS: dict[str, Scenario] = {
    "full_reconcile": full_reconcile.SCENARIO,
    "incremental_reconcile": incremental_reconcile.SCENARIO,
    "side_by_side": side_by_side.SCENARIO,
    "sync_memory": sync_memory.scenario(),
    "ingest": ingest.SCENARIO,
    "freshness": freshness.SCENARIO,
}
