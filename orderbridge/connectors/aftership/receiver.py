"""AfterShip Tracking webhooks: `aftership-hmac-sha256` = base64 HMAC-SHA256 of the raw body with the
webhook secret (as UTF-8, not decoded). Sibling products sign the same way under other headers, one
with an `hmac-sha256=` prefix. The status is in `msg.tag`/`msg.subtag`; dedupe on `event_id`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from orderbridge.connectors.aftership.settings import AfterShipSettings
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
from orderbridge.connectors.push.parcels import aware_time, parcel_record, text
from orderbridge.connectors.push.signatures import HmacSignature, SignatureScheme
from orderbridge.mapping.model import SourceRecord

HEADERS = "header:aftership-hmac-sha256|header:as-signature-hmac-sha256|header:am-webhook-signature"


class AfterShipReceiver(Receiver):
    settings: AfterShipSettings
    kept_headers: ClassVar[tuple[str, ...]] = ("as-webhook-version",)

    def signature(self) -> SignatureScheme:
        assert self.settings.webhook is not None and self.settings.webhook.secret is not None
        return HmacSignature(
            self.settings.webhook.secret.get_secret_value(),
            signature_at=HEADERS,
            encoding="base64",
            prefix="hmac-sha256=",
        )

    def identify(self, request: PushRequest) -> str:
        body = json_object(request.body, request.charset)
        if event_id := text(body.get("event_id")):
            return f"event:{event_id}"
        msg = body.get("msg")
        if not isinstance(msg, dict) or not text(msg.get("tracking_number")):
            raise Malformed("no event_id, and no msg.tracking_number to tell the event by")
        return derived_key(
            msg.get("slug"), msg.get("tracking_number"), msg.get("tag"), msg.get("subtag"), body.get("ts")
        )

    def parse(self, event: StoredEvent) -> list[SourceRecord]:
        body = decode_stored_json(event)
        msg = body.get("msg")
        if not isinstance(msg, dict):
            raise EventError("no `msg` object (the tracking) in the event")
        sent = body.get("ts")
        fallback = datetime.fromtimestamp(sent, UTC) if isinstance(sent, int | float) else None
        found = tracking_record(self.name, self.settings, msg, fallback)
        return [found] if found is not None else []


def tracking_record(
    system: str, settings: AfterShipSettings, tracking: dict[str, Any], fallback: datetime | None = None
) -> SourceRecord | None:
    """An AfterShip Tracking object (a webhook's `msg`, or one from the tracking API) as a record; None
    when it names no tracking number (an event about something else)."""
    number = text(tracking.get("tracking_number"))
    if number is None:
        return None
    tag, subtag = text(tracking.get("tag")), text(tracking.get("subtag"))
    checkpoints = tracking.get("checkpoints")
    last = (
        checkpoints[-1]
        if isinstance(checkpoints, list) and checkpoints and isinstance(checkpoints[-1], dict)
        else {}
    )
    # checkpoint_time is in the checkpoint's local time and often has no offset: trusted only with one.
    status_at = aware_time(last.get("checkpoint_time")) or aware_time(tracking.get("updated_at")) or fallback
    if tag is None and subtag is None:
        raise EventError(f"tracking {number} has neither tag nor subtag")
    return parcel_record(
        system,
        settings,
        tracking_number=number,
        native={"tag": tag, "subtag": subtag},
        status_at=status_at,
        order_ref=text(tracking.get("order_number")),
        reason=subtag,
        raw=tracking,
    )
