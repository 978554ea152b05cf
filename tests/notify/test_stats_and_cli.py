"""The numbers (time in each stage from the status history, share within SLA, open discrepancies
by rule and system now and by day, where orders wait longest) computed on both stores, and the
commands that show them: `stats`, `report --out`, `outbox`."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
from typer.testing import CliRunner

from orderbridge.reconciler import stats
from orderbridge.reconciler.settings import ReconcileSettings
from orderbridge.scheduler.cli import app
from orderbridge.storage.db import Store

H = timedelta(hours=1)


def history(store: Store, world: Any, key: str, start: datetime, steps: list[tuple[str, float]]) -> None:
    """The warehouse reports `key` going through `steps` (status, hours after start)."""
    for status, hours in steps:
        world.observe(store, "wms", key, start + hours * H, fulfillment=(status, status.upper()))


def test_time_in_stage_average_p90_and_sla_share(store: Store, now: datetime, world: Any) -> None:
    """Ten orders spend 2..20 h preparing: average 11 h, 90th percentile 18 h, 60% within a 12 h SLA;
    one still preparing for 30 h counts as waiting (and late); preparing is where orders wait longest."""
    start = now - 10 * 24 * H
    for n in range(10):
        history(
            store, world, f"SO-{n}", start, [("approved", 0), ("preparing", 1), ("shipped", 1 + 2 * (n + 1))]
        )
    history(store, world, "SO-LATE", now - 31 * H, [("approved", 0), ("preparing", 1)])
    settings = ReconcileSettings.model_validate(
        {"authority": {"fulfillment": "wms"}, "sla": {"preparing": ["12h", "1d"]}}
    )
    with store.engine.connect() as conn:
        found = stats.compute(conn, settings, now)
    preparing = next(s for s in found.stages if s.stage == "preparing")
    assert preparing.orders == 10
    assert preparing.average_hours == 11.0 and preparing.p90_hours == 18.0
    assert preparing.sla_hours == 12.0
    assert preparing.within_sla == round(6 / 11, 4)  # 6 of 10 in time, plus the late one still there
    assert preparing.waiting_now == 1 and preparing.longest_waiting_hours == 30.0
    approved = next(s for s in found.stages if s.stage == "approved")
    assert approved.average_hours == 1.0 and approved.within_sla is None
    assert found.longest_wait == {"dimension": "fulfillment", "stage": "preparing", "average_hours": 11.0}
    with store.engine.connect() as conn:
        recent = stats.compute(conn, settings, now, since=now - 2 * 24 * H)
    assert next(s for s in recent.stages if s.stage == "preparing").orders == 0


def test_open_discrepancies_now_and_by_day(store: Store, now: datetime, world: Any) -> None:
    """Open now by rule and by system, and for each of the last 30 days how many were open at its end."""
    world.populate(store, now - 2 * 24 * H)
    world.reconciler(store).run(now - 2 * 24 * H)
    with store.engine.connect() as conn:
        found = stats.compute(conn, ReconcileSettings.model_validate(world.reconcile), now)
    assert found.open_by_rule == {"amount_mismatch": 1, "quantity_mismatch": 1, "status_conflict": 2}
    assert found.open_by_system == {"erp": 3, "finance": 1, "wms": 3}
    assert len(found.open_by_day) == 30
    assert found.open_by_day[-1].total == 4 and found.open_by_day[-1].date == now.date().isoformat()
    assert found.open_by_day[-4].total == 0  # three days ago nothing was open yet
    assert found.open_by_day[-2].by_rule["status_conflict"] == 2


def write_config(tmp_path: Path, store_url: str, smtp: Any = None) -> Path:
    text = (
        f"store: {{url: {json.dumps(store_url)}}}\n"
        "reconcile: {sla: {preparing: [1d, 3d]}}\n"
        + (
            smtp.smtp_yaml()
            if smtp is not None
            else 'smtp: {host: 127.0.0.1, port: 1, security: none, from: "orderbridge <bot@example.com>"}\n'
        )
        + "reports:\n  finance: {to: [finance@example.com], timezone: Asia/Shanghai, language: zh-CN,\n"
        + "            only: all_open}\n"
    )
    path = tmp_path / "orderbridge.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_stats_command_json(store: Store, store_url: str, now: datetime, world: Any, tmp_path: Path) -> None:
    """`orderbridge stats --format json` prints the same numbers the module computes."""
    world.populate(store, now)
    world.reconciler(store).run(now)
    result = CliRunner().invoke(
        app, ["stats", "-c", str(write_config(tmp_path, store_url)), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["open_by_rule"] == {"amount_mismatch": 1, "quantity_mismatch": 1, "status_conflict": 2}
    assert {"stages", "longest_wait", "open_by_system", "open_by_day"} <= set(shown)
    bad = CliRunner().invoke(
        app, ["stats", "-c", str(write_config(tmp_path, store_url)), "--since", "yesterday"]
    )
    assert bad.exit_code == 2 and "neither a date/time" in bad.output


def test_report_out_writes_eml_html_and_attachments(
    store: Store, store_url: str, now: datetime, world: Any, tmp_path: Path
) -> None:
    """`report finance --out DIR` writes the .eml, an .html that shows its chart in a browser, the
    chart, the .xlsx and the .csv, with the store's discrepancies; nothing goes to the outbox."""
    world.populate(store, now)
    world.reconciler(store).run(now)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["report", "finance", "-c", str(write_config(tmp_path, store_url)), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    files = {p.suffix: p for p in out.iterdir() if not p.name.endswith("-chart.png")}
    assert set(files) == {".eml", ".html", ".xlsx", ".csv"}
    chart = next(out.glob("*-chart.png"))
    html = files[".html"].read_text(encoding="utf-8")
    assert f'src="{chart.name}"' in html and "订单差异报告" in html
    sheet = openpyxl.load_workbook(files[".xlsx"]).active
    assert sheet.max_row == 5
    rows = list(csv.reader(io.StringIO(files[".csv"].read_text(encoding="utf-8-sig"))))
    assert len(rows) == 5
    listed = CliRunner().invoke(
        app, ["outbox", "-c", str(write_config(tmp_path, store_url)), "--format", "json"]
    )
    assert json.loads(listed.stdout) == []


def test_report_send_and_outbox_listing(
    store: Store, store_url: str, now: datetime, world: Any, tmp_path: Path, smtp_server: Any
) -> None:
    """`report finance --send` delivers it now and `outbox --format json` shows it sent; with SMTP
    unreachable it says the report stays in the outbox and exits 1."""
    world.populate(store, now)
    world.reconciler(store).run(now)
    config = write_config(tmp_path, store_url, smtp_server)
    result = CliRunner().invoke(app, ["report", "finance", "-c", str(config), "--send"])
    assert result.exit_code == 0, result.output
    assert len(smtp_server.handler.received) == 1
    listed = json.loads(CliRunner().invoke(app, ["outbox", "-c", str(config), "--format", "json"]).stdout)
    assert [(r["kind"], r["channel"], r["state"]) for r in listed] == [("report", "report:finance", "sent")]
    smtp_server.stop()
    failed = CliRunner().invoke(app, ["report", "finance", "-c", str(config), "--send"])
    assert failed.exit_code == 1 and "stays in the outbox" in failed.output
    failing = json.loads(
        CliRunner()
        .invoke(app, ["outbox", "-c", str(config), "--state", "failing", "--format", "json"])
        .stdout
    )
    assert len(failing) == 1 and "cannot deliver" in failing[0]["last_error"]
    assert "s3cret" not in failed.output
