"""Cainiao messages: form fields `logistics_interface` (JSON, or XML), `data_digest` =
Base64(MD5(logistics_interface + secret)), `msg_type`, `logistic_provider_id`, and sometimes `msg_id`.
A `+` sent unencoded in the form reads as a space and would break the digest; both readings are
tried. No documented event id: dedupe on msg_id, else on waybill, status and time."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from typing import Any, ClassVar

from orderbridge.connectors.cainiao.settings import CainiaoSettings
from orderbridge.connectors.push.base import (
    EventError,
    Malformed,
    PushRequest,
    Receiver,
    StoredEvent,
    derived_key,
    form_fields,
)
from orderbridge.connectors.push.parcels import local_time, parcel_record, text
from orderbridge.connectors.push.signatures import DigestSignature, SignatureScheme
from orderbridge.mapping.model import SourceRecord
from orderbridge.mapping.timeparse import zone

FORM = "application/x-www-form-urlencoded"


class CainiaoReceiver(Receiver):
    settings: CainiaoSettings
    media_types: ClassVar[tuple[str, ...]] = (FORM,)
    ack_body: ClassVar[bytes] = b'{"success":"true"}'

    def signature(self) -> SignatureScheme:
        assert self.settings.webhook is not None and self.settings.webhook.secret is not None
        return DigestSignature(
            self.settings.webhook.secret.get_secret_value(),
            signature_at="form:data_digest",
            message="{form:logistics_interface}{secret}",
            algorithm="md5",
            encoding="base64",
            charset=self.settings.charset,
        )

    def identify(self, request: PushRequest) -> str:
        fields = form_fields(request.body, request.charset)
        items = reports(fields, Malformed)
        if msg_id := text(fields.get("msg_id")):
            return f"msg:{msg_id}"
        return derived_key(
            fields.get("msg_type"),
            *(f"{i.get('mailNo')}/{i.get('logisticsStatus')}/{i.get('logisticsGmtModified')}" for i in items),
        )

    def parse(self, event: StoredEvent) -> list[SourceRecord]:
        try:
            fields = form_fields(event.body)
        except Malformed as exc:
            raise EventError(exc.reason) from None
        tz = zone(self.settings.timezone)
        records = []
        for item in reports(fields, EventError):
            number = text(item.get("mailNo"))
            if number is None:
                raise EventError("a report has no mailNo")
            records.append(
                parcel_record(
                    self.name,
                    self.settings,
                    tracking_number=number,
                    native={"logisticsStatus": text(item.get("logisticsStatus"))},
                    status_at=local_time(item.get("logisticsGmtModified"), tz),
                    order_ref=text(item.get("outerOrderCode")),
                    reason=text(item.get("logisticsStatusDesc")),
                    raw=item,
                )
            )
        return sorted(records, key=lambda r: (r.status_at is None, r.status_at))


def reports(fields: dict[str, str], error: type[Exception]) -> list[dict[str, Any]]:
    """The logistics reports of a message: its JSON (an object, or an array of them) or its XML."""
    content = fields.get("logistics_interface")
    if not content:
        raise error("no logistics_interface form field")
    content = content.strip()
    if content.startswith("<"):
        return _xml(content, error)
    try:
        data = json.loads(content)
    except (ValueError, RecursionError) as exc:
        raise error(f"logistics_interface is not JSON: {exc}") from None
    items = data if isinstance(data, list) else [data]
    found = [item for item in items if isinstance(item, dict)]
    if not found:
        raise error("logistics_interface holds no report object")
    return found


def _xml(content: str, error: type[Exception]) -> list[dict[str, Any]]:
    if "<!DOCTYPE" in content or "<!ENTITY" in content:
        raise error("logistics_interface declares a DOCTYPE or entities, which are refused")
    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError as exc:
        raise error(f"logistics_interface is not readable XML: {exc}") from None
    holders = [root] if root.find("mailNo") is not None else [n for n in root if n.find("mailNo") is not None]
    return [{child.tag: (child.text or "").strip() for child in holder} for holder in holders]
