"""EasyPost Event webhooks: `X-Hmac-Signature: hmac-sha256-hex=<hex>`, an HMAC-SHA256 of the raw body
keyed with the NFKD-normalised webhook secret. Dedupe on the Event id (`evt_...`)."""

from __future__ import annotations

from typing import Any

import structlog

from orderbridge.connectors.easypost.settings import EasyPostSettings
from orderbridge.connectors.push.base import (
    EventError,
    Malformed,
    PushRequest,
    Receiver,
    StoredEvent,
    decode_stored_json,
    json_object,
)
from orderbridge.connectors.push.parcels import aware_time, parcel_record, text
from orderbridge.connectors.push.signatures import HmacSignature, SignatureScheme
from orderbridge.mapping.model import SourceRecord

log = structlog.get_logger("orderbridge.webhooks")


class EasyPostReceiver(Receiver):
    settings: EasyPostSettings

    def authenticate(self, request: PushRequest) -> None:
        """v1 (X-Hmac-Signature) is verified. A v2 signature (x-hmac-signature-v2 with x-timestamp, of an
        uncertain scope) is not: its presence is logged, so a change on EasyPost's side is seen."""
        if request.header("x-hmac-signature-v2") is not None:
            log.info("easypost sent an x-hmac-signature-v2 header; the v1 signature is what is verified")
        super().authenticate(request)

    def signature(self) -> SignatureScheme:
        assert self.settings.webhook is not None and self.settings.webhook.secret is not None
        return HmacSignature(
            self.settings.webhook.secret.get_secret_value(),
            signature_at="header:x-hmac-signature",
            prefix="hmac-sha256-hex=",
            nfkd=True,
        )

    def identify(self, request: PushRequest) -> str:
        body = json_object(request.body, request.charset)
        event_id = text(body.get("id"))
        if event_id is None:
            raise Malformed("no Event `id`")
        return f"event:{event_id}"

    def parse(self, event: StoredEvent) -> list[SourceRecord]:
        body = decode_stored_json(event)
        result = body.get("result")
        if not isinstance(result, dict):
            raise EventError("no `result` object in the Event")
        if result.get("object") not in ("Tracker", None) or not str(
            body.get("description", "tracker")
        ).startswith("tracker"):
            return []  # batch.*, refund.*, ...: nothing about a parcel
        return [tracker_record(self.name, self.settings, result)]


def tracker_record(system: str, settings: EasyPostSettings, tracker: dict[str, Any]) -> SourceRecord:
    """An EasyPost Tracker (an Event's `result`, or GET /trackers/<id>) as a record."""
    number = text(tracker.get("tracking_code"))
    if number is None:
        raise EventError("the Tracker has no tracking_code")
    status, detail = text(tracker.get("status")), text(tracker.get("status_detail"))
    if status == "return_to_sender" and tracker.get("is_return") and detail == "delivered":
        status = "returned_to_sender"  # the return reached the sender
    # tracking_details[].datetime is local time where the location is known, written as if UTC:
    # the Tracker's own updated_at (UTC) orders its changes.
    return parcel_record(
        system,
        settings,
        tracking_number=number,
        native={"status": status, "status_detail": detail},
        status_at=aware_time(tracker.get("updated_at")),
        reason=detail,
        raw=tracker,
    )
