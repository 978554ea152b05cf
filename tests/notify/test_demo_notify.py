"""The demo shows what orderbridge would have sent: the finance report's files and each alert
channel's message, and says where they are."""

from __future__ import annotations

import email
import email.policy
import io
import json
from pathlib import Path

import openpyxl
from rich.console import Console

from orderbridge.scheduler.demo import run_demo


def test_demo_writes_its_report_and_the_alerts_it_would_send(tmp_path: Path) -> None:
    """report/ holds the .eml, .html, chart, .xlsx and .csv; alerts/ the DingTalk request body and
    the e-mail; the summary names both places."""
    out = io.StringIO()
    assert run_demo(tmp_path, console=Console(file=out, width=200)) == 0
    report = tmp_path / "report"
    suffixes = sorted(p.suffix for p in report.iterdir())
    assert suffixes == [".csv", ".eml", ".html", ".png", ".xlsx"]
    eml = next(report.glob("*.eml"))
    mail = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert mail["To"] == "finance@example.com" and "订单差异报告" in mail["Subject"]
    sheet = openpyxl.load_workbook(next(report.glob("*.xlsx"))).active
    assert sheet.max_row > 1
    ops = json.loads((tmp_path / "alerts" / "ops.json").read_text(encoding="utf-8"))
    assert ops["msgtype"] == "markdown" and "SO-000044" in ops["markdown"]["text"]
    printed = out.getvalue()
    assert str(next(report.glob("*.html"))) in printed and str(tmp_path / "alerts" / "ops.json") in printed
