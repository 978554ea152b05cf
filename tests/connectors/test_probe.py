"""`orderbridge probe`: one page of a real local server (or one file) read through the connector,
nothing stored, and a report that shows a wrong field path (with the path it probably meant), an
unmapped status word, and what the answer says about a next page; `check-config --probe` probes all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from orderbridge.config.loader import load_config
from orderbridge.connectors.base import ConnectorContext
from orderbridge.connectors.probe import probe

# Shopify REST orders, as in Shopify/shopify_python_api test/fixtures/orders.json (trimmed).
SHOPIFY_ORDERS = {
    "orders": [
        {
            "id": 450789469,
            "name": "#1001",
            "order_number": 1001,
            "financial_status": "authorized",
            "fulfillment_status": None,
            "updated_at": "2008-01-10T11:00:00-05:00",
            "total_price": "598.94",
        },
        {
            "id": 450789470,
            "name": "#1002",
            "order_number": 1002,
            "financial_status": "paid",
            "fulfillment_status": "fulfilled",
            "updated_at": "2008-01-11T11:00:00-05:00",
            "total_price": "10.00",
        },
        {
            "id": 450789471,
            "name": "#1003",
            "order_number": 1003,
            "financial_status": "paid",
            "fulfillment_status": "partial",
            "updated_at": "2008-01-12T11:00:00-05:00",
            "total_price": "20.00",
        },
    ]
}
NEXT = (
    "<https://shop.myshopify.com/admin/api/2025-10/orders.json?limit=3&page_info=eyJsYXN0X2lkIjo0NTA3ODk0NzF9>;"
    ' rel="next"'
)


def shop(seen: Any) -> tuple[Any, ...]:
    return 200, SHOPIFY_ORDERS, [("Link", NEXT)]


def config(tmp_path: Path, url: str, order_field: str = "order_name") -> Path:
    path = tmp_path / "orderbridge.yaml"
    path.write_text(
        f"""
store: {{url: "sqlite:///{tmp_path / "ob.db"}"}}
systems:
  shop:
    type: rest
    base_url: {url}/admin/api/2025-10
    auth: {{type: bearer, token: "${{SHOPIFY_TOKEN}}", header: X-Shopify-Access-Token, scheme: ""}}
    list: {{path: /orders.json, params: {{status: any, limit: 3}}, records: orders}}
    order_id: {{field: {order_field}, pattern: '(\\d+)$', format: 'SO-{{0:0>6}}'}}
    fields: {{record_id: id, updated: updated_at, order_amount: total_price}}
    status:
      - {{dimension: fulfillment, field: fulfillment_status, map: {{fulfilled: shipped}}}}
      - {{dimension: billing, field: financial_status, map: {{paid: paid, authorized: unbilled}}}}
""",
        encoding="utf-8",
    )
    return path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHOPIFY_TOKEN": "shpat_probe-7781", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "orderbridge", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_probe_shows_a_wrong_field_path_and_an_unmapped_status_word(tmp_path: Path, live_server: Any) -> None:
    """Against a real server: `order_name` (the orders have `name`) found in 0 of 3 records with a
    suggestion, `partial` not in the fulfilment table, the Link header's next page, the page read
    once with the token, exit 1 — and nothing stored."""
    server = live_server(shop)
    result = cli("probe", "shop", "-c", str(config(tmp_path, server.url)))
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "order (order_id.field)" in out and "order_name" in out and "0/3" in out
    assert "did you mean: order_number, name" in out
    assert "not in the fulfillment table: partial" in out
    assert "billing status words on this page: paid (2), authorized (1)" in out
    assert 'Link header rel="next"' in out
    assert (
        "problem: order (order_id.field): no record has 'order_name' (did you mean 'order_number', 'name'?)"
        in result.stderr
    )
    assert (
        "problem: fulfillment status: 1 records with words the table does not map: 'partial'" in result.stderr
    )
    assert "shpat_probe-7781" not in out + result.stderr
    assert len(server.seen) == 1 and server.seen[0].headers["x-shopify-access-token"] == "shpat_probe-7781"
    assert not (tmp_path / "ob.db").exists()


def test_probe_of_a_correct_config_finds_everything_and_shows_examples(
    tmp_path: Path, live_server: Any
) -> None:
    """With the right path every field is found (3/3) with example values; JSON output for programs."""
    server = live_server(shop)
    path = config(tmp_path, server.url, order_field="name")
    report = probe(
        "shop", load_config(path, environ={"SHOPIFY_TOKEN": "t"}).config.systems["shop"], ConnectorContext()
    )
    found = {f.path: (f.found, f.examples) for f in report.fields}
    assert found["name"] == (3, ["#1001", "#1002", "#1003"])
    assert found["total_price"] == (3, ["598.94", "10.00", "20.00"])
    assert (
        report.source.startswith("GET 127.0.0.1:")
        and "/admin/api/2025-10/orders.json?status=any&limit=3" in report.source
    )
    assert [p for p in report.problems if "order" in p] == []
    result = cli("probe", "shop", "-c", str(path), "--format", "json")
    data = json.loads(result.stdout)
    assert data["records"] == 3
    assert "fulfillment status: 1 records with words the table does not map: 'partial'" in data["problems"]


def test_probe_of_a_spreadsheet_reads_one_file(tmp_path: Path) -> None:
    """A sheet's probe reads one file: its column names are the paths; a column the file lacks is
    the problem reported, with the headers the file has."""
    (tmp_path / "sheets").mkdir()
    (tmp_path / "sheets" / "po.csv").write_text("订单号,状态\nPO-1,已发货\nPO-2,待发\n", encoding="utf-8")
    path = tmp_path / "orderbridge.yaml"
    path.write_text(
        """
systems:
  purchasing:
    type: spreadsheet
    path: sheets/*.csv
    columns: {order: 订单号, status: 状态}
    status: {dimension: fulfillment, map: {已发货: shipped}}
""",
        encoding="utf-8",
    )
    loaded = load_config(path)
    report = probe("purchasing", loaded.config.systems["purchasing"], ConnectorContext(base_dir=tmp_path))
    assert report.source == "po.csv" and report.records == 2
    assert report.statuses[0].unmapped == {"待发": 1}
    path.write_text(
        path.read_text(encoding="utf-8").replace("状态}", "状态, updated: 更新时间}"), encoding="utf-8"
    )
    report = probe(
        "purchasing", load_config(path).config.systems["purchasing"], ConnectorContext(base_dir=tmp_path)
    )
    assert report.records == 0
    assert any("'更新时间' (updated) not found; headers are: 订单号, 状态" in p for p in report.problems)


def test_check_config_probe_probes_every_system_and_says_which_failed(
    tmp_path: Path, live_server: Any
) -> None:
    """`check-config --probe`: the config is valid, each system is read once, and a source that cannot
    be reached is a problem naming its host; exit 1."""
    server = live_server(shop)
    path = config(tmp_path, server.url, order_field="name")
    text = (
        path.read_text(encoding="utf-8")
        + """
  gone:
    type: rest
    base_url: http://127.0.0.1:9/api
    list: {path: /orders}
    retry: {attempts: 1}
"""
    )
    path.write_text(text, encoding="utf-8")
    result = cli("check-config", "-c", str(path), "--probe")
    assert result.returncode == 1
    assert "valid — 2 systems" in result.stdout and "shop: GET 127.0.0.1" in result.stdout
    assert (
        "problem: gone: gone: GET 127.0.0.1:9/api/orders failed: cannot connect to 127.0.0.1:9"
        in result.stderr
    )
