"""A tiny run of the incremental_reconcile scenario, so that it keeps working between runs on demand."""

from __future__ import annotations

import json

import pytest
from bench_smoke import FIELDS, bench


@pytest.mark.slow
def test_incremental_reconcile_smoke_run_times_a_pass_after_changes_on_each_size() -> None:
    """Two tiny stores, each with a first full pass, then rounds of changed orders and the incremental
    pass after each: a row per size, the larger against the smaller."""
    done = bench("incremental_reconcile", "--sizes", "200,400", "--no-write", "--json")
    assert done.returncode == 0, done.stderr
    small, large = json.loads(done.stdout)
    assert set(small) >= FIELDS and set(large) >= FIELDS
    assert (small["size"], large["size"], large["reference_size"]) == (200, 400, 200)
    assert small["unit"] == "ms" and len(small["rounds_ms"]) == 3 and small["value"] > 0
    assert large["reference"] == small["value"]
