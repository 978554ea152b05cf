"""The scenarios there are, by name: `python3 tasks.py bench NAME` runs the one registered here."""

from __future__ import annotations

from bench import freshness, full_reconcile, ingest, sync_memory
from bench.scenario import Scenario

SCENARIOS: dict[str, Scenario] = {
    "full_reconcile": full_reconcile.SCENARIO,
    "sync_memory": sync_memory.scenario(),
    "ingest": ingest.SCENARIO,
    "freshness": freshness.SCENARIO,
}
