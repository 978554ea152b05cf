"""The demo end to end, and the CLI as people call it (a real process) on the demo's database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from orderbridge.demo.scenario import build_scenario
from orderbridge.scheduler.demo import run_demo

DISCREPANCY_FIELDS = {
    "order_key",
    "rule",
    "dimension",
    "systems",
    "severity",
    "status",
    "opened_at",
    "resolved_at",
    "details",
}


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEMO_")}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "orderbridge", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, datetime, str]:
    directory = tmp_path_factory.mktemp("demo")
    now = datetime.now(UTC).replace(microsecond=0)
    console = Console(record=True, width=200)
    assert run_demo(directory, console=console, now=now) == 0
    return directory, now, console.export_text()


def test_demo_finds_exactly_the_scenarios_problems(demo_dir: tuple[Path, datetime, str]) -> None:
    """Each problem order of the story gets exactly its intended rules; fine orders get none."""
    directory, now, _ = demo_dir
    result = cli("discrepancies", "-c", str(directory / "orderbridge.yaml"), "--format", "json")
    assert result.returncode == 0, result.stderr
    found: dict[str, set[str]] = defaultdict(set)
    for item in json.loads(result.stdout):
        found[item["order_key"]].add(item["rule"])
    expected = {ref: set(rules) for ref, rules in build_scenario(now).expected.items() if rules}
    assert dict(found) == expected
    assert len({rule for rules in expected.values() for rule in rules}) >= 6


def test_demo_prints_a_readable_summary_and_where_its_files_are(demo_dir: tuple[Path, datetime, str]) -> None:
    """The demo's output names the findings and the database, log and config paths, which exist."""
    directory, _, text = demo_dir
    assert "status_conflict" in text and "goods left for a cancelled order" in text
    for name in ("orderbridge.db", "orderbridge.log", "orderbridge.yaml"):
        assert str(directory / name) in text
        assert (directory / name).exists()


def test_discrepancies_json_has_the_documented_shape(demo_dir: tuple[Path, datetime, str]) -> None:
    """Every item carries the documented fields; details say what each involved system says."""
    directory, _, _ = demo_dir
    result = cli(
        "discrepancies",
        "-c",
        str(directory / "orderbridge.yaml"),
        "--format",
        "json",
        "--rule",
        "status_conflict",
    )
    found = json.loads(result.stdout)
    # The warehouse shipped order 44, which the ERP voided, and the carrier's push says it was delivered.
    assert sorted(i["systems"] for i in found) == [["carrier", "erp"], ["erp", "wms"]]
    item = next(i for i in found if i["systems"] == ["erp", "wms"])
    assert set(item) >= DISCREPANCY_FIELDS
    assert item["status"] == "open" and item["resolved_at"] is None and item["severity"] == "critical"
    assert item["systems"] == ["erp", "wms"]
    assert {"erp", "wms"} <= set(json.dumps(item["details"], ensure_ascii=False).replace('"', " ").split())


def test_order_timeline_json_lists_every_status_in_time_order(demo_dir: tuple[Path, datetime, str]) -> None:
    """`order KEY --format json` shows each system's native and canonical status, oldest first."""
    directory, _, _ = demo_dir
    result = cli("order", "SO-000042", "-c", str(directory / "orderbridge.yaml"), "--format", "json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    timeline = body["timeline"]
    assert {e["system"] for e in timeline} >= {"erp", "wms"}
    assert [e["at"] for e in timeline] == sorted(e["at"] for e in timeline)
    erp = next(e for e in timeline if e["system"] == "erp")
    assert (erp["native"], erp["status"], erp["dimension"]) == ("备货中", "preparing", "fulfillment")
    assert [d["rule"] for d in body["discrepancies"]] == ["status_lag"]


def test_unknown_order_and_csv_output(demo_dir: tuple[Path, datetime, str]) -> None:
    """An unknown order key is a clear non-zero exit; CSV output has a header and one row per item."""
    directory, _, _ = demo_dir
    missing = cli("order", "SO-999999", "-c", str(directory / "orderbridge.yaml"))
    assert missing.returncode == 1 and "SO-999999" in missing.stderr
    table = cli("discrepancies", "-c", str(directory / "orderbridge.yaml"), "--format", "csv")
    lines = table.stdout.strip().splitlines()
    assert lines[0].startswith("id,order_key,rule")
    assert len(lines) == 1 + len(
        json.loads(cli("discrepancies", "-c", str(directory / "orderbridge.yaml"), "--format", "json").stdout)
    )


def test_reconcile_again_changes_nothing_and_full_pass_evaluates_every_order(
    demo_dir: tuple[Path, datetime, str],
) -> None:
    """A second pass with nothing changed opens nothing; --full evaluates all orders, still no change."""
    directory, _, _ = demo_dir
    config = str(directory / "orderbridge.yaml")
    again = cli("reconcile", "-c", config, "--format", "json")
    assert again.returncode == 0, again.stderr
    assert [c for c in json.loads(again.stdout) if c["change"] in ("opened", "resolved")] == []
    full = cli("reconcile", "-c", config, "--full")
    assert "evaluated 18 orders" in full.stdout
    assert "0 opened" in full.stdout and "0 resolved" in full.stdout


def test_check_config_lists_every_problem_and_hides_secrets(tmp_path: Path) -> None:
    """A malformed config is refused (exit 2) with each problem's key path and line; secrets not shown."""
    config = tmp_path / "bad.yaml"
    config.write_text(
        "store: {url: 'sqlite:///x.db'}\n"
        "systems:\n"
        "  erp:\n"
        "    type: rest\n"
        "    base_url: not-a-url\n"
        "    auth: {bearer: hunter2-secret-token}\n"
        "    list: {path: /orders}\n"
        "  sheet:\n"
        "    type: spreadsheet\n"
        "    path: a.csv\n"
        "    poll: {every: often}\n"
        "reconcile:\n"
        "  authority: {fulfillment: wms}\n",
        encoding="utf-8",
    )
    result = cli("check-config", "-c", str(config))
    assert result.returncode == 2
    problems = result.stderr
    assert "systems.erp.base_url" in problems and ":5:" in problems
    assert "systems.sheet.poll.every" in problems and ":11:" in problems
    assert "reconcile.authority" in problems and "wms" in problems
    assert "hunter2-secret-token" not in problems + result.stdout


def test_check_config_accepts_the_shipped_example(tmp_path: Path) -> None:
    """The commented example configuration in examples/ is valid as shipped."""
    example = Path(__file__).resolve().parents[2] / "examples" / "orderbridge.yaml"
    result = cli("check-config", "-c", str(example))
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout


def test_one_shot_commands_keep_standard_error_for_warnings(tmp_path: Path) -> None:
    """`sync` without a log file shows its summary on standard output and only warnings (here: the
    quarantined row) on standard error, not the daemon's informational log lines."""
    (tmp_path / "sheet.csv").write_text(
        "订单号,状态,更新时间\nSO-1,已下单,2026-11-20 09:30\nSO-2,备货中,next tuesday\n", encoding="utf-8"
    )
    (tmp_path / "ob.yaml").write_text(
        """
store: {url: "sqlite:///ob.db"}
systems:
  sheet:
    type: spreadsheet
    path: sheet.csv
    columns: {order: 订单号, status: 状态, updated: 更新时间}
    status: {dimension: fulfillment, map: {已下单: placed, 备货中: preparing}}
""",
        encoding="utf-8",
    )
    os.utime(tmp_path / "sheet.csv", ns=(10**18, 10**18))
    result = cli("sync", "sheet", "-c", str(tmp_path / "ob.yaml"))
    assert result.returncode == 0, result.stderr
    assert "1 record in 1 batch " in result.stdout and "1 quarantined" in result.stdout
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert [(line["level"], line["event"]) for line in lines] == [("warning", "record quarantined")]


def test_the_demo_pipeline_on_each_store(tmp_path: Path, store_url: str) -> None:
    """The whole demo — simulated systems, polls, reconcile — finds the same problems on SQLite and on
    PostgreSQL (`demo --store URL`), and the CLI reads them back from that store."""
    now = datetime.now(UTC).replace(microsecond=0)
    with (tmp_path / "out.txt").open("w", encoding="utf-8") as out:
        assert (
            run_demo(tmp_path / "demo", console=Console(file=out, width=200), now=now, store_url=store_url)
            == 0
        )
    result = cli("discrepancies", "-c", str(tmp_path / "demo" / "orderbridge.yaml"), "--format", "json")
    assert result.returncode == 0, result.stderr
    found: dict[str, set[str]] = defaultdict(set)
    for item in json.loads(result.stdout):
        found[item["order_key"]].add(item["rule"])
    assert dict(found) == {ref: set(rules) for ref, rules in build_scenario(now).expected.items() if rules}


def test_the_demo_refuses_a_store_that_holds_data(tmp_path: Path, store_url: str) -> None:
    """Run twice on the same store given with --store, the demo refuses the second time instead of
    mixing its story into existing data (its own SQLite file, by contrast, is started afresh)."""
    with (tmp_path / "out.txt").open("w", encoding="utf-8") as out:
        console = Console(file=out, width=200)
        first = run_demo(tmp_path / "one", console=console, store_url=store_url)
        second = run_demo(tmp_path / "two", console=console, store_url=store_url)
    printed = (tmp_path / "out.txt").read_text(encoding="utf-8")
    assert (first, second) == (0, 2)
    assert "needs a store without orderbridge data" in printed
