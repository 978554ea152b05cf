"""The demo's simulated world: the ERP and WMS servers, the scenario, its spreadsheets and its config."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
import yaml

from orderbridge.config.models import ServerSettings
from orderbridge.connectors.auth_settings import ApiKeySettings, BearerSettings
from orderbridge.connectors.base import SystemSettings, build_record
from orderbridge.connectors.registry import REGISTRY
from orderbridge.connectors.rest.settings import RestSettings
from orderbridge.connectors.spreadsheet.settings import SpreadsheetSettings
from orderbridge.demo.config import DEMO_CREDENTIALS, FINANCE_FILE, PURCHASING_FILE, write_demo_config
from orderbridge.demo.scenario import (
    FINANCE_HEADERS,
    PURCHASING_HEADERS,
    PURCHASING_SHEET,
    Scenario,
    build_scenario,
    load_erp,
    load_wms,
    write_finance_csv,
    write_purchasing_xlsx,
    write_spreadsheets,
)
from orderbridge.demo.simulators import SimulatedERP, SimulatedWMS
from orderbridge.mapping.ids import OrderIdError, normalise_order_id
from orderbridge.mapping.model import UNMAPPED, Dimension
from orderbridge.mapping.status import map_statuses
from orderbridge.reconciler.settings import ReconcileSettings
from orderbridge.web.passwords import verify_password

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
ERP_AUTH = {"Authorization": f"Bearer {DEMO_CREDENTIALS.erp_token}"}
WMS_AUTH = {"X-Api-Key": DEMO_CREDENTIALS.wms_api_key}


@pytest.fixture
def scenario() -> Scenario:
    return build_scenario(NOW)


def erp_record(record_id: int, modified: str) -> dict[str, Any]:
    return {
        "id": record_id,
        "bill_no": f"SO-2026-{record_id:04d}",
        "status": "备货中",
        "modified": modified,
        "amount": "100.00",
        "currency": "CNY",
        "qty": 1,
        "customer_po": None,
    }


# -- the ERP -------------------------------------------------------------------------------------


def test_erp_pages_over_a_real_socket() -> None:
    """Page numbers start at 1, pages hold page_size records, total counts all, order is modified then id."""
    records = [erp_record(i, f"2026-11-22 08:0{i % 4}:00") for i in range(1, 8)]
    with SimulatedERP(reversed(records)) as erp, httpx.Client(base_url=erp.url, headers=ERP_AUTH) as client:
        seen: list[int] = []
        for page in (1, 2, 3, 4):
            body = client.get("/api/v1/sale-orders", params={"page": page, "page_size": 3}).json()
            assert body["code"] == 0 and body["message"] == "ok"
            assert body["data"]["page"] == page and body["data"]["total"] == 7
            seen.extend(item["id"] for item in body["data"]["items"])
            assert len(body["data"]["items"]) == [3, 3, 1, 0][page - 1]
    expected = sorted(records, key=lambda r: (r["modified"], r["id"]))
    assert seen == [r["id"] for r in expected]
    assert seen[:2] == [4, 1]  # 08:00:00 ties, broken by id


def test_erp_reads_modified_as_shanghai_time() -> None:
    """`modified` has no zone and means Asia/Shanghai: 08:00 there is 00:00 UTC; the bound is inclusive."""
    records = [erp_record(1, "2026-11-22 07:59:59"), erp_record(2, "2026-11-22 08:00:00")]
    with SimulatedERP(records) as erp, httpx.Client(base_url=erp.url, headers=ERP_AUTH) as client:
        for since in ("2026-11-22T00:00:00Z", "2026-11-22T08:00:00+08:00", "2026-11-22T08:00:00"):
            body = client.get("/api/v1/sale-orders", params={"modified_since": since}).json()
            assert [item["id"] for item in body["data"]["items"]] == [2], since
            assert body["data"]["total"] == 1
        all_of_them = client.get("/api/v1/sale-orders", params={"modified_since": "2026-11-21T23:59:59Z"})
        assert [item["id"] for item in all_of_them.json()["data"]["items"]] == [1, 2]


def test_erp_rejects_a_wrong_token_with_401() -> None:
    """A wrong or missing bearer token is refused with HTTP 401 and a JSON body, never with data."""
    with (
        SimulatedERP([erp_record(1, "2026-11-22 08:00:00")]) as erp,
        httpx.Client(base_url=erp.url) as client,
    ):
        wrong = client.get("/api/v1/sale-orders", headers={"Authorization": "Bearer nope"})
        missing = client.get("/api/v1/sale-orders")
    for response in (wrong, missing):
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/json")
        assert "data" not in response.json()


def test_erp_signals_errors_inside_a_200_body() -> None:
    """The session-expired switch answers the next call with HTTP 200 and code 40001, then recovers."""
    with (
        SimulatedERP([erp_record(1, "2026-11-22 08:00:00")]) as erp,
        httpx.Client(base_url=erp.url, headers=ERP_AUTH) as client,
    ):
        erp.body_error_next()
        expired = client.get("/api/v1/sale-orders")
        recovered = client.get("/api/v1/sale-orders")
        too_big = client.get("/api/v1/sale-orders", params={"page_size": 1000})
    assert expired.status_code == 200
    assert expired.json() == {"code": 40001, "message": "session expired"}
    assert recovered.json()["code"] == 0
    assert too_big.status_code == 200 and too_big.json()["code"] != 0


def test_records_changed_between_polls_are_served() -> None:
    """Tests change a simulator's records while it runs; the next request sees the change."""
    with (
        SimulatedERP([erp_record(1, "2026-11-22 08:00:00")]) as erp,
        httpx.Client(base_url=erp.url, headers=ERP_AUTH) as client,
    ):
        assert client.get("/api/v1/sale-orders").json()["data"]["items"][0]["status"] == "备货中"
        erp.update_record(1, status="已发货", modified="2026-11-22 09:00:00")
        erp.add_record(erp_record(2, "2026-11-22 09:30:00"))
        items = client.get("/api/v1/sale-orders").json()["data"]["items"]
    assert [(i["id"], i["status"]) for i in items] == [(1, "已发货"), (2, "备货中")]
    with pytest.raises(KeyError):
        erp.update_record(99, status="已发货")


def test_simulators_write_nothing_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    """Requests, refusals and unknown paths leave the demo's terminal output alone."""
    with SimulatedERP() as erp, SimulatedWMS() as wms, httpx.Client() as client:
        client.get(f"{erp.url}/api/v1/sale-orders", headers=ERP_AUTH)
        client.get(f"{erp.url}/nowhere", headers=ERP_AUTH)
        client.get(f"{wms.url}/v2/outbound-orders")
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


# -- the WMS -------------------------------------------------------------------------------------


def test_wms_cursor_paging_walks_every_record(scenario: Scenario) -> None:
    """Following next_cursor visits every record once, oldest first, and the last page says null."""
    with (
        load_wms(SimulatedWMS(), scenario) as wms,
        httpx.Client(base_url=wms.url, headers=WMS_AUTH) as client,
    ):
        seen: list[str] = []
        params: dict[str, Any] = {"limit": 4}
        for _ in range(100):
            body = client.get("/v2/outbound-orders", params=params).json()
            assert len(body["data"]) <= 4
            seen.extend(item["wms_id"] for item in body["data"])
            if body["next_cursor"] is None:
                break
            params = {"limit": 4, "cursor": body["next_cursor"]}
        else:
            pytest.fail("next_cursor never became null")
    assert sorted(seen) == sorted(r["wms_id"] for r in scenario.wms_records)
    assert len(seen) == len(set(seen))
    times = [next(r["updated_at"] for r in scenario.wms_records if r["wms_id"] == i) for i in seen]
    assert times == sorted(times)


def test_wms_filters_by_updated_after_and_refuses_a_wrong_key(scenario: Scenario) -> None:
    """updated_after keeps strictly later records; a wrong X-Api-Key gets 401; a bad cursor gets 400."""
    cutoff = NOW - timedelta(hours=3)
    with load_wms(SimulatedWMS(), scenario) as wms, httpx.Client(base_url=wms.url) as client:
        recent = client.get(
            "/v2/outbound-orders",
            params={"updated_after": cutoff.isoformat(), "limit": 200},
            headers=WMS_AUTH,
        ).json()
        refused = client.get("/v2/outbound-orders", headers={"X-Api-Key": "wrong"})
        bad_cursor = client.get("/v2/outbound-orders", params={"cursor": "garbage"}, headers=WMS_AUTH)
    expected = {r["wms_id"] for r in scenario.wms_records if datetime.fromisoformat(r["updated_at"]) > cutoff}
    assert {item["wms_id"] for item in recent["data"]} == expected and expected
    assert recent["next_cursor"] is None
    assert refused.status_code == 401 and "error" in refused.json()
    assert bad_cursor.status_code == 400


def test_wms_injected_failures_then_recovery(scenario: Scenario) -> None:
    """fail_next answers with 503 (or 429 with Retry-After) as often as asked, then serves normally."""
    with (
        load_wms(SimulatedWMS(), scenario) as wms,
        httpx.Client(base_url=wms.url, headers=WMS_AUTH) as client,
    ):
        wms.fail_next(2)
        wms.fail_next(1, status=429, retry_after=1)
        responses = [client.get("/v2/outbound-orders") for _ in range(4)]
    assert [r.status_code for r in responses] == [503, 503, 429, 200]
    assert responses[2].headers["retry-after"] == "1"
    assert len(responses[3].json()["data"]) == len(scenario.wms_records)
    assert len(wms.requests) == 4


def test_wms_retry_after_header_on_429() -> None:
    """A 429 carries Retry-After in whole seconds, so clients can honour it."""
    wms = SimulatedWMS()
    wms.fail_next(1, status=429, retry_after=0.2)
    with httpx.Client(transport=wms.transport(), base_url="http://wms.test", headers=WMS_AUTH) as client:
        limited = client.get("/v2/outbound-orders")
        served = client.get("/v2/outbound-orders")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
    assert served.status_code == 200 and served.json()["next_cursor"] is None


def test_scenario_has_a_status_the_config_does_not_map(scenario: Scenario) -> None:
    """The WMS data contains QC_HOLD: the vocabulary drift the demo shows off."""
    assert any(r["status"] == "QC_HOLD" for r in scenario.wms_records)


# -- the spreadsheets ----------------------------------------------------------------------------


def test_purchasing_workbook_reopens_with_chinese_headers_and_real_dates(
    scenario: Scenario, tmp_path: Path
) -> None:
    """The workbook has sheet 采购跟踪, the Chinese headers, and both real datetime cells and text times."""
    path = write_purchasing_xlsx(scenario, tmp_path / "purchasing" / "tracking.xlsx")
    workbook = openpyxl.load_workbook(path)
    sheet = workbook[PURCHASING_SHEET]
    rows = list(sheet.iter_rows())
    assert [cell.value for cell in rows[0]] == ["订单号", "状态", "更新时间", "数量"]
    times = [row[2] for row in rows[1:]]
    assert any(cell.is_date and isinstance(cell.value, datetime) for cell in times)
    assert any(
        isinstance(cell.value, str) and re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d", cell.value)
        for cell in times
    )
    assert {row[1].value for row in rows[1:]} <= {"已下单", "备货中", "已发货"}
    assert len(rows) - 1 == len(scenario.purchasing_rows)
    workbook.close()


def test_finance_csv_has_a_bom_and_the_headers(scenario: Scenario, tmp_path: Path) -> None:
    """finance/invoices.csv starts with a UTF-8 BOM, has the agreed headers and +08:00 timestamps."""
    path = write_finance_csv(scenario, tmp_path / "invoices.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert tuple(reader.fieldnames or ()) == FINANCE_HEADERS
    assert {row["invoice_status"] for row in rows} == {"unbilled", "invoiced", "paid"}
    assert all(row["updated_at"].endswith("+08:00") for row in rows)
    assert "1,380.00" in {row["invoiced_amount"] for row in rows}


def test_spreadsheets_land_where_the_config_looks(scenario: Scenario, tmp_path: Path) -> None:
    """write_spreadsheets puts the files under the folder at the paths the demo config names."""
    paths = write_spreadsheets(scenario, tmp_path)
    assert paths == [tmp_path / PURCHASING_FILE, tmp_path / FINANCE_FILE]
    assert all(p.is_file() for p in paths)
    assert PURCHASING_HEADERS[0] == "订单号"


# -- the config ----------------------------------------------------------------------------------


def load_demo_settings(tmp_path: Path) -> tuple[dict[str, SystemSettings], ReconcileSettings, dict[str, Any]]:
    path = write_demo_config(tmp_path, "http://127.0.0.1:18001", "http://127.0.0.1:18002/")
    text = path.read_text(encoding="utf-8")
    # Interpolation belongs to the config loader; here only the ${VAR:-default} defaults are applied.
    resolved = re.sub(r"\$\{[A-Z_][A-Z0-9_]*:-([^}]*)\}", r"\1", text)
    document = yaml.safe_load(resolved)
    models: dict[str, type[SystemSettings]] = {name: entry.settings for name, entry in REGISTRY.items()}
    systems = {
        name: models[block["type"]].model_validate(block) for name, block in document["systems"].items()
    }
    return systems, ReconcileSettings.model_validate(document["reconcile"]), document


def test_demo_config_validates_against_the_settings_models(tmp_path: Path) -> None:
    """orderbridge.yaml validates block by block and names the simulators' addresses and credentials."""
    systems, reconcile, document = load_demo_settings(tmp_path)
    assert set(systems) == {"erp", "wms", "purchasing", "finance", "carrier"}
    erp, wms = systems["erp"], systems["wms"]
    assert isinstance(erp, RestSettings) and isinstance(wms, RestSettings)
    assert str(erp.base_url).startswith("http://127.0.0.1:18001")
    assert isinstance(erp.auth, BearerSettings)
    assert erp.auth.token.get_secret_value() == DEMO_CREDENTIALS.erp_token
    assert isinstance(wms.auth, ApiKeySettings) and wms.auth.header == "X-Api-Key"
    assert wms.auth.value.get_secret_value() == DEMO_CREDENTIALS.wms_api_key
    assert erp.list.paging.style == "page" and wms.list.paging.style == "cursor"
    assert erp.cursor is not None and erp.cursor.overlap == timedelta(minutes=5) and erp.cursor.sorted
    assert reconcile.authority == {Dimension.fulfillment: "wms", Dimension.billing: "finance"}
    assert reconcile.sla["preparing"] == [timedelta(days=1), timedelta(days=3)]
    assert reconcile.expect[0].system == "wms" and reconcile.expect[0].within == timedelta(hours=2)
    assert document["store"] == {"url": "sqlite:///orderbridge.db"}
    assert document["server"]["listen"] == "127.0.0.1:8080"
    server = ServerSettings.model_validate(document["server"])
    assert verify_password(DEMO_CREDENTIALS.web_password, server.users[DEMO_CREDENTIALS.web_user])
    assert server.track.enabled and server.track.system == "erp"
    assert document["log"] == {"file": "orderbridge.log"}
    assert "${DEMO_ERP_TOKEN:-demo-erp-token}" in (tmp_path / "orderbridge.yaml").read_text(encoding="utf-8")


def scenario_observations(
    scenario: Scenario, systems: dict[str, SystemSettings]
) -> dict[str, dict[str, list[tuple[str, Any]]]]:
    """Order key -> system -> [(fulfilment or billing status, SourceRecord)], read through the config."""

    def by_field(name: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        settings = systems[name]
        assert isinstance(settings, SpreadsheetSettings)
        return [{field: row[header] for field, header in settings.columns.items()} for row in rows]

    sources: dict[str, list[dict[str, Any]]] = {
        "erp": scenario.erp_records,
        "wms": scenario.wms_records,
        "purchasing": by_field("purchasing", scenario.purchasing_rows),
        "finance": by_field("finance", [dict(row) for row in scenario.finance_rows]),
    }
    found: dict[str, dict[str, list[tuple[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for name, rows in sources.items():
        settings = systems[name]
        for row in rows:
            record = build_record(name, row, settings)
            try:
                key = normalise_order_id(record.order_ref, settings.order_id)
            except OrderIdError:
                key = f"{name}:{record.record_id}"
            statuses = map_statuses(settings.status, record.native_status)
            status = next(iter(statuses.values())).status
            found[key][name].append((status, record))
    return found


def test_every_native_id_and_status_maps_through_the_demo_config(scenario: Scenario, tmp_path: Path) -> None:
    """Each system's own order numbers normalise to the scenario's keys; only QC_HOLD stays unmapped."""
    systems, _, _ = load_demo_settings(tmp_path)
    found = scenario_observations(scenario, systems)
    assert set(found) == set(scenario.expected)
    unmapped = {
        (key, system)
        for key, by in found.items()
        for system, obs in by.items()
        for s, _ in obs
        if s == UNMAPPED
    }
    assert unmapped == {("SO-000051", "wms")}
    assert found["wms:OB-88099"].keys() == {"wms"}


def test_fine_orders_agree_in_every_system(scenario: Scenario, tmp_path: Path) -> None:
    """Orders meant to be fine have equal quantities everywhere, full shipments, invoices equal to the
    order amount, one record per system, and the same fulfilment status in every system that has one
    (bar the one order whose lag is still inside its grace)."""
    systems, _, _ = load_demo_settings(tmp_path)
    found = scenario_observations(scenario, systems)
    fine = [key for key, rules in scenario.expected.items() if not rules]
    assert len(fine) >= 5
    for key in fine:
        by_system = found[key]
        assert all(len(obs) == 1 for obs in by_system.values()), key
        records = {system: obs[0][1] for system, obs in by_system.items()}
        ordered = {r.quantities.ordered for r in records.values() if r.quantities.ordered is not None}
        assert len(ordered) == 1, key
        shipped = records.get("wms")
        if shipped is not None and by_system["wms"][0][0] in ("shipped", "delivered"):
            assert shipped.quantities.shipped == shipped.quantities.ordered, key
        if "finance" in records:
            invoiced = records["finance"].amounts.invoiced
            assert invoiced is None or invoiced == records["erp"].amounts.order, key
        fulfilment = {by_system[s][0][0] for s in by_system if s != "finance"}
        if key != "SO-000056":
            assert len(fulfilment) == 1, (key, fulfilment)
    paid = found["SO-000041"]["finance"][0][1].amounts
    assert paid.paid == paid.invoiced == Decimal("3600.00")


# -- the scenario --------------------------------------------------------------------------------


def test_expected_problems_cover_at_least_eight_rules(scenario: Scenario) -> None:
    """The story names each problem on its own order, covering at least 8 distinct rules."""
    rules = scenario.rules
    assert len(rules) >= 8
    assert {
        "status_lag",
        "status_conflict",
        "quantity_mismatch",
        "amount_mismatch",
        "missing",
        "stuck",
        "unmapped_status",
        "ahead_of_authority",
        "duplicate",
        "orphan",
    } <= rules
    problem_cases = [case for case in scenario.cases if case.expected]
    assert all(len(case.expected) == 1 for case in problem_cases)
    assert len({next(iter(case.expected)) for case in problem_cases}) == len(problem_cases)
    assert 15 <= len(scenario.cases) <= 20


def test_scenario_is_deterministic_for_a_fixed_now() -> None:
    """The same `now` gives the same story; another `now` shifts the times, not the story."""
    assert build_scenario(NOW) == build_scenario(NOW)
    later = build_scenario(NOW + timedelta(days=1))
    assert later.expected == build_scenario(NOW).expected
    assert later.wms_records != build_scenario(NOW).wms_records
    with pytest.raises(ValueError):
        build_scenario(datetime(2026, 11, 22, 10, 0))


def test_erp_serves_the_scenario(scenario: Scenario) -> None:
    """load_erp fills the simulator; the stuck order's 备货中 is four days old in Shanghai time."""
    with (
        load_erp(SimulatedERP(), scenario) as erp,
        httpx.Client(base_url=erp.url, headers=ERP_AUTH) as client,
    ):
        body = client.get("/api/v1/sale-orders", params={"page_size": 100}).json()
    items = {item["bill_no"]: item for item in body["data"]["items"]}
    assert body["data"]["total"] == len(scenario.erp_records) == len(items)
    assert items["SO-2026-0050"]["modified"] == "2026-11-18 16:00:00"  # 4d2h before 18:00 Shanghai
