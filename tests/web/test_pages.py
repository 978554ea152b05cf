"""What the staff pages show, read over a real socket after logging in: the board's filters, the
search, the stages page's numbers (those of `orderbridge stats`) and the systems page's health and
quarantined records; and the password hashes the logins rest on."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from rich.console import Console
from typer.testing import CliRunner
from web_client import USER, Serve, csrf_of, log_in, records

from orderbridge.config.errors import ConfigError
from orderbridge.config.loader import LoadedConfig, load_config, parse_config
from orderbridge.demo.scenario import demo_phone
from orderbridge.notify.i18n import Language, format_age, format_hours, format_share
from orderbridge.reconciler import stats
from orderbridge.scheduler.cli import app
from orderbridge.scheduler.demo import run_demo
from orderbridge.storage import discrepancies, health, observations, quarantine
from orderbridge.storage.db import Store
from orderbridge.web.passwords import hash_password, verify_password

from .conftest import demo_site

ROW = re.compile(r'<tr class="sev-(\w+)" id="d-(\d+)" data-rule="(\w+)">')


def rows(html: str) -> list[tuple[str, int, str]]:
    return [(severity, int(number), rule) for severity, number, rule in ROW.findall(html)]


def open_discrepancies(demo: LoadedConfig) -> list[discrepancies.Discrepancy]:
    store = Store(demo.config.store.url, demo.base_dir)
    try:
        with store.engine.connect() as conn:
            return discrepancies.listing(conn)
    finally:
        store.close()


def test_the_boards_filters_keep_what_they_say(serve_web: Serve, demo: LoadedConfig) -> None:
    """Each filter keeps exactly the open discrepancies it names (checked against the store), most
    urgent first; an htmx request gets the board alone, to swap in place."""
    found = open_discrepancies(demo)
    now = datetime.now(UTC)
    with serve_web() as url, httpx.Client(base_url=url) as client:
        log_in(client)
        board = rows(client.get("/").text)
        by = {
            name: rows(client.get("/", params=params).text)
            for name, params in {
                "critical": {"severity": "critical"},
                "billing": {"dimension": "billing"},
                "wms": {"system": "wms"},
                "older than a day": {"age": "1d"},
                "100 or more": {"amount": "100"},
                "10000 or more": {"amount": "10000"},
            }.items()
        }
        fragment = client.get("/", params={"rule": "stuck"}, headers={"HX-Request": "true"}).text
    assert {number for _, number, _ in board} == {d.id for d in found}
    severities = [severity for severity, _, _ in board]
    assert severities == sorted(severities, key=["critical", "warning", "info"].index)
    assert {n for _, n, _ in by["critical"]} == {d.id for d in found if d.severity == "critical"}
    assert {n for _, n, _ in by["billing"]} == {d.id for d in found if d.dimension == "billing"}
    assert {n for _, n, _ in by["wms"]} == {d.id for d in found if "wms" in d.systems}
    assert {n for _, n, _ in by["older than a day"]} == {
        d.id for d in found if now - d.since >= timedelta(days=1)
    }
    assert by["critical"] and by["billing"] and by["wms"] and by["older than a day"]
    assert [rule for _, _, rule in by["100 or more"]] == ["amount_mismatch"]  # 180.00 CNY apart
    assert by["10000 or more"] == []
    assert fragment.startswith('<div id="board"') and "<html" not in fragment
    assert {rule for _, _, rule in rows(fragment)} == {"stuck"}


def test_the_language_link_keeps_the_pages_filters(serve_web: Serve, demo: LoadedConfig) -> None:
    """Switching language on a filtered board shows the same rows in the other language."""
    with serve_web() as url, httpx.Client(base_url=url) as client:
        log_in(client)
        english = client.get("/", params={"rule": "stuck", "lang": "en"}).text
        link = re.search(r'<a class="lang" href="([^"]+)">', english)
        assert link is not None
        chinese = client.get("/" + link.group(1).replace("&amp;", "&"))
    assert "rule=stuck" in link.group(1) and "lang=zh-CN" in link.group(1)
    assert chinese.status_code == 200 and '<html lang="zh-CN">' in chinese.text
    assert rows(chinese.text) == rows(english) and {rule for _, _, rule in rows(english)} == {"stuck"}


def test_search_by_tracking_number_and_an_unknown_number(serve_web: Serve, demo: LoadedConfig) -> None:
    """A tracking number opens its order's page; an unknown number is a 404 naming the closest keys."""
    store = Store(demo.config.store.url, demo.base_dir)
    try:
        with store.engine.connect() as conn:
            held = observations.observations_of(conn, "SO-000041")
    finally:
        store.close()
    tracking = next(obs.links["tracking_number"] for obs in held if obs.links.get("tracking_number"))
    with serve_web() as url, httpx.Client(base_url=url, follow_redirects=True) as client:
        log_in(client)
        found = client.get("/orders", params={"q": tracking})
        unknown = client.get("/orders", params={"q": "SO-00004"})
    assert found.status_code == 200 and "Order SO-000041" in found.text
    assert unknown.status_code == 404 and "No order is known as SO-00004" in unknown.text
    named = re.findall(r'<li><a href="/orders/([^"]+)">', unknown.text)
    assert named and all(re.fullmatch(r"SO-0000\d\d", key) for key in named)


def test_the_stages_page_shows_the_numbers_of_stats(serve_web: Serve, demo: LoadedConfig) -> None:
    """Every stage's row holds the average, 90th percentile and share within SLA that
    `stats.compute` (behind `orderbridge stats`) gives, and each chart is an SVG with those values."""
    store = Store(demo.config.store.url, demo.base_dir)
    try:
        with store.engine.connect() as conn:
            expected = stats.compute(conn, demo.config.reconcile, datetime.now(UTC)).stages
    finally:
        store.close()
    with serve_web() as url, httpx.Client(base_url=url) as client:
        log_in(client)
        page = client.get("/stages").text
    table = re.findall(r"<tr><td>(\w+)</td><td>(\w+)</td>((?:<td>[^<]*</td>)+)</tr>", page)
    shown = {(d, s): re.findall(r"<td>([^<]*)</td>", cells) for d, s, cells in table}
    assert expected and len(shown) == len(expected)
    for stage in expected:
        cells = shown[(stage.dimension, stage.stage)]
        assert cells[0] == str(stage.orders)
        assert cells[1] == format_hours(stage.average_hours, Language.en)
        assert cells[2] == format_hours(stage.p90_hours, Language.en)
        assert cells[3] == format_share(stage.within_sla)
        assert cells[4] == str(stage.waiting_now)
    timed = [s for s in expected if s.average_hours is not None]
    assert page.count("<svg") == 4
    assert all(format_hours(s.average_hours, Language.en) in page for s in timed)


def test_the_systems_page_shows_health_and_quarantined_records(serve_web: Serve, demo: LoadedConfig) -> None:
    """The health the store keeps: a system whose failed polls reached the threshold shows as
    unhealthy with its failures in a row and its last error; a healthy one its lag; a quarantined
    record is listed with its system, place and reason."""
    now = datetime.now(UTC)
    store = Store(demo.config.store.url, demo.base_dir)
    try:
        with store.engine.begin() as conn:
            quarantine.add(
                conn, "finance", "invoices.csv row 9", "amount 'abc' is not a number", {"amount": "abc"}, now
            )
            erp = health.load(conn, "erp")
            for _ in range(3):
                erp, _change = health.failed(erp, "HTTP 503 from the ERP", now, threshold=3)
            health.save(conn, erp, now)
            wms, _change = health.succeeded(health.load(conn, "wms"), now - timedelta(hours=2))
            health.save(conn, wms, now)
            lag = health.listing(conn, ["wms"])[0].lag(now)
    finally:
        store.close()
    with serve_web() as url, httpx.Client(base_url=url) as client:
        log_in(client)
        page = client.get("/systems").text
    erp_row = re.search(r'<tr id="system-erp">(.*?)</tr>', page, re.S)
    wms_row = re.search(r'<tr id="system-wms">(.*?)</tr>', page, re.S)
    carrier = re.search(r'<tr id="system-carrier">(.*?)</tr>', page, re.S)
    assert erp_row and wms_row and carrier
    assert "unhealthy since" in erp_row.group(1) and "<td>3</td>" in erp_row.group(1)
    assert "HTTP 503 from the ERP" in erp_row.group(1)
    assert "healthy" in wms_row.group(1) and "unhealthy" not in wms_row.group(1)
    assert lag is not None and f"<td>{format_age(timedelta(seconds=lag), Language.en)}</td>" in wms_row.group(
        1
    )
    assert "pushes (not polled)" in carrier.group(1)
    assert "invoices.csv row 9" in page and "amount &#39;abc&#39; is not a number" in page


def test_hash_password_makes_a_hash_the_login_accepts() -> None:
    """`orderbridge hash-password` prints a scrypt hash of the password it reads (never the password);
    a short password is refused; the config refuses a plain password where a hash belongs."""
    made = CliRunner().invoke(app, ["hash-password", "--stdin"], input="correct horse battery\n")
    short = CliRunner().invoke(app, ["hash-password", "--stdin"], input="short\n")
    assert made.exit_code == 0 and "correct horse" not in made.stdout
    printed = made.stdout.strip()
    assert verify_password("correct horse battery", printed)
    assert not verify_password("correct horse batterY", printed)
    assert short.exit_code == 2 and "at least 8 characters" in short.stderr
    assert hash_password("x") != hash_password("x")  # salted
    with pytest.raises(ConfigError) as refused:
        parse_config("server:\n  users:\n    li.wei: hunter2-plain\n")
    assert "server.users" in str(refused.value) and "hash-password" in str(refused.value)
    assert "hunter2-plain" not in str(refused.value)


def test_the_track_page_must_name_a_configured_system() -> None:
    """`server.track.system` naming no configured system is refused at start, with its place."""
    text = (
        "systems:\n  shop:\n    type: spreadsheet\n    path: orders.csv\n    order_id: {field: no}\n"
        "    status: {dimension: fulfillment, field: state, map: {paid: placed}}\n"
        "server:\n  track: {enabled: true, system: shopp, field: email}\n"
    )
    with pytest.raises(ConfigError) as refused:
        parse_config(text)
    assert "server.track.system" in str(refused.value) and "configured: shop" in str(refused.value)


def test_acting_and_looking_up_on_each_store(store_url: str, tmp_path: Path) -> None:
    """On SQLite and on PostgreSQL: an acknowledgement from the board lands in the discrepancy's
    history with the user's name, the order page shows it, and the customers' page finds an order by
    the second factor read from the stored record."""
    with open(tmp_path / "out.txt", "w", encoding="utf-8") as out:
        assert run_demo(tmp_path / "demo", console=Console(file=out), store_url=store_url) == 0
    demo = load_config(tmp_path / "demo" / "orderbridge.yaml")
    target = open_discrepancies(demo)[0]
    with demo_site(demo) as url, httpx.Client(base_url=url) as client:
        log_in(client)
        token = csrf_of(client.get("/").text)
        done = client.post(f"/discrepancies/{target.id}/ack", data={"csrf": token, "note": "on it"})
        order = client.get(f"/orders/{target.order_key}").text
        erp = records(demo, "SO-000041")["erp"]
        found = httpx.post(f"{url}/track", data={"order": erp.order_ref, "factor": demo_phone(41)[-4:]})
        hostile = [
            client.post(f"/discrepancies/{10**20}/ack", data={"csrf": token}),
            client.get("/orders/%00"),
            client.get("/orders", params={"q": "\x00" + "9" * 300}),
            client.get("/", params={"amount": "NaN", "age": "\x00", "rule": "x" * 500}),
            httpx.post(
                f"{url}/track",
                content=b"order=%00%00SO&factor=%ED%A0%80%FF",  # NULs, a lone surrogate, a stray byte
                headers={"content-type": "application/x-www-form-urlencoded"},
            ),
        ]
    assert done.status_code == 303
    assert [page.status_code < 500 for page in hostile] == [True] * len(hostile)
    store = Store(demo.config.store.url, demo.base_dir)
    try:
        with store.engine.connect() as conn:
            after = discrepancies.get(conn, target.id)
    finally:
        store.close()
    assert after is not None and after.status == "acknowledged"
    assert [(e.kind, e.actor, e.details) for e in after.events][-1] == (
        "acknowledged",
        USER,
        {"note": "on it"},
    )
    assert re.search(r'class="event-acknowledged">[^<]+ · by <b class="actor">demo</b>: “on it”', order)
    assert '<li class="done"><b>Delivered</b>' in found.text
