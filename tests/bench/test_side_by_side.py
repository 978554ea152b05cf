"""A tiny run of the side_by_side benchmark scenario, so that it keeps working between the runs on demand."""

from __future__ import annotations

import json

import pytest
from bench_smoke import FIELDS, bench


@pytest.mark.slow
def test_side_by_side_smoke_run_checks_every_tool_finds_the_planted_mismatches() -> None:
    """The scenario fails unless orderbridge and every installed reference tool name exactly the
    planted orders; the reference tools are the `bench` extra, which the tests do not need."""
    done = bench("side_by_side", "--sizes", "400", "--no-write", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert rows[0]["figure"] == "orderbridge full pass, all status-aware rules (sqlite)"
    assert rows[0]["planted"] == 20 and rows[0]["value"] > 0
    assert all(set(row) >= FIELDS for row in rows)
