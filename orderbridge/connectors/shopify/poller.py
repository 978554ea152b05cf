"""Polling Shopify's Admin REST orders: the REST connector reads the listing (Link header paging,
updated_at_min), and each order becomes the records a pushed one does: the order and its fulfilments."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from typing import Any

from orderbridge.connectors.base import Batch
from orderbridge.connectors.rest.connector import RestConnector
from orderbridge.connectors.rest.settings import RestSettings
from orderbridge.connectors.shopify.receiver import fulfillment_record, order_record
from orderbridge.mapping.model import SourceRecord


class ShopifyPoller(RestConnector):
    @staticmethod
    def build(system: str, item: dict[str, Any], settings: RestSettings) -> list[SourceRecord]:
        fulfillments = [f for f in item.get("fulfillments") or [] if isinstance(f, dict)]
        return [order_record(system, item), *(fulfillment_record(system, f) for f in fulfillments)]

    def poll(self, cursor: dict[str, Any] | None, stop: threading.Event) -> Iterator[Batch]:
        """Each page as two batches: its orders, then its fulfilments with the page's cursor. A
        fulfilment finds its order by Shopify's order id only once the order is stored; a crash
        between the two re-reads the page."""
        for batch in super().poll(cursor, stop):
            fulfilments = [r for r in batch.records if r.order_ref is None]
            if not fulfilments:
                yield batch
                continue
            orders = [r for r in batch.records if r.order_ref is not None]
            yield dataclasses.replace(batch, records=orders, cursor=None)
            yield dataclasses.replace(
                batch, label=f"{batch.label} fulfilments", records=fulfilments, problems=[]
            )
