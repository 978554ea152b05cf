"""The Chanjet T+ preset against a voucher list in the shape an integrator recorded (chanjet_api.py):
the app's headers, columnar rows named by the answer's Columns, 0-based pages, a snapshot scan by
default (no public change filter), the incremental filter once a tenant names it, errors in the body,
and check-config's warnings for everything Chanjet leaves undocumented."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, ClassVar

import respx
from connectors.conformance import MYSTERY, PICKING, SHIPPED, ApiSource, ApiSuite, Order, StartServer
from connectors.presets.chanjet_api import BASE, LIST, FakeChanjet, voucher
from connectors.presets.docs_pages import loaded_examples
from connectors.presets.fake_http import answer
from live_http import Seen

from orderbridge.connectors import registry
from orderbridge.connectors.base import Batch
from orderbridge.connectors.presets.chanjet.settings import ChanjetSettings

MINIMAL: dict[str, Any] = {
    "type": "chanjet",
    "app_key": "cj-app-key-01",
    "app_secret": "cj-app-secret-02",
    "open_token": "cj-open-token-03",
}
INCREMENTAL = {
    "modified_param": "UpdateDateBegin",
    "modified_column": "UpdateTime",
    "select_fields": ["SaleOrder.ID", "SaleOrder.Code", "SaleOrder.VoucherState", "SaleOrder.UpdateTime"],
}
STATUS = {"dimension": "fulfillment", "field": "VoucherState", "map": {"未审": "placed", "已审": "approved"}}


def poll(api: FakeChanjet, block: dict[str, Any], cursor: Any = None) -> list[Batch]:
    with respx.mock() as router:
        router.post(LIST).mock(side_effect=api)
        return list(
            registry.create("tplus", ChanjetSettings.model_validate(block)).poll(cursor, threading.Event())
        )


def test_by_default_every_page_is_read_and_rows_are_named_by_the_answers_columns() -> None:
    """Without a change filter each poll scans all vouchers, 0-based pages of `page_size`; each row's
    values are named by `Columns`; the order number, id and external reference land where expected."""
    api = FakeChanjet()
    api.put(*(voucher(n, "已审", f"2026-11-20 10:0{n}:00") for n in range(1, 6)))
    batches = poll(api, {**MINIMAL, "base_url": BASE, "page_size": 2, "status": STATUS})
    records = [r for b in batches for r in b.records]
    assert [r.order_ref for r in records] == [f"SO-2024-{n:04d}" for n in range(1, 6)]
    assert [b["pageIndex"] for b in api.requests] == [0, 1, 2]  # the short page 2 ends it
    assert api.requests[0]["selectFields"].startswith("SaleOrder.ID,SaleOrder.Code")
    assert records[0].record_id == "1" and records[0].external_ref == "PO-1"
    # A snapshot scan: no cursor value to resume from (only what it learnt about the paging).
    assert all("value" not in (b.cursor or {}) for b in batches)


def test_a_tenants_change_filter_makes_polls_incremental() -> None:
    """With modified_param and modified_column the cursor is written into paramDic and read from the
    column, in T+'s local time without a zone."""
    api = FakeChanjet()
    api.put(*(voucher(n, "未审", f"2026-11-20 10:0{n}:00") for n in range(1, 4)))
    block = {
        **MINIMAL,
        "base_url": BASE,
        "modified_param": "UpdateDateBegin",
        "modified_column": "UpdateTime",
        "select_fields": ["SaleOrder.ID", "SaleOrder.Code", "SaleOrder.VoucherState", "SaleOrder.UpdateTime"],
    }
    first = poll(api, block)
    cursor = first[-1].cursor
    assert cursor is not None and cursor["value"] == "2026-11-20T10:03:00+08:00"
    poll(api, block, cursor)
    assert api.requests[-1]["paramDic"] == {"UpdateDateBegin": "2026-11-20 09:58:00"}


def test_check_config_says_what_chanjet_leaves_undocumented() -> None:
    """The status vocabulary, the change filter and the token's expiry are warned about; a block that
    mapped its statuses and named its filter keeps only the token's."""
    bare = ChanjetSettings.model_validate(MINIMAL).warnings()
    assert [w.split(":")[0] for w in bare] == ["status", "modified_param", "open_token"]
    settled = ChanjetSettings.model_validate(
        {**MINIMAL, "status": STATUS, "modified_param": "UpdateDateBegin", "modified_column": "UpdateTime"}
    ).warnings()
    assert [w.split(":")[0] for w in settled] == ["open_token"]


WORDS = {PICKING: "备货中", SHIPPED: "已发货", MYSTERY: "待定"}


class ChanjetSource(ApiSource):
    connector_type = "chanjet"
    minimal: ClassVar[dict[str, Any]] = MINIMAL
    misspelled = ("page_sise", "page_size")
    expected: ClassVar[dict[str, str]] = {PICKING: "preparing", SHIPPED: "shipped"}
    bad_reason = "UpdateTime"
    vendor_error_text = "业务处理失败"
    rereads_at_cursor = True  # UpdateDateBegin is inclusive, and the cursor overlaps 5 minutes

    def __init__(self, server: StartServer) -> None:
        self.tenant = FakeChanjet()
        super().__init__(server)

    def block(self) -> dict[str, Any]:
        return {
            **MINIMAL,
            "base_url": self.url,
            "page_size": 2,
            "modified_param": "UpdateDateBegin",
            "modified_column": "UpdateTime",
            "select_fields": [
                "SaleOrder.ID",
                "SaleOrder.Code",
                "SaleOrder.VoucherState",
                "SaleOrder.UpdateTime",
            ],
            "status": {
                "dimension": "fulfillment",
                "field": "VoucherState",
                "map": {"备货中": "preparing", "已发货": "shipped"},
            },
        }

    def publish(self, new: list[Order]) -> None:
        for order in new:
            serial = int(order.number.removeprefix("SO-"))
            local: datetime = order.updated
            item = voucher(serial, WORDS[order.status], local.strftime("%Y-%m-%d %H:%M:%S"))
            item["Code"] = order.number
            if order.bad:
                item["UpdateTime"] = "2026-13-45 99:00:00"  # a time no calendar has
            self.tenant.put(item)

    def answer(self, seen: Seen) -> tuple[Any, ...]:
        return answer(self.tenant, seen)

    def vendor_error(self) -> tuple[Any, ...]:
        return (200, {"code": "999", "message": "业务处理失败", "data": None})


class TestChanjetConformance(ApiSuite):
    source_class = ChanjetSource


def test_the_docs_page_configuration_loads_with_credentials_from_the_environment() -> None:
    """A new user copies the page's YAML: it loads as written, within 15 lines."""
    (loaded,) = loaded_examples("chanjet.md", {"app_key", "app_secret", "open_token"})
    assert isinstance(loaded, ChanjetSettings)
