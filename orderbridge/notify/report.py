"""A discrepancy report: what it holds (gathered from the store as of one moment), and the e-mail
it becomes — plain text and HTML from Jinja2 templates, an inline chart, XLSX and CSV attachments.
`queue_report` writes it to the outbox in the transaction that reads the data, so the report
("what was open at 08:00") and the record that it was made are one fact."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime as rfc2822
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import Connection

from orderbridge.notify.chart import age_chart
from orderbridge.notify.i18n import (
    AGE_BANDS,
    Language,
    age_band,
    format_age,
    format_amount,
    format_date,
    format_datetime,
    format_hours,
    format_share,
    label,
    rule_label,
    what_to_check,
)
from orderbridge.notify.mail import SmtpSettings, addresses, header_address, message_id
from orderbridge.notify.settings import ReportSettings
from orderbridge.notify.sheets import Cell, Column, to_csv, to_xlsx
from orderbridge.reconciler import stats as stats_module
from orderbridge.reconciler.settings import ReconcileSettings
from orderbridge.reconciler.types import SEVERITY_ORDER
from orderbridge.storage import discrepancies as repo
from orderbridge.storage import outbox
from orderbridge.storage.discrepancies import Discrepancy

CHART_CID = "chart"
_env = Environment(
    loader=PackageLoader("orderbridge.notify", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass
class Row:
    """One discrepancy as the report shows it."""

    id: int
    order_key: str
    rule: str
    severity: str
    status: str
    systems: list[str]
    says: dict[str, str]  # system -> what it says, in its own words
    summary: str
    opened_at: datetime
    age: Any  # timedelta
    difference: Decimal | None
    currency: str | None
    new: bool


@dataclass
class ReportData:
    name: str
    settings: ReportSettings
    as_of: datetime
    previous: datetime | None
    rows: list[Row]  # every open discrepancy the report covers, oldest first
    resolved_since: int
    stats: stats_module.Stats
    amount_at_stake: dict[str, Decimal] = field(default_factory=dict)

    @property
    def language(self) -> Language:
        return self.settings.language

    @property
    def table_rows(self) -> list[Row]:
        if self.settings.only == "all_open":
            return self.rows
        return [row for row in self.rows if row.new]

    @property
    def new_count(self) -> int:
        return sum(1 for row in self.rows if row.new)

    def by_rule(self) -> dict[str, int]:
        return dict(sorted(Counter(row.rule for row in self.rows).items()))

    def by_system(self) -> dict[str, int]:
        return dict(sorted(Counter(s for row in self.rows for s in row.systems).items()))

    def by_rule_and_age(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        for row in self.rows:
            band = age_band(row.age)
            counts[row.rule][band] = counts[row.rule].get(band, 0) + 1
        return dict(sorted(counts.items()))


@dataclass
class Rendered:
    subject: str
    text: str
    html: str
    chart: bytes
    xlsx: bytes | None
    csv: bytes | None
    file_stem: str


def gather(
    conn: Connection,
    name: str,
    settings: ReportSettings,
    reconcile: ReconcileSettings,
    now: datetime,
    previous: datetime | None,
) -> ReportData:
    """What report `name` says as of `now`; `previous` is when the last one was made (None: first)."""
    floor = SEVERITY_ORDER[settings.min_severity]

    def covered(found: Discrepancy) -> bool:
        in_rules = settings.rules is None or found.rule in settings.rules
        return in_rules and SEVERITY_ORDER.get(found.severity, 0) >= floor

    rows = [_row(found, now, previous) for found in repo.listing(conn, status="open") if covered(found)]
    resolved = 0
    if previous is not None:
        resolved = sum(1 for found in repo.resolved_since(conn, previous) if covered(found))
    at_stake: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        if row.difference is not None:
            at_stake[row.currency or ""] += abs(row.difference)
    return ReportData(
        name=name,
        settings=settings,
        as_of=now,
        previous=previous,
        rows=rows,
        resolved_since=resolved,
        stats=stats_module.compute(conn, reconcile, now, zone=settings.zone),
        amount_at_stake=dict(sorted(at_stake.items())),
    )


def render(data: ReportData) -> Rendered:
    language, zone = data.language, data.settings.zone
    title = label(language, "report_title")
    subject = data.settings.subject or f"{title} — {format_date(data.as_of, language, zone)}"
    context = _context(data, subject)
    bands = [band for band, _ in AGE_BANDS]
    columns, cells = sheet_rows(data)
    stem = f"{data.name}-{data.as_of.astimezone(zone):%Y%m%d-%H%M}"
    return Rendered(
        subject=subject,
        text=_env.get_template("report.txt.j2").render(context),
        html=_env.get_template("report.html.j2").render(context),
        chart=age_chart(data.by_rule_and_age(), bands),
        xlsx=to_xlsx(label(language, "table"), columns, cells) if "xlsx" in data.settings.attach else None,
        csv=to_csv(columns, cells) if "csv" in data.settings.attach else None,
        file_stem=stem,
    )


def message(
    rendered: Rendered, settings: ReportSettings, smtp: SmtpSettings | None, key: str, now: datetime
) -> EmailMessage:
    """The e-mail: multipart/mixed [alternative [text, related [html, chart]], xlsx, csv]."""
    sender = smtp.sender if smtp is not None else "orderbridge <orderbridge@localhost>"
    domain = smtp.domain if smtp is not None else "localhost"
    mail = EmailMessage()
    mail["Subject"] = rendered.subject
    mail["From"] = header_address(sender)
    mail["To"] = ", ".join(settings.to)
    if settings.cc:
        mail["Cc"] = ", ".join(settings.cc)
    mail["Date"] = rfc2822(now)
    mail["Message-ID"] = message_id(key, domain)
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(rendered.text, cte="quoted-printable")
    mail.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    html_part = next(p for p in mail.iter_parts() if p.get_content_type() == "text/html")
    html_part.add_related(
        rendered.chart, maintype="image", subtype="png", cid=f"<{CHART_CID}>", filename="chart.png"
    )
    if rendered.xlsx is not None:
        mail.add_attachment(
            rendered.xlsx,
            maintype="application",
            subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            filename=f"{rendered.file_stem}.xlsx",
        )
    if rendered.csv is not None:
        mail.add_attachment(
            rendered.csv, maintype="text", subtype="csv", filename=f"{rendered.file_stem}.csv"
        )
    return mail


def recipients(settings: ReportSettings) -> list[str]:
    return addresses([*settings.to, *settings.cc])


def previous_report(conn: Connection, name: str) -> datetime | None:
    last = outbox.latest(conn, outbox.REPORT, f"report:{name}")
    if last is None:
        return None
    return datetime.fromisoformat(last.payload["as_of"])


def queue_report(
    conn: Connection,
    name: str,
    settings: ReportSettings,
    reconcile: ReconcileSettings,
    smtp: SmtpSettings | None,
    now: datetime,
    slot: str,
) -> int | None:
    """Make report `name` for `slot` (its scheduled time, or a one-off's own) and queue it; None when
    that slot's report exists already, or when `skip_empty` and nothing matches."""
    key = f"report:{name}:{slot}"
    if outbox.existing_keys(conn, [key]):
        return None
    data = gather(conn, name, settings, reconcile, now, previous_report(conn, name))
    if settings.skip_empty and not data.rows and not data.resolved_since:
        return None
    rendered = render(data)
    mail = message(rendered, settings, smtp, key, now)
    return outbox.add(
        conn,
        kind=outbox.REPORT,
        channel=f"report:{name}",
        recipient=", ".join(settings.to),
        subject=rendered.subject,
        body=mail.as_string(policy=SMTP),
        payload={
            "as_of": now.isoformat(),
            "slot": slot,
            "recipients": recipients(settings),
            "open": len(data.rows),
            "new": data.new_count,
            "resolved": data.resolved_since,
        },
        now=now,
        dedupe_key=key,
        message_id=str(mail["Message-ID"]),
    )


def sheet_rows(data: ReportData) -> tuple[list[Column], list[list[Cell]]]:
    language, zone = data.language, data.settings.zone
    columns = [
        Column(label(language, "id"), 8),
        Column(label(language, "order"), 16),
        Column(label(language, "rule"), 18),
        Column(label(language, "severity"), 10),
        Column(label(language, "status"), 12),
        Column(label(language, "system"), 18),
        Column(label(language, "systems_say"), 48),
        Column(label(language, "opened"), 17, "yyyy-mm-dd hh:mm"),
        Column(label(language, "age") + (" (天)" if language is Language.zh_cn else " (days)"), 10, "0.0"),
        Column(label(language, "amount_difference"), 16, "#,##0.00"),
        Column("币种" if language is Language.zh_cn else "Currency", 9),
        Column(label(language, "what_to_check"), 48),
        Column(label(language, "summary_text"), 60),
    ]
    cells: list[list[Cell]] = [
        [
            row.id,
            row.order_key,
            rule_label(language, row.rule),
            label(language, f"severity_{row.severity}"),
            label(language, f"status_{row.status}"),
            ", ".join(row.systems),
            "\n".join(
                f"{system}: {text or label(language, 'says_nothing')}" for system, text in row.says.items()
            ),
            row.opened_at.astimezone(zone),
            Decimal(str(round(row.age.total_seconds() / 86400, 1))),
            row.difference,
            row.currency,
            what_to_check(language, row.rule),
            row.summary,
        ]
        for row in data.rows
    ]
    return columns, cells


def _context(data: ReportData, subject: str) -> dict[str, Any]:
    language, zone = data.language, data.settings.zone

    def t(key: str, **values: object) -> str:
        return label(language, key, **values)

    shown = data.table_rows[: data.settings.max_rows]
    stages = [
        {
            "stage": s.stage if s.dimension == "fulfillment" else f"{s.dimension}.{s.stage}",
            "orders": s.orders,
            "average": format_hours(s.average_hours, language),
            "p90": format_hours(s.p90_hours, language),
            "within_sla": format_share(s.within_sla),
            "waiting": s.waiting_now,
        }
        for s in data.stats.stages
        if s.orders or s.waiting_now
    ]
    longest = data.stats.longest_wait
    return {
        "t": t,
        "subject": subject,
        "title": t("report_title"),
        "as_of": format_datetime(data.as_of, language, zone),
        "previous": format_datetime(data.previous, language, zone) if data.previous else None,
        "open": len(data.rows),
        "new": data.new_count,
        "resolved": data.resolved_since,
        "at_stake": [format_amount(v, c or None, language) for c, v in data.amount_at_stake.items()],
        "by_rule": [(rule_label(language, r), n) for r, n in data.by_rule().items()],
        "by_system": list(data.by_system().items()),
        "chart_cid": CHART_CID,
        "table_title": t("table_all") if data.settings.only == "all_open" else t("table_new"),
        "rows": [_row_context(row, language, zone) for row in shown],
        "more": len(data.table_rows) - len(shown) + (len(data.rows) - len(data.table_rows)),
        "hidden": len(data.table_rows) - len(shown),
        "stages": stages,
        "longest": (
            {
                "stage": longest["stage"],
                "average": format_hours(longest["average_hours"], language),
            }
            if longest
            else None
        ),
        "attachments": bool(data.settings.attach),
        "trend": _trend(data, t),
    }


def _row_context(row: Row, language: Language, zone: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "order": row.order_key,
        "rule": rule_label(language, row.rule),
        "severity": row.severity,
        "severity_label": label(language, f"severity_{row.severity}"),
        "says": [(system, text or label(language, "says_nothing")) for system, text in row.says.items()],
        "age": format_age(row.age, language),
        "opened": format_datetime(row.opened_at, language, zone),
        "difference": format_amount(row.difference, row.currency, language)
        if row.difference is not None
        else "",
        "check": what_to_check(language, row.rule),
        "new": row.new,
        "summary": row.summary,
    }


def _row(found: Discrepancy, now: datetime, previous: datetime | None) -> Row:
    difference, currency = amount_difference(found)
    return Row(
        id=found.id,
        order_key=found.order_key,
        rule=found.rule,
        severity=found.severity,
        status=found.status,
        systems=list(found.systems),
        says=says(found),
        summary=found.summary,
        opened_at=found.opened_at,
        age=now - min(found.since, found.opened_at),  # how long the problem has been there
        difference=difference,
        currency=currency,
        new=previous is None or found.opened_at > previous,
    )


def _record_words(record: dict[str, Any]) -> str:
    native = record.get("native_status")
    words = [str(w) for w in native.values() if w] if isinstance(native, dict) else []
    return f"{record.get('record_id')}" + (f" ({' / '.join(words)})" if words else "")


def says(found: Discrepancy) -> dict[str, str]:
    """What each involved system says, in its own words: its native status, and the numbers the
    rule compared."""
    details = found.details
    checks = details.get("checks") or ([details] if "measured" in details else [])
    numbers: dict[str, list[str]] = defaultdict(list)
    for check in checks:
        for side in ("measured", "expected"):
            fact = check.get(side)
            if isinstance(fact, dict) and fact.get("system"):
                text = f"{fact.get('what')} {fact.get('value')}" + (
                    f" {fact['currency']}" if fact.get("currency") else ""
                )
                if text not in numbers[fact["system"]]:
                    numbers[fact["system"]].append(text)
    said: dict[str, str] = {}
    for system in found.systems:
        statement = details.get(system)
        parts: list[str] = []
        records = statement.get("records") if isinstance(statement, dict) else None
        if isinstance(records, list):  # duplicate: the system's several records, each with its words
            parts.append(", ".join(_record_words(r) for r in records if isinstance(r, dict)))
        elif isinstance(statement, dict):
            # A statement of one dimension, or (status_conflict) one statement per dimension.
            nested = [v for v in statement.values() if isinstance(v, dict)]
            for said_here in nested or [statement]:
                status = said_here.get("native") or said_here.get("status")
                if not status and not nested:
                    status = statement.get("fulfillment") or statement.get("billing")
                if status:
                    parts.append(str(status))
        parts.extend(numbers.get(system, []))
        said[system] = "; ".join(parts)  # empty: the system has no record of it
    return said


def amount_difference(found: Discrepancy) -> tuple[Decimal | None, str | None]:
    """The largest amount difference an amount mismatch found, with its currency."""
    if found.rule != "amount_mismatch":
        return None, None
    details = found.details
    checks = details.get("checks") or [details]
    best: tuple[Decimal | None, str | None] = (None, None)
    for check in checks:
        try:
            value = Decimal(str(check.get("difference")))
        except (InvalidOperation, ValueError):
            continue
        currency = (check.get("measured") or {}).get("currency") or (check.get("expected") or {}).get(
            "currency"
        )
        if best[0] is None or abs(value) > abs(best[0]):
            best = (value.quantize(Decimal("0.01")), currency)
    return best


def _trend(data: ReportData, t: Any) -> list[tuple[str, int]]:
    """Open discrepancies of the report's rules at the end of every seventh day, oldest first."""
    days = data.stats.open_by_day
    wanted = data.settings.rules
    points = []
    for index, day in enumerate(days):
        back = len(days) - 1 - index
        if back % 7:
            continue
        total = sum(n for rule, n in day.by_rule.items() if wanted is None or rule in wanted)
        points.append((t("days_ago", days=back) if back else t("today"), total))
    return points
