"""The command line as a new user meets it: the shipped example runs (as commands and as a daemon
process), failures are loud and end in the documented exit codes, names are checked, orders are found
by any number, and commands that only read the store do not need a source's secrets. Commands run in
this process through Typer's runner (the real app, its real output streams), the daemon as a process."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import structlog
from rich.console import Console
from typer.testing import CliRunner

from orderbridge import __version__
from orderbridge.scheduler.cli import app
from orderbridge.scheduler.demo import run_demo

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def cli(*args: str) -> Ran:
    """`orderbridge ARGS` in this process: exit code, standard output and standard error."""
    result = CliRunner().invoke(app, list(args), env={"ORDERBRIDGE_CONFIG": None, "ORDERBRIDGE_LISTEN": None})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)


@pytest.fixture(autouse=True)
def _logging_left_as_found() -> Iterator[None]:
    """A command configures logging onto the runner's streams; later tests must not write to them."""
    yield
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_orderbridge", False)]:
        root.removeHandler(handler)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's folder, its config file at orderbridge.yaml."""
    directory = tmp_path_factory.mktemp("demo")
    with (directory / "output.txt").open("w", encoding="utf-8") as out:
        assert run_demo(directory, console=Console(file=out, width=120)) == 0
    return directory / "orderbridge.yaml"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """examples/ copied as shipped (so that its database lands in the copy)."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return tmp_path / "examples" / "orderbridge.yaml"


# -- the shipped example ----------------------------------------------------------------------------


def test_the_shipped_example_syncs_its_data_and_reconciles(example: Path) -> None:
    """examples/orderbridge.yaml, unchanged, finds its sheets: each enabled system syncs records,
    the pass runs, and the orders show both systems' statuses; the ERP it leaves switched off is said
    to be so."""
    for system, records in (("purchasing", "2 records"), ("finance", "1 record ")):
        result = cli("sync", system, "-c", str(example))
        assert result.returncode == 0, result.stderr
        assert f"{system}: {records}" in result.stdout
    assert cli("reconcile", "-c", str(example)).returncode == 0
    table = cli("discrepancies", "-c", str(example))
    assert "1 open discrepancy (times in Asia/Shanghai)" in table.stdout
    listed = json.loads(cli("orders", "-c", str(example), "--format", "json").stdout)
    assert [o["order_key"] for o in listed] == ["SO-000001", "SO-000002"]
    assert listed[0]["systems"]["finance"][0]["statuses"]["billing"]["status"] == "invoiced"
    off = cli("sync", "erp", "-c", str(example))
    assert off.returncode == 2 and "erp is switched off" in off.stderr


@pytest.mark.slow
def test_the_shipped_example_runs_as_a_daemon(example: Path) -> None:
    """`orderbridge run` on the example serves its orders over HTTP once its polls ran, and stops on
    SIGTERM with exit 0."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEMO_", "ORDERBRIDGE_"))}
    env["ORDERBRIDGE_LISTEN"] = f"127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "orderbridge", "run", "-c", str(example)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        keys: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(keys) < 2:
            with contextlib.suppress(httpx.HTTPError):
                keys = [
                    o["order_key"] for o in httpx.get(f"http://127.0.0.1:{port}/api/orders", timeout=5).json()
                ]
            time.sleep(0.2)
        assert keys == ["SO-000001", "SO-000002"]
    finally:
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=60)
    assert process.returncode == 0, errors


# -- sync: loud failures --------------------------------------------------------------------------


def sheet_config(directory: Path, path: str, *, log_file: bool = False) -> Path:
    config = directory / "ob.yaml"
    config.write_text(
        f"""
store: {{url: "sqlite:///ob.db"}}
{"log: {file: ob.log}" if log_file else ""}
systems:
  sheet:
    type: spreadsheet
    path: "{path}"
    columns: {{order: 订单号, status: 状态}}
    status: {{dimension: fulfillment, map: {{已下单: placed}}}}
""",
        encoding="utf-8",
    )
    return config


def test_a_sync_that_finds_no_file_fails_and_says_so_in_the_log_file_too(tmp_path: Path) -> None:
    """A glob matching nothing: exit 1, the pattern and folder named on standard error, and the failure
    written to the configured log file."""
    result = cli("sync", "sheet", "-c", str(sheet_config(tmp_path, "inbox/*.csv", log_file=True)))
    assert result.returncode == 1
    assert "no file matches inbox/*.csv" in result.stderr
    lines = (tmp_path / "ob.log").read_text(encoding="utf-8").splitlines()
    [line] = [json.loads(line) for line in lines if '"sync failed"' in line]
    assert (line["event"], line["system"], line["level"]) == ("sync failed", "sheet", "error")
    assert "no file matches" in line["error"]


def test_a_folder_without_spreadsheets_fails_the_sync(tmp_path: Path) -> None:
    """A folder given as the path that holds no spreadsheet: exit 1 with the hint to use a glob."""
    (tmp_path / "sheets" / "2026").mkdir(parents=True)
    result = cli("sync", "sheet", "-c", str(sheet_config(tmp_path, "sheets")))
    assert result.returncode == 1 and "holds no .csv, .xlsx, .xlsm file" in result.stderr


def test_a_file_quarantined_whole_makes_the_sync_exit_4(tmp_path: Path) -> None:
    """Headers not found: the file is quarantined as a whole, the sync says it read nothing usable
    from it and exits 4; the file beside it is still read."""
    (tmp_path / "a.csv").write_text("单号,状态\nSO-1,已下单\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("订单号,状态\nSO-2,已下单\n", encoding="utf-8")
    for name in ("a.csv", "b.csv"):
        os.utime(tmp_path / name, ns=(10**18, 10**18))
    result = cli("sync", "sheet", "-c", str(sheet_config(tmp_path, "*.csv")))
    assert result.returncode == 4
    assert "sheet: 1 record in 2 batches" in result.stdout
    assert "not read: a.csv: column '订单号' (order) not found" in result.stderr
    assert "1 file gave nothing usable" in result.stderr


def test_a_deleted_row_is_said_to_be_gone(tmp_path: Path) -> None:
    """A row deleted from a sheet: the next sync says its record is no longer there and kept in the
    history; the order's timeline shows it gone."""
    sheet = tmp_path / "a.csv"
    config = sheet_config(tmp_path, "a.csv")
    sheet.write_text("订单号,状态\nSO-1,已下单\nSO-2,已下单\n", encoding="utf-8")
    os.utime(sheet, ns=(10**18, 10**18))
    assert cli("sync", "sheet", "-c", str(config)).returncode == 0
    sheet.write_text("订单号,状态\nSO-1,已下单\n", encoding="utf-8")
    os.utime(sheet, ns=(10**18 + 10**9,) * 2)
    result = cli("sync", "sheet", "-c", str(config))
    assert result.returncode == 0, result.stderr
    assert "a.csv: 1 record no longer there — marked gone (kept in the history)" in result.stdout
    timeline = cli("order", "SO-2", "-c", str(config))
    assert "gone" in timeline.stdout and "no longer in a.csv" in timeline.stdout
    body = json.loads(cli("order", "SO-2", "-c", str(config), "--format", "json").stdout)
    assert [(r["record_id"], r["scope"]) for r in body["retired"]] == [("a.csv:SO-2", "a.csv")]


# -- names are checked ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["discrepancies", "--rule", "stuk"],
            "--rule: unknown rule 'stuk' (did you mean 'stuck'?); rules: status_lag,",
        ),
        (["discrepancies", "--status", "opened"], "--status: unknown status 'opened' (did you mean 'open'?)"),
        (
            ["quarantine", "--system", "wsm"],
            "--system: unknown system 'wsm' (did you mean 'wms'?); systems: erp, wms",
        ),
        (
            ["orders", "--system", "crm"],
            "--system: unknown system 'crm'; systems: erp, wms, purchasing, finance",
        ),
        (
            ["orders", "--status", "prepared"],
            "--status: unknown status 'prepared' (did you mean 'preparing'?)",
        ),
        (["orders", "--since", "last week"], "--since: 'last week' is neither a duration"),
        (["sync", "wsm"], "unknown system 'wsm' (did you mean 'wms'?)"),
    ],
)
def test_unknown_names_are_refused_with_the_valid_ones(demo: Path, args: list[str], message: str) -> None:
    """A rule, status or system name that does not exist is an error (exit 2) listing the valid names,
    never an empty answer; the rule names are the reconciler's."""
    result = cli(*args, "-c", str(demo))
    assert result.returncode == 2
    assert message in result.stderr
    if "--rule" in args:
        assert "still_open" in result.stderr and "orphan" in result.stderr


def test_discrepancies_come_most_urgent_first_with_what_to_do(demo: Path) -> None:
    """The listing puts critical ones first, then the oldest; each says what to do."""
    found = json.loads(cli("discrepancies", "-c", str(demo), "--format", "json").stdout)
    ranks = [(0 if d["severity"] == "critical" else 1, d["since"]) for d in found]
    assert ranks == sorted(ranks) and ranks[0][0] == 0
    assert all(d["advice"] and d["order_key"] in d["advice"] for d in found if d["rule"] != "orphan")
    table = cli("discrepancies", "-c", str(demo)).stdout
    assert "Someone is on it:  orderbridge ack ID --by NAME" in table


# -- finding and listing orders -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "key", "how"),
    [
        ("SO-000042", "SO-000042", None),
        ("so-000042", "SO-000042", "order key"),
        ("SO-2026-0042", "SO-000042", "erp's order number"),
        ("42", "SO-000042", "order number"),
        ("XSDD000042", "SO-000042", "wms's order number"),
        ("SF1400000042", "SO-000042", "carrier's record id"),  # the carrier's parcels are its records
        ("SF1400000045", "SO-000045", "tracking number"),  # a parcel only the WMS knows
    ],
)
def test_order_accepts_any_systems_number_for_it(demo: Path, given: str, key: str, how: str | None) -> None:
    """`order` finds an order from its key in any case, the ERP's document number, a bare number, the
    WMS's number, the carrier's parcel or a tracking number only the WMS knows, and says what it
    matched."""
    result = cli("order", given, "-c", str(demo), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["order_key"] == key
    if how is not None:
        assert f"{given} is order {key}" in result.stderr and how in result.stderr


def test_an_unknown_order_names_the_closest_keys(demo: Path) -> None:
    """No match: exit 1 and the nearest known keys."""
    result = cli("order", "SO-00004", "-c", str(demo))
    assert result.returncode == 1
    assert "no order 'SO-00004' is known; closest known: SO-0000" in result.stderr


def test_orders_lists_each_systems_status_side_by_side(demo: Path) -> None:
    """`orders` shows every order with each system's canonical status and its own words; filters by
    system and status (that system's), and the JSON, CSV and table agree."""
    listed = json.loads(cli("orders", "-c", str(demo), "--format", "json").stdout)
    assert len(listed) == 18
    order = next(o for o in listed if o["order_key"] == "SO-000042")
    assert order["systems"]["erp"][0]["statuses"]["fulfillment"] == {
        "status": "preparing",
        "native": "备货中",
        "implied": False,
    }
    assert order["systems"]["wms"][0]["statuses"]["fulfillment"]["native"] == "SHIPPED"
    assert order["open_discrepancies"] == 1
    picking = cli("orders", "-c", str(demo), "--system", "wms", "--status", "preparing", "--format", "json")
    assert [o["order_key"] for o in json.loads(picking.stdout)] == [
        "SO-000049",
        "SO-000050",
        "SO-000054",
        "SO-000058",
    ]
    table = cli("orders", "-c", str(demo), "--status", "billing.paid")
    assert "1 order (times in Asia/Shanghai)" in table.stdout
    assert "SO-000041" in table.stdout and "delivered (已签收)" in table.stdout
    rows = cli("orders", "-c", str(demo), "--format", "csv", "--since", "1d").stdout.splitlines()
    assert rows[0].startswith("order_key,changed_at,open,erp,erp native,wms,wms native")
    assert len(rows) == 19


# -- read-only commands need no source secrets -------------------------------------------------------


def test_read_only_commands_run_without_a_sources_secret(tmp_path: Path, demo: Path) -> None:
    """With the ERP's token variable unset (no default), the commands that only read the store run;
    `sync` and `check-config`, which need it, still refuse and name the variable."""
    config = tmp_path / "ob.yaml"
    text = demo.read_text(encoding="utf-8").replace(
        "${DEMO_ERP_TOKEN:-demo-erp-token}", "${OB_TEST_ERP_TOKEN}"
    )
    text = text.replace('"sqlite:///orderbridge.db"', f'"sqlite:///{demo.parent / "orderbridge.db"}"')
    config.write_text(text, encoding="utf-8")
    for args in (["discrepancies"], ["order", "SO-000042"], ["orders"], ["quarantine"], ["reconcile"]):
        result = cli(*args, "-c", str(config))
        assert result.returncode == 0, (args, result.stderr)
    for args in (["sync", "erp"], ["check-config"]):
        result = cli(*args, "-c", str(config))
        assert result.returncode == 2 and "environment variable OB_TEST_ERP_TOKEN is not set" in result.stderr


def test_version() -> None:
    """`orderbridge --version` prints the version."""
    result = cli("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"orderbridge {__version__}")


# -- the demo's own mistakes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--store", "mysql://u@localhost/db"], "error: --store: database 'mysql' is not supported"),
        (["--store", "postgresql://u@localhost:port/db"], "error: --store: the port of the database URL"),
        (["--store", "not a url"], "error: --store: not a database URL"),
        (["--dir", "{file}"], "is a file; give a folder"),
    ],
)
def test_demo_refuses_a_wrong_store_or_folder_clearly(tmp_path: Path, args: list[str], message: str) -> None:
    """A non-PostgreSQL or malformed --store, or a --dir that is a file: a clear error, exit 2, no
    traceback."""
    (tmp_path / "file").write_text("x", encoding="utf-8")
    args = [a.replace("{file}", str(tmp_path / "file")) for a in args]
    if "--dir" not in args:
        args += ["--dir", str(tmp_path / "out")]
    result = cli("demo", *args)
    assert result.returncode == 2
    assert message in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
