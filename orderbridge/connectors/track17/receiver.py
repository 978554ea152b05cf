"""17TRACK pushes: header `sign` = lower-case hex SHA-256 (a plain hash) of `raw body + "/" + key`,
the key being the account API key. No event id: dedupe on number, carrier, latest event time and
sub-status."""

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
from orderbridge.connectors.push.signatures import DigestSignature, SignatureScheme
from orderbridge.connectors.track17.settings import Track17Settings
from orderbridge.mapping.model import SourceRecord


class Track17Receiver(Receiver):
    settings: Track17Settings

    def signature(self) -> SignatureScheme:
        assert self.settings.webhook is not None and self.settings.webhook.secret is not None
        return DigestSignature(
            self.settings.webhook.secret.get_secret_value(),
            signature_at="header:sign",
            message="{body}/{secret}",
        )

    def identify(self, request: PushRequest) -> str:
        body = json_object(request.body, request.charset)
        data = body.get("data")
        if not isinstance(data, dict) or not text(data.get("number")):
            raise Malformed("no data.number (the tracking number)")
        info = obj(data.get("track_info"))
        latest = obj(info.get("latest_event"))
        status = obj(info.get("latest_status"))
        return derived_key(
            body.get("event"),
            data.get("number"),
            data.get("carrier"),
            latest.get("time_utc"),
            status.get("sub_status"),
        )

    def parse(self, event: StoredEvent) -> list[SourceRecord]:
        body = decode_stored_json(event)
        data = body.get("data")
        if not isinstance(data, dict):
            raise EventError("no `data` object in the push")
        return [track_record(self.name, self.settings, data)]


def track_record(system: str, settings: Track17Settings, data: dict[str, Any]) -> SourceRecord:
    """One 17TRACK tracking (a push's `data`, or an accepted item of gettrackinfo) as a record."""
    number = text(data.get("number"))
    if number is None:
        raise EventError("no tracking number (`number`)")
    info = data.get("track_info")
    if not isinstance(info, dict):
        info = {}
    latest_status = obj(info.get("latest_status"))
    latest_event = obj(info.get("latest_event"))
    status, sub_status = text(latest_status.get("status")), text(latest_status.get("sub_status"))
    if status is None and sub_status is None:
        status = "NotFound"  # registered, nothing tracked yet: track_info is null
    return parcel_record(
        system,
        settings,
        tracking_number=number,
        native={"status": status, "sub_status": sub_status},
        status_at=aware_time(latest_event.get("time_utc")) or aware_time(latest_event.get("time_iso")),
        order_ref=text(data.get("tag")),
        reason=sub_status,
        raw=data,
    )
