"""The reconcile pass gives exactly the results the row-by-row pass gave (every order through every
rule, one statement per discrepancy), recorded in tests/fixtures/reconcile/equivalence.json: on a planted
store with a problem of every rule, through full and incremental passes, source changes, a snooze and an
acknowledgement — every change, discrepancy, event and queued deadline."""

from __future__ import annotations

import json
from typing import Any

import pytest
import reconcile_equivalence as equivalence

from orderbridge.storage.db import Store


@pytest.fixture(scope="module")
def recorded() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(equivalence.FIXTURE.read_text())
    return found


def test_the_fixture_covers_every_rule_and_lifecycle_change(recorded: list[dict[str, Any]]) -> None:
    """Without every rule and kind of change in the record, equality would prove less than it says."""
    from orderbridge.reconciler.rules import RULE_NAMES

    rules = {d["rule"] for step in recorded for d in step["discrepancies"].values()}
    kinds = {change[0] for step in recorded for change in step["changes"]}
    assert rules == set(RULE_NAMES)
    assert kinds == {"opened", "resolved", "snooze_ended", "escalated", "updated", "reopened"}


def test_every_step_matches_the_row_by_row_pass(store: Store, recorded: list[dict[str, Any]]) -> None:
    steps = equivalence.run_steps(store)
    assert [s["step"] for s in steps] == [s["step"] for s in recorded]
    for got, want in zip(steps, recorded, strict=True):
        got = json.loads(json.dumps(got, sort_keys=True))  # the fixture's JSON types (tuples as lists)
        assert got["changes"] == want["changes"], got["step"]
        assert got["queue"] == want["queue"], got["step"]
        assert got["discrepancies"].keys() == want["discrepancies"].keys(), got["step"]
        for fingerprint, discrepancy in want["discrepancies"].items():
            assert got["discrepancies"][fingerprint] == discrepancy, (got["step"], fingerprint)
        assert got["events"] == want["events"], got["step"]
