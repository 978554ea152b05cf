"""Karrio webhooks: `{"event": "tracker_updated", "data": {tracking_number, carrier_name, status,
events[] (newest first), ...}}`. No HMAC: the webhook's secret comes in plain text in `X-Event-Id`,
compared in constant time and never stored. No event id: dedupe on number, status and newest event."""

from __future__ import annotations

from typing import Any

from orderbridge.connectors.karrio.settings import KarrioSettings
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
from orderbridge.connectors.push.parcels import aware_time, local_time, parcel_record, text
from orderbridge.connectors.push.signatures import SharedSecret, SignatureScheme
from orderbridge.mapping.model import SourceRecord
from orderbridge.mapping.timeparse import zone

TRACKER_EVENTS = ("tracker_updated", "tracker_created", "tracker.updated", "tracker.created")


class KarrioReceiver(Receiver):
    settings: KarrioSettings

    def signature(self) -> SignatureScheme:
        assert self.settings.webhook is not None and self.settings.webhook.secret is not None
        return SharedSecret(self.settings.webhook.secret.get_secret_value(), header="x-event-id")

    def identify(self, request: PushRequest) -> str:
        body = json_object(request.body, request.charset)
        data = body.get("data")
        if not isinstance(data, dict):
            raise Malformed("no `data` object")
        newest = _newest(data)
        return derived_key(
            body.get("event"),
            data.get("carrier_name"),
            data.get("tracking_number") or data.get("id"),
            data.get("status"),
            newest.get("date"),
            newest.get("time"),
            newest.get("code"),
            newest.get("description"),
        )

    def parse(self, event: StoredEvent) -> list[SourceRecord]:
        body = decode_stored_json(event)
        if body.get("event") not in TRACKER_EVENTS:
            return []  # shipment_*, order_*, batch_*: nothing about a parcel's progress
        data = body.get("data")
        if not isinstance(data, dict):
            raise EventError("no `data` object (the tracker)")
        number = text(data.get("tracking_number"))
        if number is None:
            raise EventError("the tracker has no tracking_number")
        newest = _newest(data)
        when = aware_time(newest.get("timestamp"))
        if when is None and newest.get("date"):
            stamp = f"{newest['date']} {newest.get('time') or '00:00'}".strip()
            when = local_time(stamp, zone(self.settings.timezone))
        return [
            parcel_record(
                self.name,
                self.settings,
                tracking_number=number,
                native={"status": text(data.get("status"))},
                status_at=when,
                reason=text(newest.get("reason")) or text(newest.get("code")),
                raw=data,
            )
        ]


def _newest(data: dict[str, Any]) -> dict[str, Any]:
    events = data.get("events")
    return events[0] if isinstance(events, list) and events and isinstance(events[0], dict) else {}
