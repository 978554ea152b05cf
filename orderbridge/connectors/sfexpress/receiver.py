"""SF route pushes. JSON mode: `{"Body":{"WaybillRoute":[...]}}`, answered `{"return_code":"0000",...}`;
form mode: field `content` holding XML, answered with XML `OK`. Nothing is signed: the endpoint needs
webhook.path_token and/or webhook.allow_ips. Pushes are incremental (up to 10 route nodes, possibly
of several waybills); a failed push is re-sent whole. Dedupe on the route node ids."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from typing import Any, ClassVar

from orderbridge.connectors.push.base import (
    EventError,
    Malformed,
    PushRequest,
    Receiver,
    Reply,
    StoredEvent,
    derived_key,
    form_fields,
    json_object,
)
from orderbridge.connectors.push.parcels import local_time, parcel_record, text
from orderbridge.connectors.push.signatures import SignatureScheme, Unsigned
from orderbridge.connectors.sfexpress.settings import SfExpressSettings
from orderbridge.mapping.model import SourceRecord
from orderbridge.mapping.timeparse import zone

FORM = "application/x-www-form-urlencoded"
JSON_ACK = '{"return_code":"0000","return_msg":"成功"}'.encode()
XML_ACK = (
    b'<?xml version="1.0" encoding="UTF-8"?><Response service="RoutePushService"><Head>OK</Head></Response>'
)
FIELDS = (
    "id",
    "mailno",
    "orderid",
    "acceptTime",
    "acceptAddress",
    "remark",
    "opCode",
    "reasonCode",
    "reasonName",
)


class SfExpressReceiver(Receiver):
    settings: SfExpressSettings
    media_types: ClassVar[tuple[str, ...]] = ("application/json", FORM)
    ack_body: ClassVar[bytes] = JSON_ACK

    def signature(self) -> SignatureScheme:
        return Unsigned()

    def identify(self, request: PushRequest) -> str:
        routes = read_routes(request.body, request.media_type == FORM, Malformed)
        return derived_key(
            *sorted(
                r.get("id") or f"{r.get('mailno')}/{r.get('opCode')}/{r.get('acceptTime')}" for r in routes
            )
        )

    def acknowledge(self, request: PushRequest) -> Reply:
        if request.media_type == FORM and (
            self.settings.webhook is None or self.settings.webhook.ack is None
        ):
            return Reply(200, XML_ACK, "application/xml")
        return super().acknowledge(request)

    def refuse(self, status: int, reason: str) -> Reply:
        body = {"return_code": "1000", "return_msg": reason}
        return Reply(
            status, json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(), "application/json"
        )

    def parse(self, event: StoredEvent) -> list[SourceRecord]:
        form = (event.header("content-type") or "").startswith(FORM)
        tz = zone(self.settings.timezone)
        records = []
        for route in read_routes(event.body, form, EventError):
            number = text(route.get("mailno"))
            if number is None:
                raise EventError("a WaybillRoute has no mailno")
            records.append(
                parcel_record(
                    self.name,
                    self.settings,
                    tracking_number=number,
                    native={"opCode": text(route.get("opCode")), "reasonCode": text(route.get("reasonCode"))},
                    status_at=local_time(route.get("acceptTime"), tz),
                    order_ref=text(route.get("orderid")),
                    reason=text(route.get("reasonCode")) or text(route.get("reasonName")),
                    raw=route,
                )
            )
        # Oldest first: the newest node of a waybill is its latest observation.
        return sorted(records, key=lambda r: (r.status_at is None, r.status_at))


def read_routes(body: bytes, form: bool, error: type[Exception]) -> list[dict[str, Any]]:
    if form:
        try:
            content = form_fields(body).get("content")
        except Malformed as exc:
            raise error(exc.reason) from None
        if not content:
            raise error("no `content` form field (the route XML)")
        routes = _xml_routes(content, error)
    else:
        try:
            data = json_object(body)
        except Malformed as exc:
            raise error(exc.reason) from None
        found = (data.get("Body") or {}).get("WaybillRoute") if isinstance(data.get("Body"), dict) else None
        routes = found if isinstance(found, list) else [found] if isinstance(found, dict) else []
    routes = [r for r in routes if isinstance(r, dict)]
    if not routes:
        raise error("no WaybillRoute in the push")
    return routes


def _xml_routes(content: str, error: type[Exception]) -> list[dict[str, Any]]:
    if "<!DOCTYPE" in content or "<!ENTITY" in content:
        raise error("the route XML declares a DOCTYPE or entities, which are refused")
    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError as exc:
        raise error(f"the route XML cannot be read: {exc}") from None
    routes = []
    for node in root.iter("WaybillRoute"):
        route = {name: node.get(name) for name in FIELDS if node.get(name) is not None}
        route.update({child.tag: (child.text or "").strip() for child in node if child.tag in FIELDS})
        routes.append(route)
    return routes
