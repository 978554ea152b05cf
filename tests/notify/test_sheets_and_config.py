"""Spreadsheet safety (a formula in an order key or a status is text in the XLSX and CSV), the
`smtp:`, `reports:` and `alerts:` sections as check-config sees them (every problem with its line,
secrets never shown), and the words of both languages."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from orderbridge.config.loader import ConfigError, parse_config
from orderbridge.notify.i18n import RULE_LABELS, WHAT_TO_CHECK, Language
from orderbridge.notify.report import gather, render
from orderbridge.notify.settings import ReportSettings
from orderbridge.notify.sheets import csv_safe
from orderbridge.reconciler.rules import RULE_NAMES
from orderbridge.reconciler.settings import ReconcileSettings
from orderbridge.storage.db import Store


def test_formula_in_order_key_and_status_is_text(store: Store, now: datetime, world: Any) -> None:
    """=HYPERLINK(...) as an order key and as a native status: a text cell (quote-prefixed) in the
    XLSX, an apostrophe-led value in the CSV; no cell of either file is a formula."""
    world.populate(store, now)
    world.reconciler(store).run(now)
    settings = ReportSettings(to=["finance@example.com"], only="all_open")
    with store.engine.connect() as conn:
        data = gather(conn, "finance", settings, ReconcileSettings.model_validate(world.reconcile), now, None)
    rendered = render(data)
    assert rendered.xlsx is not None and rendered.csv is not None
    sheet = openpyxl.load_workbook(io.BytesIO(rendered.xlsx)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    key = next(cell for cell in cells if cell.value == world.injection)
    assert key.data_type == "s" and key.quotePrefix
    says = next(
        cell for cell in cells if isinstance(cell.value, str) and f"erp: {world.injection}" in cell.value
    )
    assert says.data_type == "s"
    rows = list(csv.reader(io.StringIO(rendered.csv.decode("utf-8-sig"))))
    values = [value for row in rows for value in row]
    assert "'" + world.injection in values and world.injection not in values
    assert not any(v.startswith(("=", "+", "@", "\t", "\r")) for v in values)
    assert not any(v.startswith("-") and not v.lstrip("-").replace(".", "").isdigit() for v in values)


@pytest.mark.parametrize("text", ["=1+2", "+1", "-cmd", "@SUM(A1)", "\tx", "\rx"])
def test_csv_safe_prefixes_every_formula_start(text: str) -> None:
    """Every character Excel starts a formula with gets the apostrophe; ordinary text does not."""
    assert csv_safe(text) == "'" + text
    assert csv_safe("SO-000042") == "SO-000042"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "orderbridge.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_check_config_lists_every_problem_with_its_line(tmp_path: Path) -> None:
    """Wrong values in smtp, reports and alerts are all reported at once, each at its line."""
    from orderbridge.config.loader import load_config

    text = """\
smtp: {host: smtp.example.com, security: starttlss, from: "orderbridge <bot@example.com>"}
reports:
  finance:
    to: [finance@example.com]
    cron: "0 25 * * *"
    timezone: Asia/Shanghaii
    language: fr
    rules: [amount_mismatchh]
alerts:
  channels:
    ops: {type: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=t"}
    chat: {type: wechat, url: "https://x"}
  rules:
    - {when: {severity: critical}, send: [opz]}
    - {when: {age: 3 days}, send: [ops]}
"""
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, text))
    found = {(p.key_path, p.line) for p in raised.value.problems}
    assert ("smtp.security", 1) in found
    assert ("reports.finance.cron", 5) in found
    assert ("reports.finance.timezone", 6) in found
    assert ("reports.finance.language", 7) in found
    assert ("reports.finance.rules", 8) in found
    assert ("alerts.channels.chat", 12) in found
    assert ("alerts.rules[0].send", 14) in found
    assert ("alerts.rules[1].when.age", 15) in found
    messages = str(raised.value)
    assert "WeChat personal accounts have no robot API; use a WeCom" in messages
    assert "no channel 'opz' under alerts.channels (ops, chat)" in messages


def test_secrets_of_channels_and_smtp_are_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad value next to secrets: the error quotes neither the SMTP password, nor the robot's URL,
    nor its signing secret."""
    from orderbridge.config.loader import load_config
    from orderbridge.scheduler.logs import secrets_of

    monkeypatch.setenv("DINGTALK_URL", "https://oapi.dingtalk.com/robot/send?access_token=tok-9876")
    monkeypatch.setenv("DINGTALK_SECRET", "SEC-secret-4321")
    monkeypatch.setenv("SMTP_PASSWORD", "pw-1234-secret")
    text = """\
smtp: {host: smtp.example.com, port: 99999, username: bot, password: "${SMTP_PASSWORD}",
       from: "b <bot@example.com>"}
alerts:
  channels:
    ops: {type: dingtalk, url: "${DINGTALK_URL}", secret: "${DINGTALK_SECRET}", at_all: maybe}
"""
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, text))
    shown = str(raised.value)
    assert "smtp.port" in shown and "alerts.channels.ops.at_all" in shown
    for secret in ("tok-9876", "SEC-secret-4321", "pw-1234-secret"):
        assert secret not in shown
    good = parse_config(text.replace("port: 99999, ", "").replace(", at_all: maybe", ""))
    masked = secrets_of(good)  # what the log masker hides wherever it appears
    assert "pw-1234-secret" in masked and "SEC-secret-4321" in masked
    assert any("tok-9876" in secret for secret in masked)


def test_sections_that_need_smtp_say_so() -> None:
    """Reports and e-mail channels without smtp:, and a password over an unencrypted connection,
    are refused with the reason."""
    with pytest.raises(ConfigError, match="add an smtp: section"):
        parse_config("reports:\n  finance: {to: [f@example.com]}\n")
    with pytest.raises(ConfigError, match="in clear"):
        parse_config('smtp: {host: h, security: none, username: u, password: p, from: "a@example.com"}\n')


def test_every_rule_has_its_words_in_every_language() -> None:
    """Rule names and what to check exist for every rule the reconciler has, in zh-CN and en."""
    for tables in (RULE_LABELS, WHAT_TO_CHECK):
        for language in Language:
            assert set(tables[language]) == set(RULE_NAMES)
