"""A tiny run of the sync_memory benchmark, so that it keeps working between the runs on demand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "sync_memory.py"


def test_sync_memory_smoke_run_reports_a_row_per_size_above_the_first() -> None:
    """300 and 600 records through the REST connector from the benchmark's own server: every record
    stored (the benchmark checks), and a result row carrying the fields bench/results/latest.json has."""
    done = subprocess.run(
        [sys.executable, str(BENCH), "--sizes", "300,600", "--page-size", "100"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    [row] = json.loads(done.stdout)
    assert {"scenario", "size", "value", "unit", "reference", "ratio", "target", "met"} <= set(row)
    assert (row["scenario"], row["size"], row["reference_size"]) == ("sync_memory", 600, 300)
    assert row["value"] > 0 and abs(row["ratio"] - row["value"] / row["reference"]) < 0.01
