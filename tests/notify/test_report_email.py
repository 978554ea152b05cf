"""Reports by e-mail to a real SMTP server (aiosmtpd, STARTTLS or implicit TLS, AUTH) on both stores:
the received message's parts and headers, the inline chart, the attachments read back with openpyxl
and csv, numbers that match the store, and both languages."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from typing import Any

import openpyxl
import pytest

from orderbridge.config.loader import parse_config
from orderbridge.notify.service import Notifier
from orderbridge.storage import discrepancies, outbox
from orderbridge.storage.db import Store


def config_text(server: Any, language: str = "zh-CN", **report: str) -> str:
    extra = "".join(f"    {k}: {v}\n" for k, v in report.items())
    return (
        server.smtp_yaml()
        + "reports:\n  finance:\n    to: [finance@example.com]\n    cc: [audit@example.com]\n"
        + f"    timezone: Asia/Shanghai\n    language: {language}\n    only: all_open\n{extra}"
    )


def notifier_for(store: Store, text: str, world: Any) -> Notifier:
    cfg = parse_config(text)
    from orderbridge.reconciler.settings import ReconcileSettings

    return Notifier(
        store, cfg.smtp, cfg.reports, cfg.alerts, ReconcileSettings.model_validate(world.reconcile)
    )


def parts(message: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for part in message.walk():
        found.setdefault(part.get_content_type(), part)
    return found


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_report_arrives_with_text_html_chart_and_attachments(
    store: Store, now: datetime, smtp_server: Any, world: Any, language: str
) -> None:
    """A report sent over STARTTLS with AUTH arrives as multipart/mixed: text and HTML alternatives,
    the chart inline by Content-ID, an XLSX and a CSV whose rows and amounts are the store's."""
    world.populate(store, now)
    world.reconciler(store).run(now)
    with store.engine.connect() as conn:
        open_now = discrepancies.listing(conn, status="open")
    assert len(open_now) == 4
    notify = notifier_for(store, config_text(smtp_server, language), world)

    item = notify.queue_report("finance", now)
    assert item is not None
    result = notify.send(now)
    assert result.sent == [item] and not result.failed

    assert len(smtp_server.handler.received) == 1
    received = smtp_server.handler.received[0]
    assert received.envelope_from == "bot@example.com"
    assert sorted(received.recipients) == ["audit@example.com", "finance@example.com"]
    mail = received.message
    assert mail.get_content_type() == "multipart/mixed"
    assert mail["To"] == "finance@example.com" and mail["Cc"] == "audit@example.com"
    assert mail["Message-ID"].startswith("<orderbridge.") and mail["Message-ID"].endswith("@example.com>")
    with store.engine.connect() as conn:
        assert outbox.get(conn, item).message_id == mail["Message-ID"]  # type: ignore[union-attr]
    found = parts(mail)
    assert {
        "multipart/alternative",
        "multipart/related",
        "text/plain",
        "text/html",
        "image/png",
        "text/csv",
    } <= set(found)
    html = found["text/html"].get_content()
    chart = found["image/png"]
    assert chart["Content-ID"] == "<chart>" and 'src="cid:chart"' in html
    assert chart.get_payload(decode=True).startswith(b"\x89PNG\r\n\x1a\n")
    text = found["text/plain"].get_content()
    if language == "zh-CN":
        assert mail["Subject"].startswith("订单差异报告") and "未解决: 4" in text
        assert "金额不符" in html and "180.00 CNY" in html and "已作废" in html
    else:
        assert mail["Subject"].startswith("Order discrepancies") and "Open: 4" in text
        assert "Amount mismatch" in html and "CNY 180.00" in html

    xlsx_part = next(p for p in mail.iter_attachments() if p.get_filename().endswith(".xlsx"))
    book = openpyxl.load_workbook(io.BytesIO(xlsx_part.get_payload(decode=True)))
    sheet = book.active
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width == 16
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert sorted(r[0] for r in rows) == sorted(d.id for d in open_now)
    amounts = {r[1]: r[9] for r in rows}
    assert amounts["SO-000047"] == 180 and isinstance(amounts["SO-000047"], int | float)  # a number
    amount_row = next(i for i, r in enumerate(rows, start=2) if r[1] == "SO-000047")
    assert sheet.cell(row=amount_row, column=10).number_format == "#,##0.00"

    csv_part = next(p for p in mail.iter_attachments() if p.get_filename().endswith(".csv"))
    raw = csv_part.get_payload(decode=True)
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(table) == len(open_now) + 1
    by_order = {row[1]: row for row in table[1:]}
    assert Decimal(by_order["SO-000047"][9]) == Decimal("180.00") and by_order["SO-000047"][10] == "CNY"
    assert "erp: 已作废" in by_order["SO-000044"][6] and "wms: SHIPPED" in by_order["SO-000044"][6]


def test_report_over_implicit_tls(store: Store, now: datetime, smtp_factory: Any, world: Any) -> None:
    """security: tls connects with TLS from the first byte (port 465 style) and logs in."""
    server = smtp_factory("tls")
    server.start()
    world.populate(store, now)
    world.reconciler(store).run(now)
    notify = notifier_for(store, config_text(server, "en"), world)
    item = notify.queue_report("finance", now)
    assert notify.send(now).sent == [item]
    assert len(server.handler.received) == 1


def test_filters_and_new_since_last_report(store: Store, now: datetime, smtp_server: Any, world: Any) -> None:
    """`rules` and `min_severity` leave discrepancies out; the second report counts as new only what
    opened since the first, and lists only those with only: new_and_open."""
    from datetime import timedelta

    world.populate(store, now)
    world.reconciler(store).run(now)
    text = config_text(smtp_server, "en", rules="[amount_mismatch, status_conflict]", min_severity="warning")
    notify = notifier_for(store, text.replace("only: all_open", "only: new_and_open"), world)
    first = notify.queue_report("finance", now)
    notify.send(now)
    later = now + timedelta(hours=2)
    world.observe(store, "wms", "SO-000099", later - timedelta(hours=1), fulfillment=("shipped", "SHIPPED"))
    world.observe(store, "erp", "SO-000099", later - timedelta(hours=1), fulfillment=("cancelled", "已作废"))
    world.reconciler(store).run(later)
    second = notify.queue_report("finance", later)
    assert first is not None and second is not None
    notify.send(later)
    assert len(smtp_server.handler.received) == 2
    with store.engine.connect() as conn:
        payload = outbox.get(conn, second).payload  # type: ignore[union-attr]
    assert payload["open"] == 4 and payload["new"] == 1  # 3 conflicts + 1 amount; quantity left out
    html = parts(smtp_server.handler.received[1].message)["text/html"].get_content()
    assert "SO-000099" in html and "SO-000047" not in html  # the table: new ones only
    assert "Quantity mismatch" not in html
