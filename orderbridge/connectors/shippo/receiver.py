"""Shippo `track_updated`: `{"event", "test", "data": Track}`. Signed, when Shippo has provisioned a
secret, with `Shippo-Auth-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">` (5 minutes' tolerance);
otherwise told apart by a ?token= in the URL or Shippo's addresses. "Tracking webhooks are not
idempotent" and carry no event id: dedupe on carrier, number and the tracking status's object id."""

from __future__ import annotations

from typing import Any

from orderbridge.connectors.push.base import (
    EventError,
    Malformed,
    PushRequest,
    Receiver,
    StoredEvent,
    decode_stored_json,
    derived_key,
    json_object,
)
from orderbridge.connectors.push.parcels import aware_time, obj, parcel_record, text
from orderbridge.connectors.push.signatures import SignatureScheme, TimestampedHmacSignature, Unsigned
from orderbridge.connectors.shippo.settings import ShippoSettings
from orderbridge.mapping.model import SourceRecord


class ShippoReceiver(Receiver):
    settings: ShippoSettings

    def signature(self) -> SignatureScheme:
        webhook = self.settings.webhook
        if webhook is None or webhook.secret is None:
            return Unsigned()
        return TimestampedHmacSignature(
            webhook.secret.get_secret_value(),
            header="shippo-auth-signature",
            tolerance=self.settings.tolerance,
        )

    def identify(self, request: PushRequest) -> str:
        body = json_object(request.body, request.charset)
        data = body.get("data")
        if not isinstance(data, dict) or not text(data.get("tracking_number")):
            raise Malformed("no data.tracking_number")
        status = obj(data.get("tracking_status"))
        return derived_key(
            data.get("carrier"),
            data.get("tracking_number"),
            status.get("object_id") or status.get("status_date"),
            status.get("status"),
        )

    def parse(self, event: StoredEvent) -> list[SourceRecord]:
        body = decode_stored_json(event)
        if body.get("event") not in ("track_updated", None):
            return []
        data = body.get("data")
        if not isinstance(data, dict):
            raise EventError("no `data` object (the Track)")
        return [track_record(self.name, self.settings, data)]


def track_record(system: str, settings: ShippoSettings, track: dict[str, Any]) -> SourceRecord:
    number = text(track.get("tracking_number"))
    if number is None:
        raise EventError("the Track has no tracking_number")
    status = obj(track.get("tracking_status"))
    substatus = obj(status.get("substatus"))
    return parcel_record(
        system,
        settings,
        tracking_number=number,
        native={"status": text(status.get("status")), "substatus": text(substatus.get("code"))},
        status_at=aware_time(status.get("status_date")),
        order_ref=text(track.get("metadata")),
        reason=text(substatus.get("code")),
        raw=track,
    )
