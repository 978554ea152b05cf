"""Polling a Jiandaoyun form against a v5 data/list that answers as the real one (tests/connectors/
jiandaoyun_api.py): keyset pages by `data_id`, the updateTime window, the company's widgets mapped in
YAML (order number, single-select status, amount), widget values of every shape (an address object, a
number), the 400 code 8303 throttle retried, a refused key failing without showing it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
import respx
from connectors.conformance import MYSTERY, PICKING, SHIPPED, ApiSource, ApiSuite, Order, StartServer
from connectors.presets.docs_pages import loaded_examples
from connectors.presets.fake_http import answer
from connectors.presets.jiandaoyun_api import APP, BASE, ENTRY, LIST, FakeJiandaoyun, parse, row
from live_http import Seen
from pydantic import ValidationError

from orderbridge.connectors import registry
from orderbridge.connectors.base import Batch, ConnectorContext, SourceError
from orderbridge.connectors.presets.jiandaoyun.settings import JiandaoyunSettings
from orderbridge.connectors.probe import probe
from orderbridge.mapping.model import Dimension
from orderbridge.mapping.status import map_statuses

MINIMAL: dict[str, Any] = {
    "type": "jiandaoyun",
    "api_key": "jdy-key-0001",
    "app_id": APP,
    "entry_id": ENTRY,
    "order_id": {"field": "order_no"},
    "status": {
        "dimension": "fulfillment",
        "field": "order_status",
        "map": {"已下单": "placed", "备货中": "preparing", "已发货": "shipped"},
    },
}


def block(**more: Any) -> dict[str, Any]:
    key = more.pop("key", "jdy-key-0001")
    return {
        **MINIMAL,
        "base_url": BASE,
        "api_key": key,
        "page_size": 2,
        "retry": {"attempts": 3, "initial_wait": "0s", "max_wait": "1s"},
        "fields": {"order_amount": "amount"},
        **more,
    }


def settings(**more: Any) -> JiandaoyunSettings:
    return JiandaoyunSettings.model_validate(block(**more))


def poll(api: FakeJiandaoyun, cursor: dict[str, Any] | None = None, **more: Any) -> tuple[list[Batch], Any]:
    with respx.mock() as router:
        router.post(LIST).mock(side_effect=api)
        connector = registry.create("forms", settings(**more))
        batches = list(connector.poll(cursor, threading.Event()))
    return batches, next((b.cursor for b in reversed(batches) if b.cursor is not None), cursor)


def test_rows_are_read_by_keyset_pages_with_the_companys_widgets() -> None:
    """Five rows over pages of two, each page asking after the last `_id`; the order number, status
    and amount come from the widgets named in the YAML; updateTime's `Z` is UTC; an address widget (an
    object) is carried in the raw record without disturbing anything."""
    now = datetime.now(UTC).replace(microsecond=0)
    api = FakeJiandaoyun()
    api.put(*(row(n, "备货中" if n % 2 else "已发货", now - timedelta(hours=n)) for n in range(1, 6)))
    batches, cursor = poll(api)
    records = [r for b in batches for r in b.records]
    assert sorted(r.order_ref or "" for r in records) == [f"DD{n:06d}" for n in range(1, 6)]
    assert [body.get("data_id") for body in api.requests] == [
        None,
        "6818417bca66cb3cc2120002",
        "6818417bca66cb3cc2120004",
    ]
    first = next(r for r in records if r.order_ref == "DD000001")
    assert first.record_id == "6818417bca66cb3cc2120001"
    assert first.status_at == now - timedelta(hours=1)
    assert str(first.amounts.order) == "1130.5"
    assert first.raw["ship_to"]["city"] == "长沙市"
    tables = settings().status
    assert map_statuses(tables, first.native_status)[Dimension.fulfillment].status == "preparing"
    assert cursor is not None and datetime.fromisoformat(cursor["value"]) <= datetime.now(UTC)


def test_a_word_the_company_never_mapped_is_unmapped() -> None:
    """A new option added to the status widget (已作废) is reported, not guessed."""
    api = FakeJiandaoyun()
    api.put(row(1, "已作废", datetime.now(UTC) - timedelta(hours=1)))
    batches, _ = poll(api)
    tables = settings().status
    found = map_statuses(tables, batches[0].records[0].native_status)
    assert found[Dimension.fulfillment].status == "unmapped"


def test_the_8303_throttle_is_retried_and_the_poll_goes_on() -> None:
    """HTTP 400 with code 8303 (超出请求频率限制) is Jiandaoyun's throttle: waited for, not a failure."""
    api = FakeJiandaoyun()
    api.put(row(1, "已发货", datetime.now(UTC) - timedelta(hours=1)))
    api.throttle_next = 2
    batches, _ = poll(api)
    assert [r.order_ref for b in batches for r in b.records] == ["DD000001"]


def test_a_refused_key_fails_without_showing_it() -> None:
    """A wrong API key is HTTP 401 with Jiandaoyun's code and message; the key is never shown."""
    api = FakeJiandaoyun()
    with pytest.raises(SourceError) as caught:
        poll(api, key="jdy-wrong-key-9999")
    assert "401" in str(caught.value) and "jdy-wrong-key-9999" not in str(caught.value)


def test_a_row_without_an_update_time_is_quarantined_and_the_page_goes_on() -> None:
    """A row whose updateTime is null (an import gone wrong) cannot place the cursor: it alone is
    quarantined."""
    api = FakeJiandaoyun()
    moment = datetime.now(UTC) - timedelta(hours=1)
    bad = row(2, "已发货", moment)
    api.put(row(1, "已发货", moment), bad, row(3, "已发货", moment))
    original = api.__call__

    def answer(request: Any) -> Any:
        response = original(request)
        rows = response.json()["data"]
        for item in rows:
            if item["_id"] == bad["_id"]:
                item["updateTime"] = None
        return type(response)(200, json={"data": rows})

    with respx.mock() as router:
        router.post(LIST).mock(side_effect=answer)
        batches = list(registry.create("forms", settings()).poll(None, threading.Event()))
    assert sorted(r.order_ref or "" for b in batches for r in b.records) == ["DD000001", "DD000003"]
    problems = [p for b in batches for p in b.problems]
    assert len(problems) == 1 and "updateTime" in problems[0].reason


# -- the conformance suite ---------------------------------------------------------------------------

WORDS = {PICKING: "备货中", SHIPPED: "已发货", MYSTERY: "待定"}


class JiandaoyunSource(ApiSource):
    connector_type = "jiandaoyun"
    minimal: ClassVar[dict[str, Any]] = MINIMAL
    misspelled = ("entry_idd", "entry_id")
    expected: ClassVar[dict[str, str]] = {PICKING: "preparing", SHIPPED: "shipped"}
    bad_reason = "amount"
    vendor_error_text = "应用不存在"
    rereads_at_cursor = True  # the window starts 5 minutes before the last one ended

    def __init__(self, server: StartServer) -> None:
        self.tenant = FakeJiandaoyun()
        super().__init__(server)

    def block(self) -> dict[str, Any]:
        return {**MINIMAL, "base_url": self.url, "page_size": 2, "fields": {"order_amount": "amount"}}

    def context(self) -> ConnectorContext:
        # Jiandaoyun stamps updateTime itself: its "now" is just after the last change it stamped.
        def now() -> datetime:
            stamped = [parse(r["updateTime"]) for r in self.tenant.rows.values()]
            return max(stamped, default=datetime(2026, 11, 20, tzinfo=UTC)) + timedelta(minutes=1)

        return ConnectorContext(clock=now)

    def publish(self, new: list[Order]) -> None:
        for order in new:
            item = row(int(order.number.removeprefix("SO-")), WORDS[order.status], order.updated)
            item["order_no"] = order.number
            if order.bad:
                item["amount"] = "1,250"  # text where Jiandaoyun writes a number: ambiguous
            self.tenant.put(item)

    def answer(self, seen: Seen) -> tuple[Any, ...]:
        return answer(self.tenant, seen)

    def vendor_error(self) -> tuple[Any, ...]:
        return (400, {"code": 1003, "msg": "应用不存在"})


class TestJiandaoyunConformance(ApiSuite):
    source_class = JiandaoyunSource


def test_one_block_both_polls_the_form_and_receives_its_pushes() -> None:
    """With an api_key and a webhook the form is polled and its pushes received; with a webhook only,
    it is only received (as before); with neither, or half of what polling needs, the block is refused
    saying what to add."""
    both = settings(webhook={"secret": "push-secret-1"})
    assert registry.polls(both) and registry.receiver("forms", both) is not None
    pushed = JiandaoyunSettings.model_validate({"type": "jiandaoyun", "webhook": {"secret": "push-secret-1"}})
    assert not registry.polls(pushed) and registry.receiver("forms", pushed) is not None
    assert pushed.fields.record_id == "_id" and pushed.streams("forms") == {"forms": []}
    with pytest.raises(ValidationError, match="give `api_key`, `app_id` and `entry_id` to poll the form"):
        JiandaoyunSettings.model_validate({"type": "jiandaoyun"})
    with pytest.raises(ValidationError, match="polling a form needs `entry_id` too"):
        JiandaoyunSettings.model_validate({"type": "jiandaoyun", "api_key": "k", "app_id": APP})


def test_the_companys_conditions_join_the_window_and_statuses_are_warned_until_mapped() -> None:
    """`conditions` are and-ed after the updateTime window; a block without its own status table gets
    check-config's warning that Jiandaoyun has no built-in order status."""
    made = settings(conditions=[{"field": "order_type", "method": "eq", "value": ["销售"]}])
    cond = made.rest().list.body["filter"]["cond"]
    assert [c["field"] for c in cond] == ["updateTime", "order_type"]
    assert cond[0]["value"] == ["{cursor}", "{until}"]
    bare = JiandaoyunSettings.model_validate({k: v for k, v in MINIMAL.items() if k != "status"})
    assert any(
        w.startswith("status: a Jiandaoyun form has no built-in order status") for w in bare.warnings()
    )
    assert settings().warnings() == []


def test_the_docs_page_configuration_loads_in_15_lines_with_the_key_from_the_environment() -> None:
    """A new user copies the page's YAML: it loads as written, polls the form, and maps its widgets."""
    (loaded,) = loaded_examples("jiandaoyun.md", {"api_key"})
    assert isinstance(loaded, JiandaoyunSettings) and loaded.polling
    assert loaded.order_id.field == "order_no" and loaded.warnings() == []


def test_probe_finds_the_named_widgets_and_suggests_for_a_misspelt_one() -> None:
    """`orderbridge probe` on the form: every named widget found; a misspelt alias found in no row,
    with the names the rows do have offered."""
    api = FakeJiandaoyun()
    api.put(*(row(n, "已发货", datetime.now(UTC) - timedelta(hours=n)) for n in range(1, 3)))
    with respx.mock() as router:
        router.post(LIST).mock(side_effect=api)
        good = probe("forms", settings())
        wrong = probe("forms", settings(order_id={"field": "order_num"}))
    assert good.records == 2 and good.problems == []
    assert any("no record has 'order_num'" in p and "order_no" in p for p in wrong.problems)


def test_an_unsigned_push_endpoint_is_warned_about_beside_the_gaps() -> None:
    """Pushes told apart by a path token only are pointed out, as for every pushing type."""
    made = settings(webhook={"path_token": "t0k3n-abcdef-123456"})
    assert any(w.startswith("webhook: pushes are not signed") for w in made.warnings())
