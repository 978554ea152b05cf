"""The YonSuite preset (`type: yonsuite`) against a local tenant: the conformance suite, and its own
checks on YonSuite's shapes — the signed token in the query string, errors inside a 200 (a token no
longer valid fetched again), paging inside the JSON body, nextStatusName's eight values."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest
from connectors.conformance import (
    MYSTERY,
    PICKING,
    SHANGHAI,
    SHIPPED,
    START,
    ApiSource,
    ApiSuite,
    Order,
    StartServer,
)
from connectors.presets.docs_pages import page_configuration
from connectors.presets.yonsuite_server import APP_KEY, APP_SECRET, TOKEN_PATH, YonSuiteTenant, answer
from live_http import Seen

from orderbridge.connectors import registry
from orderbridge.connectors.base import Batch, SourceError
from orderbridge.connectors.presets.yonsuite.settings import YonSuiteSettings
from orderbridge.mapping.model import UNMAPPED, Dimension
from orderbridge.mapping.status import map_statuses

FIXTURES = Path(__file__).parents[2] / "fixtures" / "yonyou"
WORDS = {PICKING: "DELIVERGOODS", SHIPPED: "TAKEDELIVERY", MYSTERY: "PENDING_REVIEW"}


class YonSuiteSource(ApiSource):
    connector_type = "yonsuite"
    minimal: ClassVar[dict[str, Any]] = {
        "type": "yonsuite",
        "base_url": "https://c2.yonyoucloud.com/iuap-api-gateway",
        "app_key": APP_KEY,
        "app_secret": APP_SECRET,
    }
    misspelled = ("page_sise", "page_size")
    bad_reason = "payMoney"
    vendor_error_text = "服务端逻辑异常"
    rereads_at_cursor = True  # pubts gt the saved time minus five minutes

    def __init__(self, server: StartServer) -> None:
        self.tenant = YonSuiteTenant()
        super().__init__(server)

    def block(self) -> dict[str, Any]:
        return {**self.minimal, "base_url": f"{self.url}/iuap-api-gateway", "page_size": 2, "budget": None}

    def publish(self, new: list[Order]) -> None:
        for order in new:
            serial = int(order.number.removeprefix("SO-"))
            self.tenant.orders[serial] = {
                "id": 1854203991822000 + serial,
                "code": order.number,
                "purchaseNo": None,
                "vouchdate": order.updated.astimezone(SHANGHAI).strftime("%Y-%m-%d 00:00:00"),
                "nextStatusName": WORDS[order.status],
                "verifystate": 2,
                "payMoney": "1,250" if order.bad else "1250.00",
                "pubts": order.updated.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
            }

    def listing(self, seen: Seen) -> bool:
        return seen.path != TOKEN_PATH

    def answer(self, seen: Seen) -> tuple[Any, ...]:
        return self.tenant.handle(seen)

    def vendor_error(self) -> tuple[Any, ...]:
        return (200, answer("999", "服务端逻辑异常"))


class TestYonSuiteConformance(ApiSuite):
    source_class = YonSuiteSource


# --- its own shapes ----------------------------------------------------------------------------------


@pytest.fixture
def yon(live_server: StartServer) -> Iterator[YonSuiteSource]:
    yield YonSuiteSource(live_server)


def poll(source: YonSuiteSource, **more: Any) -> list[Batch]:
    connector = registry.create("erp", YonSuiteSettings.model_validate({**source.block(), **more}))
    try:
        return list(connector.poll(None, threading.Event()))
    finally:
        connector.close()


def test_recorded_pages_read_with_long_ids_text_money_and_local_times(yon: YonSuiteSource) -> None:
    """The documented list answer: ids as long numbers, money as text, a null and an absent
    purchaseNo, pubts in Beijing time without a zone; statuses by nextStatusName."""
    for name in ("yonsuite-orders-1.json", "yonsuite-orders-2.json"):
        for row in json.loads((FIXTURES / name).read_text(encoding="utf-8"))["data"]["recordList"]:
            yon.tenant.orders[row["id"]] = row
    records = {r.order_ref: r for b in poll(yon) for r in b.records}
    first = records["UO-164820240501000001"]
    assert first.record_id == "1854203991822336" and first.external_ref == "PO-2024-118"
    assert first.amounts.order == Decimal("11800.00")
    assert first.status_at is not None and first.status_at.isoformat() == "2024-05-01T09:12:05+08:00"
    assert records["UO-164820240501000002"].external_ref is None
    assert records["UO-164820240501000003"].external_ref is None
    tables = YonSuiteSettings.model_validate(yon.block()).status
    found = [map_statuses(tables, r.native_status)[Dimension.fulfillment].status for r in records.values()]
    assert sorted(found) == ["cancelled", "delivered", "preparing"]


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("APPROVING", "placed"),
        ("CONFIRMORDER", "approved"),
        ("DELIVERGOODS", "preparing"),
        ("DELIVERY_PART", "preparing"),
        ("DELIVERY_TAKE_PART", "shipped"),
        ("TAKEDELIVERY", "shipped"),
        ("ENDORDER", "delivered"),
        ("OPPOSE", "cancelled"),
        ("SOMETHING_NEW", UNMAPPED),
    ],
)
def test_next_status_name(word: str, status: str) -> None:
    """Each of the eight nextStatusName values; any other is unmapped."""
    tables = YonSuiteSettings.model_validate(YonSuiteSource.minimal).status
    assert map_statuses(tables, {"nextStatusName": word})[Dimension.fulfillment].status == status


def test_the_listing_asks_by_pubts_in_the_body_one_record_per_order(yon: YonSuiteSource) -> None:
    """The body asks for headers only (isSum), pubts after the cursor, sorted by (pubts, id), the page
    number and size inside it; the token goes in the query and is fetched once."""
    yon.publish([Order(f"SO-{n}", PICKING, _start(n), 1) for n in range(1, 4)])
    poll(yon)
    first = yon.tenant.bodies[0]
    assert first["isSum"] is True and first["pageSize"] == 2 and first["pageIndex"] == 1
    assert first["simpleVOs"] == [{"field": "pubts", "op": "gt", "value1": "1970-01-01 00:00:00"}]
    assert first["queryOrders"] == [{"field": "pubts", "order": "asc"}, {"field": "id", "order": "asc"}]
    assert len(yon.tenant.tokens) == 1


def test_a_token_no_longer_valid_is_fetched_again(yon: YonSuiteSource) -> None:
    """310036 inside a 200 (the token expired or was revoked): a new token, the request repeated."""
    yon.publish([Order("SO-1", PICKING, _start(1), 1)])
    poll(yon)
    yon.tenant.tokens.clear()  # the gateway forgot every token it issued
    batches = poll(yon)
    assert [r.order_ref for b in batches for r in b.records] == ["SO-1"]
    assert len(yon.tenant.tokens) == 1


def test_a_wrong_secret_fails_with_a_hint_and_without_it(yon: YonSuiteSource) -> None:
    """A token request refused (code not 00000) fails the poll, naming key, secret and clock."""
    with pytest.raises(SourceError) as failure:
        poll(yon, app_secret="not-the-secret")
    assert "server clock" in str(failure.value) and "not-the-secret" not in str(failure.value)


def test_the_sales_order_quota_is_kept_by_default() -> None:
    """60 calls a minute unless the block says otherwise."""
    budget = YonSuiteSettings.model_validate(YonSuiteSource.minimal).rest().budget
    assert budget is not None and budget.per_minute == 60


def test_the_docs_page_configuration_loads_in_fifteen_lines() -> None:
    """The YAML on docs/connectors/yonsuite.md is accepted as written and fits in fifteen lines."""
    config = page_configuration("yonsuite.md")
    assert isinstance(config.systems["erp"], YonSuiteSettings)


def _start(hours: int) -> datetime:
    return START + timedelta(hours=hours)
