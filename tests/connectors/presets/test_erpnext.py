"""The ERPNext preset (`type: erpnext`) against a local Frappe site: the conformance suite, and its own
checks on ERPNext's shapes (status with per_delivered/per_billed, `modified` in the site's time with
microseconds or none, delivery notes and sales invoices as child rows of their orders)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
from connectors.conformance import MYSTERY, PICKING, SHIPPED, ApiSource, ApiSuite, Order, StartServer
from connectors.presets.erpnext_server import API_KEY, API_SECRET, FakeErpNext, fixture, frappe_error
from connectors.presets.reading import by_id, poll_all, statuses
from live_http import Seen

from orderbridge.config.loader import parse_config
from orderbridge.connectors import registry
from orderbridge.connectors.base import Batch
from orderbridge.connectors.presets.erpnext.settings import ErpNextSettings

SITE_ZONE = "Asia/Shanghai"
WORDS = {
    PICKING: {"status": "To Deliver and Bill", "per_delivered": 50.0},
    SHIPPED: {"status": "To Bill", "per_delivered": 100.0},
    MYSTERY: {"status": "Awaiting Credit Check", "per_delivered": 0.0},
}


class ErpNextSource(ApiSource):
    connector_type = "erpnext"
    minimal: ClassVar[dict[str, Any]] = {
        "type": "erpnext",
        "base_url": "https://acme.erpnext.example",
        "api_key": API_KEY,
        "api_secret": API_SECRET,
    }
    misspelled = ("api_secrt", "api_secret")
    bad_reason = "ambiguous"
    rereads_at_cursor = True  # the overlap (1 min) re-reads the last order before the saved cursor
    vendor_error_text = "ValidationError"

    def __init__(self, server: StartServer) -> None:
        self.site = FakeErpNext()
        super().__init__(server)

    def block(self) -> dict[str, Any]:
        return {**self.minimal, "base_url": self.url, "page_size": 2, "timezone": SITE_ZONE}

    def publish(self, new: list[Order]) -> None:
        for order in new:
            local = order.updated.astimezone(ZoneInfo(SITE_ZONE))
            self.site.put(
                "Sales Order",
                {
                    "name": order.number,
                    "docstatus": 1,
                    **WORDS[order.status],
                    "per_billed": 0.0,
                    "po_no": None,
                    "grand_total": "1,250" if order.bad else 100.0,  # text where a number belongs
                    "currency": "CNY",
                    "modified": local.strftime("%Y-%m-%d %H:%M:%S.%f"),
                },
            )

    def answer(self, seen: Seen) -> tuple[Any, ...]:
        return self.site.handle(seen.path, seen.query, seen.headers)

    def vendor_error(self) -> tuple[Any, ...]:
        return (417, frappe_error("ValidationError", "Invalid filter: modified"))

    def throttle(self, retry_after: int) -> tuple[Any, ...]:
        body = frappe_error("RateLimitExceededError", "Too Many Requests")
        return (429, body, [("Retry-After", str(retry_after))])


class TestErpNextConformance(ApiSuite):
    source_class = ErpNextSource


# -- ERPNext's own shapes -----------------------------------------------------------------------------

SITE = "https://acme.erpnext.example"


@pytest.fixture
def site(live_server: StartServer) -> tuple[FakeErpNext, str]:
    fake = FakeErpNext()
    fake.put("Sales Order", *fixture("sales_orders.json"))
    fake.put("Delivery Note", *fixture("delivery_notes.json"))
    fake.put("Sales Invoice", *fixture("sales_invoices.json"))
    server = live_server(lambda seen: fake.handle(seen.path, seen.query, seen.headers))
    return fake, server.url


def settings(url: str, **more: Any) -> ErpNextSettings:
    block = {"type": "erpnext", "base_url": url, "api_key": API_KEY, "api_secret": API_SECRET, **more}
    made = registry.lookup("erpnext").settings.model_validate(block)
    assert isinstance(made, ErpNextSettings)
    return made


def read(block: ErpNextSettings, cursor: dict[str, Any] | None = None) -> list[Batch]:
    return poll_all("erp", block, cursor)


def test_sales_orders_map_status_with_their_percentages(site: tuple[FakeErpNext, str]) -> None:
    """Each recorded-shape order gets the fulfilment its status and per_delivered say together and the
    billing its per_billed says; a status nobody mapped is `unmapped`."""
    _, url = site
    block = settings(url)
    found = {
        k: (s.get("fulfillment"), s.get("billing"))
        for k, s in ((k, statuses(block, r)) for k, r in by_id(read(block), None).items())
    }
    assert found == {
        "SAL-ORD-2024-00042": ("preparing", "unbilled"),  # to deliver and bill, 40 % delivered
        "SAL-ORD-2024-00043": ("placed", "unbilled"),
        "SAL-ORD-2024-00044": ("approved", "unbilled"),
        "SAL-ORD-2024-00045": ("shipped", "unbilled"),  # to bill, half billed
        "SAL-ORD-2024-00046": ("shipped", "invoiced"),
        "SAL-ORD-2024-00047": ("approved", "invoiced"),  # billed in advance
        "SAL-ORD-2024-00048": ("on_hold", "unbilled"),
        "SAL-ORD-2024-00041-1": ("cancelled", "unbilled"),  # an amended order, cancelled
        "SAL-ORD-2024-00049": ("closed", "unbilled"),
        "SAL-ORD-2024-00050": ("approved", "unbilled"),  # to pay (v15 advance payment)
        "SAL-ORD-2024-00051": ("unmapped", "unbilled"),
    }


def test_modified_is_the_sites_local_time_with_or_without_microseconds(site: tuple[FakeErpNext, str]) -> None:
    """`modified` has no zone: it is read in the system's `timezone`, with microseconds when Frappe
    writes them and without when they are zero; an empty po_no (null or "") is no reference."""
    _, url = site
    orders = by_id(read(settings(url, timezone="Asia/Kolkata")), None)
    kolkata = ZoneInfo("Asia/Kolkata")
    assert orders["SAL-ORD-2024-00042"].status_at == datetime(2024, 5, 1, 16, 30, 0, 123456, tzinfo=kolkata)
    assert orders["SAL-ORD-2024-00048"].status_at == datetime(2024, 5, 1, 17, 20, tzinfo=kolkata)
    assert orders["SAL-ORD-2024-00042"].external_ref == "PO-7781"
    assert (
        orders["SAL-ORD-2024-00043"].external_ref is None
        and orders["SAL-ORD-2024-00044"].external_ref is None
    )


def test_delivery_notes_and_invoices_attach_by_their_items_orders(site: tuple[FakeErpNext, str]) -> None:
    """Delivery notes come one row per item (the item's against_sales_order), a note of two items read
    once; invoices attach by their items' sales_order; each maps its own status."""
    _, url = site
    block = settings(url)
    batches = read(block)
    notes, invoices = by_id(batches, "erp.deliveries"), by_id(batches, "erp.invoices")
    assert {k: (r.parent_ref, statuses(block, r, "deliveries")["fulfillment"]) for k, r in notes.items()} == {
        "MAT-DN-2024-00012": ("SAL-ORD-2024-00042", "shipped"),
        "MAT-DN-2024-00013": ("SAL-ORD-2024-00042", "preparing"),
        "MAT-DN-2024-00014": ("SAL-ORD-2024-00046", "shipped"),
        "MAT-DN-2024-00015": ("SAL-ORD-2024-00045", "cancelled"),
        "MAT-DN-RET-2024-00001": ("SAL-ORD-2024-00046", "returned"),
    }
    assert sum(1 for b in batches if b.system == "erp.deliveries" for _ in b.records) == 5
    assert {k: statuses(block, r, "invoices")["billing"] for k, r in invoices.items()} == {
        "ACC-SINV-2024-00007": "invoiced",
        "ACC-SINV-2024-00008": "partially_paid",
        "ACC-SINV-2024-00009": "paid",
        "ACC-SINV-RET-2024-00001": "refunded",
        "ACC-SINV-2024-00010": "unbilled",
        "ACC-SINV-2024-00011": "invoiced",
        "ACC-SINV-2024-00012": "voided",
    }
    assert invoices["ACC-SINV-2024-00008"].amounts.invoiced == 900


def test_the_requests_ask_what_frappe_expects(site: tuple[FakeErpNext, str]) -> None:
    """fields and filters as JSON, `modified` strictly after the cursor with microseconds, sorted
    `modified asc, name asc`, limit_start/limit_page_length paging, the key pair as basic auth; the
    child listings filter on their item's order link."""
    fake, url = site
    read(settings(url, page_size=4))
    orders = [q for d, q in fake.asked if d == "Sales Order"]
    assert orders[0]["filters"] == '[["modified", ">", "2000-01-01 00:00:00.000000"]]'
    assert orders[0]["order_by"] == "modified asc, name asc"
    assert (orders[0]["limit_start"], orders[0]["limit_page_length"]) == ("0", "4")
    notes = [q for d, q in fake.asked if d == "Delivery Note"]
    assert '["Delivery Note Item", "against_sales_order", "is", "set"]' in notes[0]["filters"]
    assert set(fake.schemes) == {"Basic"}


def test_the_gap_on_the_sites_time_zone_is_pointed_out_until_set() -> None:
    """`check-config` warns that `modified` is read as UTC until the block names the site's zone."""
    assert any("timezone" in w for w in settings(SITE).warnings())
    assert not any("timezone" in w for w in settings(SITE, timezone="Asia/Kolkata").warnings())


def test_the_docs_configuration_loads_as_written() -> None:
    """The configuration on docs/connectors/erpnext.md is accepted, in 15 lines or fewer, secrets from
    the environment."""
    page = (Path(__file__).parents[3] / "docs" / "connectors" / "erpnext.md").read_text(encoding="utf-8")
    [example] = [b for b in re.findall(r"```yaml\n(.*?)```", page, re.S) if b.startswith("systems:")]
    assert len(example.strip().splitlines()) <= 15
    names = set(re.findall(r"\$\{(\w+)\}", example))
    config = parse_config(example, environ={name: "from-env" for name in names})
    assert isinstance(config.systems["erp"], ErpNextSettings)
