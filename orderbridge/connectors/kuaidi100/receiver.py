"""Kuaidi100 pushes: a form with `param` (a JSON string) and `sign` = upper-case hex MD5 of
`param + salt`. The answer must be `{"result":true,"returnCode":"200","message":"成功"}`; anything else
is a failure that Kuaidi100 retries. No event id: dedupe on carrier, number, state and newest node.
`lastResult.data` is the full history, newest first; `ftime` is China time without a zone."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from orderbridge.connectors.kuaidi100.settings import Kuaidi100Settings
from orderbridge.connectors.push.base import (
    EventError,
    Malformed,
    PushRequest,
    Receiver,
    Reply,
    StoredEvent,
    derived_key,
    form_fields,
)
from orderbridge.connectors.push.parcels import local_time, parcel_record, text
from orderbridge.connectors.push.signatures import DigestSignature, SignatureScheme, Unsigned
from orderbridge.mapping.model import SourceRecord
from orderbridge.mapping.timeparse import zone

FORM = "application/x-www-form-urlencoded"
# Exactly as documented and as the SDK writes it (no spaces).
ACK = '{"result":true,"returnCode":"200","message":"成功"}'.encode()


class Kuaidi100Receiver(Receiver):
    settings: Kuaidi100Settings
    media_types: ClassVar[tuple[str, ...]] = (FORM,)
    ack_body: ClassVar[bytes] = ACK

    def signature(self) -> SignatureScheme:
        webhook = self.settings.webhook
        if webhook is None or webhook.secret is None:
            return Unsigned()
        return DigestSignature(
            webhook.secret.get_secret_value(),
            signature_at="form:sign",
            message="{form:param}{secret}",
            algorithm="md5",
        )

    def identify(self, request: PushRequest) -> str:
        push = push_param(form_fields(request.body, request.charset), Malformed)
        last = push["lastResult"]
        nodes = last.get("data") if isinstance(last.get("data"), list) else []
        newest = nodes[0] if nodes and isinstance(nodes[0], dict) else {}
        return derived_key(
            last.get("com"), last.get("nu"), last.get("state"), newest.get("ftime"), newest.get("context")
        )

    def refuse(self, status: int, reason: str) -> Reply:
        body = {"result": False, "returnCode": str(status), "message": reason}
        return Reply(
            status, json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(), "application/json"
        )

    def parse(self, event: StoredEvent) -> list[SourceRecord]:
        push = push_param(form_fields(event.body), EventError)
        order = event.query.get(self.settings.order_param) if self.settings.order_param else None
        return [result_record(self.name, self.settings, push["lastResult"], push, order)]


def push_param(fields: dict[str, str], error: type[Exception]) -> dict[str, Any]:
    raw = fields.get("param")
    if raw is None:
        raise error("no `param` form field")
    try:
        push = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise error(f"`param` is not JSON: {exc}") from None
    if not isinstance(push, dict) or not isinstance(push.get("lastResult"), dict):
        raise error("`param` has no lastResult object")
    return push


def result_record(
    system: str,
    settings: Kuaidi100Settings,
    last: dict[str, Any],
    push: dict[str, Any] | None = None,
    order_ref: str | None = None,
) -> SourceRecord:
    """A Kuaidi100 result (a push's lastResult, or a real-time query's answer) as a record."""
    number = text(last.get("nu"))
    if number is None:
        raise EventError("lastResult has no `nu` (tracking number)")
    nodes = last.get("data") if isinstance(last.get("data"), list) else []
    newest = nodes[0] if nodes and isinstance(nodes[0], dict) else {}
    monitor = text((push or {}).get("status"))
    return parcel_record(
        system,
        settings,
        tracking_number=number,
        # The monitoring status matters to the table only when tracking was given up (abort).
        native={"state": text(last.get("state")), "monitor": monitor if monitor == "abort" else None},
        status_at=local_time(newest.get("ftime"), zone(settings.timezone)),
        order_ref=order_ref,
        reason=text((push or {}).get("message"))
        if monitor in ("abort", "shutdown")
        else text(newest.get("status")),
        raw={**last, "monitor": monitor} if monitor else dict(last),
    )
