"""A tiny run of the ingest benchmark, so that it keeps working between the runs on demand."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bench import ingest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_ingest_smoke_run_stores_every_record_beside_its_reference(store: str) -> None:
    """300 records through orderbridge's ingest and the driver-level reference on the same store kind:
    every record new (the benchmark asserts it page by page) and a row with both rates and their ratio."""
    done = subprocess.run(
        [sys.executable, "-m", "bench", "ingest", "--sizes", "300", "--store", store, "--no-write", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    [row] = json.loads(done.stdout)
    assert (row["scenario"], row["size"], row["store"], row["unit"]) == ("ingest", 300, store, "records/s")
    assert row["value"] > 0 and row["reference"] > 0
    assert abs(row["ratio"] - row["value"] / row["reference"]) < 0.01


def test_the_reference_writes_the_rows_orderbridge_writes(tmp_path: Path) -> None:
    """Side by side means the same work: after both runs the stores hold the same observations (but
    for the content hash, which the reference does not compute orderbridge's way), history, links,
    queue and cursor."""
    data = ingest.pages(1200)
    tables = {}
    for run in ("reference", "orderbridge"):
        url = f"sqlite:///{tmp_path / run}.db"
        if run == "reference":
            ingest.run_reference(url, ingest.reference_rows(data, "sqlite"))
        else:
            ingest.run_orderbridge(url, data)
        conn = sqlite3.connect(tmp_path / f"{run}.db")
        tables[run] = {
            "observations": conn.execute(
                "SELECT system, record_id, order_key, order_ref, external_ref, json(statuses), "
                "json(native_status), status_at, json(quantities), json(amounts), json(links), json(raw) "
                "FROM observations ORDER BY record_id"
            ).fetchall(),
            "history": conn.execute(
                "SELECT order_key, record_id, dimension, status, native, status_at FROM status_history "
                "ORDER BY record_id, dimension"
            ).fetchall(),
            "links": conn.execute("SELECT * FROM order_links ORDER BY link_type, value").fetchall(),
            "queue": conn.execute("SELECT order_key, due_at FROM reconcile_queue ORDER BY 1").fetchall(),
            "cursor": conn.execute("SELECT system, json(value) FROM cursors").fetchall(),
        }
        conn.close()
    assert len(tables["orderbridge"]["observations"]) == 1200
    for name, found in tables["orderbridge"].items():
        assert tables["reference"][name] == found, name
