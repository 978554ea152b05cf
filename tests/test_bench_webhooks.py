"""A tiny run of the webhook intake benchmark, so that bench/webhooks.py keeps working: both apps
start, take signed events over loopback and the results table comes out. (Speed is the benchmark's
business, not the suite's: nothing here is timed.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[1] / "bench" / "webhooks.py"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_intake_benchmark_runs() -> None:
    """One second per phase with the Python load generator (no wrk needed), nothing saved."""
    done = subprocess.run(
        [sys.executable, str(BENCH), "--seconds", "1", "--generator", "python", "--no-save"],
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| webhook intake, sustained (sqlite) |" in done.stdout
    assert "errors 0" in done.stdout
