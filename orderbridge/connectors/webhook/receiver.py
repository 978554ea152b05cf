"""The generic push: the signature scheme named in webhook.signature, the fields named in `record:`."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from orderbridge.connectors.base import RecordError, build_record, get_path
from orderbridge.connectors.push.base import (
    EventError,
    Malformed,
    PushRequest,
    Receiver,
    StoredEvent,
    body_key,
    decode_stored_json,
    json_body,
)
from orderbridge.connectors.push.parcels import text
from orderbridge.connectors.push.signatures import SignatureScheme, Unsigned
from orderbridge.connectors.webhook.settings import WebhookPushSettings
from orderbridge.mapping.model import SourceRecord


class WebhookPushReceiver(Receiver):
    settings: WebhookPushSettings

    def signature(self) -> SignatureScheme:
        webhook = self.settings.webhook
        if webhook is None or webhook.secret is None or webhook.signature is None:
            return Unsigned()
        return webhook.signature.build(webhook.secret.get_secret_value(), self.settings.tolerance)

    def identify(self, request: PushRequest) -> str:
        body = json_body(request.body, request.charset)
        self._items(body, Malformed)
        path = self.settings.record.event_id
        event_id = text(get_path(body, path)) if path else None
        if path and event_id is None:
            raise Malformed(f"no event id at {path!r}")
        return f"event:{event_id}" if event_id else body_key(request.body)

    def parse(self, event: StoredEvent) -> list[SourceRecord]:
        body: Any = decode_stored_json(event) if event.body.lstrip()[:1] == b"{" else _any_json(event.body)
        records = []
        for item in self._items(body, EventError):
            try:
                records.append(build_record(self.name, item, self.settings))
            except (RecordError, ValidationError) as exc:
                raise EventError(str(exc)) from None
        return records

    def _items(self, body: Any, error: type[Exception]) -> list[dict[str, Any]]:
        path = self.settings.record.records
        items = get_path(body, path) if path else body
        items = items if isinstance(items, list) else [items]
        if not items or not all(isinstance(i, dict) for i in items):
            where = f"at {path!r}" if path else "as the body"
            raise error(f"expected a JSON object (or a list of them) {where}")
        return items


def _any_json(body: bytes) -> Any:
    import json

    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise EventError(f"the stored body is not JSON: {exc}") from None
