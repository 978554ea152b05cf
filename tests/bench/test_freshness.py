"""A tiny run of the freshness benchmark, so that it keeps working between the runs on demand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_freshness_smoke_run_sees_every_discrepancy_open_and_resolve() -> None:
    """The real daemon with 20 orders, each sent an in-transit event for its cancelled order and then
    its return: the benchmark fails unless each discrepancy opens and then resolves; the rows give p50
    and p95 of both, p50 never above p95."""
    done = subprocess.run(
        [sys.executable, "-m", "bench", "freshness", "--sizes", "20", "--no-write", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = {row["figure"]: row for row in json.loads(done.stdout)}
    figures = [
        f"webhook to discrepancy {w}, {p} (sqlite)" for w in ("opened", "resolved") for p in ("p50", "p95")
    ]
    assert sorted(rows) == sorted(figures)
    for what in ("opened", "resolved"):
        p50, p95 = (rows[f"webhook to discrepancy {what}, {p} (sqlite)"] for p in ("p50", "p95"))
        assert (p50["events"], p50["unit"]) == (20, "ms")
        assert 0 < p50["value"] <= p95["value"]
