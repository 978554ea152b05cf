"""The one benchmark entry point: scenarios registered by name, tiny smoke runs of each, and the shared
results writer that replaces only its own scenario's rows and section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench_smoke import FIELDS, bench

from bench import results
from bench.machine import Machine
from bench.registry import SCENARIOS

MACHINE = Machine("cpu", 2, 4.0, "3.11.7", "3.40.1", "15.2", "2026-12-01 20:00 UTC", "abc1234")


def test_every_scenario_is_registered_under_its_own_name() -> None:
    """The registry's keys are what the command line accepts; each names its own scenario."""
    assert {"full_reconcile", "incremental_reconcile", "side_by_side", "sync_memory"} <= set(SCENARIOS)
    for name, scenario in SCENARIOS.items():
        assert scenario.name == name
        assert scenario.quick and scenario.sizes and max(scenario.quick) < max(scenario.sizes)


def test_an_unknown_scenario_is_refused_with_the_list_of_known_ones() -> None:
    done = bench("full_reconcil")
    assert done.returncode == 2
    assert "unknown scenario full_reconcil" in done.stderr and "full_reconcile" in done.stderr


@pytest.mark.slow
def test_full_reconcile_smoke_run_finds_exactly_what_was_planted() -> None:
    """300 orders through a full pass twice; the scenario itself fails unless the pass finds exactly
    the planted discrepancies, so a zero exit and a row with the results' fields is the proof."""
    done = bench("full_reconcile", "--sizes", "300", "--no-write", "--json")
    assert done.returncode == 0, done.stderr
    [row] = json.loads(done.stdout)
    assert set(row) >= FIELDS
    assert (row["scenario"], row["size"], row["unit"]) == ("full_reconcile", 300, "s")
    assert row["value"] > 0 and row["planted"] > 11  # every rule planted at least once, and orphans


def row(scenario: str, size: int, value: float) -> results.Row:
    return results.Row(scenario, size, "time", value, "s", 2.0, "reference", "<= 1 s", value <= 1)


def test_saving_replaces_only_the_scenarios_own_rows_and_section(tmp_path: Path) -> None:
    """Another scenario's rows in latest.json and the page's other sections stay as they were."""
    latest, page = tmp_path / "latest.json", tmp_path / "benchmarks.md"
    latest.write_text(json.dumps([{"scenario": "ingest", "size": 5, "value": 1}, {"scenario": "a"}]))
    page.write_text(
        "# Benchmarks\n\nEarlier measurements.\n\n<!-- a:begin -->\nold\n<!-- a:end -->\n\nTail.\n"
    )
    outcome = results.Outcome([row("a", 10, 0.5), row("a", 100, 4.0)], "How it was measured.")
    text = results.section("a", "a title", "python3 tasks.py bench a", outcome, MACHINE)
    results.save("a", text, outcome.rows, MACHINE, results=latest, report=page)

    saved = json.loads(latest.read_text())
    assert saved[0] == {"scenario": "ingest", "size": 5, "value": 1}
    assert [(r["scenario"], r["size"], r["ratio"], r["met"]) for r in saved[1:]] == [
        ("a", 10, 0.25, True),
        ("a", 100, 2.0, False),
    ]
    assert all(set(r) >= FIELDS and r["commit"] == "abc1234" for r in saved[1:])
    written = page.read_text()
    assert written.startswith("# Benchmarks\n\nEarlier measurements.\n") and written.endswith("\n\nTail.\n")
    assert "old" not in written and written.count("<!-- a:begin -->") == 1
    assert "2 cores, 4.0 GiB RAM, Python 3.11.7, SQLite 3.40.1, PostgreSQL 15.2" in written
    assert "| a | 100 | time | 4 s | 2 s (reference) | **2.0** | <= 1 s | **no** |" in written


def test_a_new_scenario_section_is_appended(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text("# Benchmarks\n\nKept.\n")
    outcome = results.Outcome([row("b", 1, 1.0)], "Body.")
    text = results.section("b", "b title", "cmd", outcome, MACHINE)
    results.save("b", text, outcome.rows, MACHINE, results=tmp_path / "latest.json", report=page)
    assert page.read_text().startswith("# Benchmarks\n\nKept.\n\n<!-- b:begin -->\n## b: b title\n")


@pytest.mark.parametrize("text", ["1,x", "0", ""])
def test_bad_sizes_are_refused(text: str) -> None:
    done = bench("full_reconcile", "--sizes", text, "--no-write")
    assert done.returncode == 2 and "--sizes" in done.stderr
