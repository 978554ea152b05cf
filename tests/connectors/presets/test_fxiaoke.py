"""Fxiaoke's SalesOrderObj against an open API that answers as the documented one (tests/connectors/
fxiaoke_api.py): the token in the body, offset pages inside search_query_info driven by
last_modified_time in epoch milliseconds, errors inside an HTTP 200 (an expired token renewed, a spent
quota failing the poll), and life_status on the fulfilment dimension."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
import respx
from connectors.conformance import MYSTERY, PICKING, SHIPPED, ApiSource, ApiSuite, Order, StartServer
from connectors.presets.docs_pages import loaded_examples
from connectors.presets.fake_http import answer
from connectors.presets.fxiaoke_api import BASE, QUERY, TOKEN, FakeFxiaoke, sales_order
from live_http import Seen

from orderbridge.connectors import registry
from orderbridge.connectors.auth import TOKENS
from orderbridge.connectors.base import Batch, SourceError
from orderbridge.connectors.presets.fxiaoke.settings import FxiaokeSettings
from orderbridge.mapping.model import Dimension
from orderbridge.mapping.status import map_statuses

T0 = 1763600000000  # 2025-11-20T00:53:20Z in epoch ms


@pytest.fixture(autouse=True)
def _fresh_tokens() -> Iterator[None]:
    TOKENS.clear()
    yield
    TOKENS.clear()


MINIMAL: dict[str, Any] = {
    "type": "fxiaoke",
    "app_id": "FSAID_131a2b3",
    "app_secret": "fx-secret-9f8e7d6c",
    "permanent_code": "fx-permanent-5b4a3c",
    "open_user_id": "FSUID_8A2B3C4D",
}


def block(**more: Any) -> dict[str, Any]:
    return {
        **MINIMAL,
        "base_url": BASE,
        "page_size": 2,
        "retry": {"attempts": 2, "initial_wait": "0s", "max_wait": "1s"},
        "budget": None,
        "fields": {"order_amount": "order_amount"},
        **more,
    }


def settings(**more: Any) -> FxiaokeSettings:
    return FxiaokeSettings.model_validate(block(**more))


def poll(api: FakeFxiaoke, cursor: dict[str, Any] | None = None) -> tuple[list[Batch], Any]:
    with respx.mock(assert_all_called=False) as router:  # a cached token needs no token call
        router.post(TOKEN).mock(side_effect=api.token)
        router.post(QUERY).mock(side_effect=api.query)
        batches = list(registry.create("crm", settings()).poll(cursor, threading.Event()))
    return batches, next((b.cursor for b in reversed(batches) if b.cursor is not None), cursor)


def test_orders_are_paged_inside_the_body_and_resumed_from_epoch_milliseconds() -> None:
    """Five orders over pages of two, offsets multiples of the limit; the filter carries the cursor as
    a number; the next poll asks from the newest last_modified_time minus the overlap."""
    api = FakeFxiaoke()
    api.put(*(sales_order(n, T0 + n * 60_000) for n in range(1, 6)))
    batches, cursor = poll(api)
    records = [r for b in batches for r in b.records]
    assert [r.order_ref for r in records] == [f"20240101-{n:06d}" for n in range(1, 6)]
    assert api.queries[0]["filters"][0]["field_values"] == [0]
    assert all(q["offset"] % q["limit"] == 0 for q in api.queries)
    assert records[0].status_at == datetime.fromtimestamp((T0 + 60_000) / 1000, UTC)
    assert str(records[0].amounts.order) == "1130.00"
    assert api.tokens == 1

    asked = len(api.queries)
    poll(api, cursor)
    assert api.tokens == 1  # the token of the last poll is still good
    assert api.queries[asked]["filters"][0]["field_values"] == [T0 + 5 * 60_000 - 300_000]


@pytest.mark.parametrize(
    ("life", "expected"),
    [
        ("ineffective", "placed"),
        ("under_review", "placed"),
        ("normal", "approved"),
        ("in_change", "approved"),
        ("invalid", "cancelled"),
        ("archived", "unmapped"),
    ],
)
def test_life_status_on_the_fulfilment_dimension(life: str, expected: str) -> None:
    """The general PaaS lifecycle; a value outside it is unmapped."""
    found = map_statuses(settings().status, {"life_status": life})
    assert found[Dimension.fulfillment].status == expected


def test_a_spent_quota_fails_the_poll_with_fxiaokes_code() -> None:
    """30002 (the day's quota is used up) in an HTTP 200 is not retried: the poll fails saying so."""
    api = FakeFxiaoke()
    api.put(sales_order(1, T0))
    api.quota_gone = True
    with pytest.raises(SourceError, match="errorCode=30002: 当日调用次数已用完"):
        poll(api)


def test_an_expired_token_is_renewed_once_and_the_page_read() -> None:
    """Tokens expire (20016): a new one is fetched and the same page asked again."""
    api = FakeFxiaoke()
    api.put(*(sales_order(n, T0 + n) for n in range(1, 4)))
    original = api.query

    def expire_after_first(request: Any) -> Any:
        answer = original(request)
        if len(api.queries) == 1:
            api.valid.clear()
        return answer

    api.query = expire_after_first  # type: ignore[method-assign]
    batches, _ = poll(api)
    assert len([r for b in batches for r in b.records]) == 3
    assert api.tokens == 2


def test_check_config_warns_about_the_unconfirmed_statuses_and_throttle_code() -> None:
    """life_status is unconfirmed for SalesOrderObj and no throttle code is documented: both are
    warned about until the block sets `status` and `retry_codes` itself."""
    assert [w.split(":")[0] for w in settings().warnings()] == ["status", "retry_codes"]
    own = {"dimension": "fulfillment", "field": "order_status", "map": {"1": "placed"}}
    assert settings(status=own, retry_codes=[]).warnings() == []


# -- the conformance suite ---------------------------------------------------------------------------

LIFE = {PICKING: "under_review", SHIPPED: "normal", MYSTERY: "archived"}


class FxiaokeSource(ApiSource):
    connector_type = "fxiaoke"
    minimal: ClassVar[dict[str, Any]] = MINIMAL
    misspelled = ("object_nme", "object_name")
    expected: ClassVar[dict[str, str]] = {PICKING: "placed", SHIPPED: "approved"}
    bad_reason = "order_amount"
    vendor_error_text = "当日调用次数已用完"
    rereads_at_cursor = True  # GTE the saved time minus the overlap

    def __init__(self, server: StartServer) -> None:
        self.tenant = FakeFxiaoke()
        super().__init__(server)

    def block(self) -> dict[str, Any]:
        return {**MINIMAL, "base_url": self.url, "page_size": 2, "fields": {"order_amount": "order_amount"}}

    def publish(self, new: list[Order]) -> None:
        for order in new:
            serial = int(order.number.removeprefix("SO-"))
            item = sales_order(serial, int(order.updated.timestamp() * 1000), LIFE[order.status])
            item["name"] = order.number
            if order.bad:
                item["order_amount"] = "1,250"  # ambiguous text
            self.tenant.put(item)

    def listing(self, seen: Seen) -> bool:
        return seen.path.endswith("/data/query")

    def answer(self, seen: Seen) -> tuple[Any, ...]:
        return answer(self.tenant.query if self.listing(seen) else self.tenant.token, seen)

    def vendor_error(self) -> tuple[Any, ...]:
        return (200, {"errorCode": 30002, "errorMessage": "当日调用次数已用完", "traceId": "E-fs-7f3a"})


class TestFxiaokeConformance(ApiSuite):
    source_class = FxiaokeSource


def test_the_docs_page_configuration_loads_with_secrets_from_the_environment() -> None:
    """A new user copies the page's YAML: it loads as written, within 15 lines."""
    (loaded,) = loaded_examples("fxiaoke.md", {"app_secret", "permanent_code"})
    assert isinstance(loaded, FxiaokeSettings)
