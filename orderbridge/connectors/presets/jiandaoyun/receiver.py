"""Jiandaoyun data push: `{"op": "data_create"|"data_update"|"data_remove"|..., "data": {row}}`. With a
secret: query parameters `nonce` and `timestamp`, header `X-JDY-Signature` = hex SHA-1 (a plain hash)
of `nonce:body:secret:timestamp`. `X-JDY-DeliverId` identifies a delivery. The push's `op` is given to
the status rules as the field `_op`, so a removed row can be mapped (e.g. `{when: {_op: data_remove}}`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import ValidationError

from orderbridge.connectors.base import RecordError, build_record
from orderbridge.connectors.presets.jiandaoyun.settings import JiandaoyunSettings
from orderbridge.connectors.push.base import (
    EventError,
    Malformed,
    PushRequest,
    Receiver,
    StoredEvent,
    body_key,
    decode_stored_json,
    json_object,
)
from orderbridge.connectors.push.signatures import DigestSignature, SignatureScheme, Unsigned
from orderbridge.mapping.model import SourceRecord

ROW_OPS = ("data_create", "data_update", "data_remove", "data_recover")


class JiandaoyunReceiver(Receiver):
    settings: JiandaoyunSettings
    kept_headers: ClassVar[tuple[str, ...]] = ("x-jdy-deliverid",)

    def signature(self) -> SignatureScheme:
        webhook = self.settings.webhook
        if webhook is None or webhook.secret is None:
            return Unsigned()
        return DigestSignature(
            webhook.secret.get_secret_value(),
            signature_at="header:x-jdy-signature",
            message="{query:nonce}:{body}:{secret}:{timestamp}",
            algorithm="sha1",
            timestamp_at="query:timestamp",
            tolerance=self.settings.tolerance,
        )

    def identify(self, request: PushRequest) -> str:
        body = json_object(request.body, request.charset)
        if not isinstance(body.get("data"), dict) and body.get("op") in ROW_OPS:
            raise Malformed("a row push without a `data` object")
        delivery = request.header("x-jdy-deliverid")
        return f"delivery:{delivery}" if delivery else body_key(request.body)

    def parse(self, event: StoredEvent) -> list[SourceRecord]:
        body = decode_stored_json(event)
        op, row = body.get("op"), body.get("data")
        if op not in ROW_OPS:
            return []  # form or workflow events: no row
        if not isinstance(row, dict):
            raise EventError("a row push without a `data` object")
        try:
            record = build_record(self.name, {**row, "_op": op}, self.settings, raw=row)
        except (RecordError, ValidationError) as exc:
            raise EventError(str(exc)) from None
        return [record]
