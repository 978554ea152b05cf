"""Shopify webhooks: `X-Shopify-Hmac-Sha256` = base64 HMAC-SHA256 of the raw body with the app's client
secret; the topic in `X-Shopify-Topic`; deliveries at least once and unordered, deduplicated on
`X-Shopify-Webhook-Id`. Order topics carry the Order resource, fulfilment topics a Fulfillment."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from orderbridge.connectors.push.base import (
    EventError,
    PushRequest,
    Receiver,
    StoredEvent,
    body_key,
    decode_stored_json,
    json_object,
)
from orderbridge.connectors.push.parcels import TRACKING_NUMBER, aware_time, text
from orderbridge.connectors.push.signatures import HmacSignature, SignatureScheme
from orderbridge.connectors.shopify.settings import ShopifySettings
from orderbridge.mapping.model import Amounts, Quantities, SourceRecord

SHOPIFY_ORDER = "shopify_order"  # link type: Shopify's numeric order id, which fulfilments name


class ShopifyReceiver(Receiver):
    settings: ShopifySettings
    kept_headers: ClassVar[tuple[str, ...]] = (
        "x-shopify-topic",
        "x-shopify-webhook-id",
        "x-shopify-event-id",
        "x-shopify-shop-domain",
        "x-shopify-api-version",
        "x-shopify-triggered-at",
    )

    def signature(self) -> SignatureScheme:
        assert self.settings.webhook is not None and self.settings.webhook.secret is not None
        return HmacSignature(
            self.settings.webhook.secret.get_secret_value(),
            signature_at="header:x-shopify-hmac-sha256",
            encoding="base64",
        )

    def identify(self, request: PushRequest) -> str:
        json_object(request.body, request.charset)
        delivery = request.header("x-shopify-webhook-id")
        topic = request.header("x-shopify-topic") or ""
        return f"webhook:{delivery}" if delivery else f"{topic}:{body_key(request.body)}"

    def parse(self, event: StoredEvent) -> list[SourceRecord]:
        body = decode_stored_json(event)
        topic = event.header("x-shopify-topic") or ("orders/updated" if "line_items" in body else "")
        if topic.startswith("orders/"):
            return [order_record(self.name, body)]
        if topic.startswith("fulfillments/"):
            return [fulfillment_record(self.name, body)]
        return []  # refunds/create, customers/*, ...


def order_record(system: str, order: dict[str, Any]) -> SourceRecord:
    """A Shopify Order resource (a webhook body, or one of GET /orders.json) as a record."""
    order_id = text(order.get("id"))
    if order_id is None:
        raise EventError("the order has no `id`")
    fulfillments = [f for f in order.get("fulfillments") or [] if isinstance(f, dict)]
    latest = fulfillments[-1] if fulfillments else {}
    # fulfillment_status null means unfulfilled; absent means the payload does not say.
    if order.get("cancelled_at"):
        fulfillment: str | None = "cancelled"
    elif "fulfillment_status" in order:
        fulfillment = text(order["fulfillment_status"]) or "unfulfilled"
    else:
        fulfillment = None
    shipped = sum(
        _quantity(line)
        for f in fulfillments
        if f.get("status") in ("success", None)
        for line in f.get("line_items") or []
        if isinstance(line, dict)
    )
    ordered = sum(_quantity(line) for line in order.get("line_items") or [] if isinstance(line, dict))
    tracking = _tracking(latest)
    return SourceRecord(
        system=system,
        record_id=order_id,
        order_ref=text(order.get("name")),
        native_status={
            "fulfillment": fulfillment,
            "financial_status": text(order.get("financial_status")),
            "shipment_status": text(latest.get("shipment_status")),
        },
        status_at=aware_time(order.get("updated_at")),
        quantities=Quantities(
            ordered=Decimal(ordered) if order.get("line_items") is not None else None,
            shipped=Decimal(shipped) if fulfillments else None,
        ),
        amounts=Amounts(order=_money(order.get("total_price")), currency=text(order.get("currency"))),
        links={SHOPIFY_ORDER: order_id, **({TRACKING_NUMBER: tracking} if tracking else {})},
        reason=text(order.get("cancel_reason")),
        raw=order,
    )


def fulfillment_record(system: str, fulfillment: dict[str, Any]) -> SourceRecord:
    """A Fulfillment (fulfillments/create|update): its shipment status, linked to its order by
    Shopify's order id and by its tracking number."""
    fulfillment_id, order_id = text(fulfillment.get("id")), text(fulfillment.get("order_id"))
    if fulfillment_id is None or order_id is None:
        raise EventError("the fulfillment has no `id` or no `order_id`")
    tracking = _tracking(fulfillment)
    return SourceRecord(
        system=system,
        record_id=f"fulfillment:{fulfillment_id}",
        native_status={"shipment_status": text(fulfillment.get("shipment_status"))},
        status_at=aware_time(fulfillment.get("updated_at")),
        links={SHOPIFY_ORDER: order_id, **({TRACKING_NUMBER: tracking} if tracking else {})},
        raw=fulfillment,
    )


def _tracking(fulfillment: dict[str, Any]) -> str | None:
    numbers = fulfillment.get("tracking_numbers")
    if isinstance(numbers, list) and numbers:
        return text(numbers[0])
    return text(fulfillment.get("tracking_number"))


def _quantity(line: dict[str, Any]) -> int:
    value = line.get("quantity")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _money(value: Any) -> Decimal | None:
    """Shopify writes money as strings ("199.00")."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise EventError(f"total_price {value!r} is not an amount") from None
