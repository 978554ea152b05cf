"""Polling Shopify (`type: shopify` with base_url and access_token) against a local shop: the conformance
suite, and its own checks on Admin REST's shapes (Link header page_info, updated_at_min inclusive,
status=any, null fulfillment_status, cancelled_at, embedded fulfilments, 429 with a float Retry-After)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from connectors.conformance import MYSTERY, PICKING, SHIPPED, ApiSource, ApiSuite, Order, StartServer
from connectors.presets.bulk import CHANGES, COUNT, sync_then_changes
from connectors.presets.shopify_server import THROTTLED, TOKEN, Shop, shopify_order
from live_http import Seen

from orderbridge.config.loader import parse_config
from orderbridge.connectors import registry
from orderbridge.connectors.shopify.settings import ShopifySettings
from orderbridge.mapping.model import Dimension
from orderbridge.mapping.status import map_statuses
from orderbridge.storage.db import Store

WORDS = {PICKING: "partial", SHIPPED: "fulfilled", MYSTERY: "scheduled"}
NEW_YORK = timezone(timedelta(hours=-5))


class ShopifySource(ApiSource):
    connector_type = "shopify"
    minimal: ClassVar[dict[str, Any]] = {
        "type": "shopify",
        "base_url": "https://demo-shop.myshopify.com",
        "access_token": TOKEN,
    }
    misspelled = ("access_tokn", "access_token")
    bad_reason = "total_price"
    vendor_error_text = "updated_at_min"
    rereads_at_cursor = True  # updated_at_min is inclusive, and the overlap re-reads the last minute

    def __init__(self, server: StartServer) -> None:
        self.shop = Shop()
        super().__init__(server)

    def block(self) -> dict[str, Any]:
        return shopify_block(self.url, page_size=2)

    def publish(self, new: list[Order]) -> None:
        publish_to(self.shop)(new)
        for item in new:
            if item.bad:
                self.shop.orders[450789469000 + serial(item)]["total_price"] = "n/a"

    def answer(self, seen: Seen) -> tuple[Any, ...]:
        return self.shop.handle(seen)

    def vendor_error(self) -> tuple[Any, ...]:
        return (200, {"errors": {"updated_at_min": ["is not a valid date"]}})

    def throttle(self, retry_after: int) -> tuple[Any, ...]:
        body = {"errors": THROTTLED}
        return (429, body, [("Retry-After", f"{retry_after:.1f}")])


class TestShopifyConformance(ApiSuite):
    source_class = ShopifySource


def serial(order: Order) -> int:
    return int(order.number.removeprefix("SO-"))


def shopify_block(url: str, **more: Any) -> dict[str, Any]:
    return {**ShopifySource.minimal, "base_url": url, "retry": {"initial_wait": "0.05s"}, **more}


def publish_to(shop: Shop) -> Callable[[list[Order]], None]:
    def publish(new: list[Order]) -> None:
        for item in new:
            # The shop's order names have its own prefix, SO- (Shopify's default is #)
            record = shopify_order(item.number, WORDS[item.status], item.updated, serial(item))
            shop.orders[record["id"]] = record

    return publish


def polled(settings: ShopifySettings, cursor: dict[str, Any] | None = None) -> list[Any]:
    connector = registry.create("shop", settings)
    try:
        return [r for b in connector.poll(cursor, threading.Event()) for r in b.records]
    finally:
        connector.close()


def test_a_thousand_orders_sync_across_pages_then_only_the_changed_ones(
    store: Store, live_server: Any
) -> None:
    """Against a shop that pages 250 at a time by Link header page_info, filters by updated_at_min and
    answers every 3rd request 429 with Retry-After 0.2: 1,000 orders stored once each (with their
    fulfilments), then the 37 changed ones and nothing else."""
    shop = Shop(throttle_every=3, retry_after="0.2")
    server = live_server(shop.handle)
    settings = ShopifySettings.model_validate(shopify_block(server.url))
    first, second, _ = sync_then_changes(store, settings, publish_to(shop), orders_only=True)
    assert shop.throttled > 0
    assert all(q["status"] == "any" for q in shop.asked if "page_info" not in q)
    assert second.records <= 2 * (CHANGES + 1)  # the changed orders, their fulfilments, the overlap's one
    assert first.records >= COUNT


def test_null_fulfillment_status_is_unfulfilled_and_cancelled_at_cancels(live_server: Any) -> None:
    """A null fulfillment_status is an order not yet fulfilled (placed); cancelled_at makes it
    cancelled whatever its fulfilment; money as a string is the amount; `-05:00` is that instant; the
    order's name without its # is the order number."""
    shop = Shop()
    server = live_server(shop.handle)
    placed = shopify_order("#1001", None, datetime(2026, 11, 20, 10, 0, 5, tzinfo=NEW_YORK), 1)
    cancelled = shopify_order("#1002", None, datetime(2026, 11, 20, 10, 0, 6, tzinfo=NEW_YORK), 2)
    cancelled |= {
        "cancelled_at": "2026-11-20T10:00:06-05:00",
        "cancel_reason": "customer",
        "financial_status": "voided",
    }
    for order in (placed, cancelled):
        shop.orders[order["id"]] = order
    settings = ShopifySettings.model_validate(shopify_block(server.url))
    found = {r.order_ref: r for r in polled(settings)}
    assert set(found) == {"#1001", "#1002"}
    first = map_statuses(settings.status, found["#1001"].native_status)
    assert first[Dimension.fulfillment].status == "placed" and first[Dimension.billing].status == "paid"
    second = map_statuses(settings.status, found["#1002"].native_status)
    assert (
        second[Dimension.fulfillment].status == "cancelled" and second[Dimension.billing].status == "voided"
    )
    assert found["#1001"].status_at == datetime(2026, 11, 20, 15, 0, 5, tzinfo=UTC)
    assert found["#1001"].amounts.order == Decimal("199.00")
    assert settings.order_id.field == "name" and settings.order_id.strip_prefix == ["#"]


def test_fulfilments_are_records_of_the_shop_linked_to_their_order(live_server: Any) -> None:
    """Each embedded fulfilment becomes the record a fulfilments/update push would: its shipment
    status, linked to the order by Shopify's order id and by its tracking number."""
    shop = Shop()
    server = live_server(shop.handle)
    order = shopify_order(
        "1003", "fulfilled", datetime(2026, 11, 20, 10, 0, 5, tzinfo=NEW_YORK), 3, shipped="in_transit"
    )
    shop.orders[order["id"]] = order
    settings = ShopifySettings.model_validate(shopify_block(server.url))
    records = {r.record_id: r for r in polled(settings)}
    fulfilment = records["fulfillment:255858046003"]
    assert fulfilment.links == {"shopify_order": "450789469003", "tracking_number": "SF0000000003"}
    statuses = map_statuses(settings.status, fulfilment.native_status)
    assert statuses[Dimension.shipment].status == "in_transit"
    # It says nothing of billing, and its fulfilment is what the shipment implies: nothing unmapped.
    assert Dimension.billing not in statuses
    assert (statuses[Dimension.fulfillment].status, statuses[Dimension.fulfillment].implied) == (
        "shipped",
        True,
    )
    assert records["450789469003"].quantities.shipped == 2


def test_closed_and_cancelled_orders_are_asked_for_with_status_any(live_server: Any) -> None:
    """Shopify lists only open orders unless asked for any: a cancelled order is still read."""
    shop = Shop()
    server = live_server(shop.handle)
    order = shopify_order("#1004", None, datetime(2026, 11, 20, 10, 0, 5, tzinfo=NEW_YORK), 4)
    order |= {"cancelled_at": "2026-11-20T10:00:05-05:00", "closed_at": "2026-11-20T10:00:05-05:00"}
    shop.orders[order["id"]] = order
    assert [r.order_ref for r in polled(ShopifySettings.model_validate(shopify_block(server.url)))] == [
        "#1004"
    ]


def test_one_shopify_block_both_receives_pushes_and_polls(live_server: Any) -> None:
    """With a webhook secret and an access token the shop is both received and polled; with only the
    secret it is received only; a token without the shop's address is refused."""
    secret = {"webhook": {"secret": "shpss_0a1b2c3d4e5f6a7b8c9d"}}
    both = parse_config_block({**ShopifySource.minimal, **secret})
    assert both.pushing and both.polling and registry.polls(both)
    pushes = parse_config_block({"type": "shopify", **secret})
    assert pushes.pushing and not pushes.polling and not registry.polls(pushes)
    with pytest.raises(Exception, match="base_url"):
        ShopifySettings.model_validate({"type": "shopify", "access_token": TOKEN})


def parse_config_block(block: dict[str, Any]) -> ShopifySettings:
    import yaml

    settings = parse_config(yaml.safe_dump({"systems": {"shop": block}})).systems["shop"]
    assert isinstance(settings, ShopifySettings)
    return settings


def test_probe_finds_every_field_the_preset_reads(live_server: Any) -> None:
    """`orderbridge probe` on a polled shop reads one page and finds every path the preset uses, the
    derived fulfilment status included, with nothing to fix."""
    from orderbridge.connectors.probe import probe

    shop = Shop()
    server = live_server(shop.handle)
    order = shopify_order(
        "#1005", "partial", datetime(2026, 11, 20, 10, 0, 5, tzinfo=NEW_YORK), 5, shipped="confirmed"
    )
    shop.orders[order["id"]] = order
    report = probe("shop", ShopifySettings.model_validate(shopify_block(server.url)))
    assert report.records >= 1 and report.error is None
    assert report.problems == []
    assert {f.path for f in report.fields} >= {"name", "updated_at", "fulfillment", "financial_status"}
