"""The push contract: what a request looks like to a receiver, what a receiver answers, and the
pure steps that turn a stored body into SourceRecords."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from orderbridge.connectors.push.request import (
    EventError,
    Forbidden,
    Malformed,
    PushRequest,
    Rejected,
    Unauthorized,
)
from orderbridge.connectors.push.settings import PushSettings
from orderbridge.connectors.push.signatures import SignatureScheme
from orderbridge.mapping.model import SourceRecord

QUERY = ":query"  # kept request metadata: the query string (minus any token), as a dict
ENCODING = ":encoding"  # "base64" when the stored body is not UTF-8 text

__all__ = [
    "Delivery",
    "EventError",
    "Forbidden",
    "Malformed",
    "PushRequest",
    "Receiver",
    "Rejected",
    "Reply",
    "StoredEvent",
    "Unauthorized",
]


@dataclass(frozen=True)
class Delivery:
    """What intake keeps of a verified request besides its body."""

    dedupe_key: str
    headers: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    media_type: str


@dataclass(frozen=True)
class StoredEvent:
    """An inbox row as a receiver's parser sees it."""

    id: int
    system: str
    received_at: datetime
    headers: Mapping[str, Any]
    body: bytes

    def header(self, name: str) -> str | None:
        value = self.headers.get(name.lower())
        return value if isinstance(value, str) else None

    @property
    def query(self) -> Mapping[str, str]:
        found = self.headers.get(QUERY)
        return found if isinstance(found, dict) else {}


def stored_body(body: bytes) -> tuple[str, dict[str, str]]:
    """The body as inbox text: UTF-8 as it is, anything else base64 (and the headers say so)."""
    try:
        return body.decode("utf-8"), {}
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), {ENCODING: "base64"}


def body_bytes(text: str, headers: Mapping[str, Any]) -> bytes:
    return base64.b64decode(text) if headers.get(ENCODING) == "base64" else text.encode("utf-8")


class Receiver(ABC):
    """One push-capable system's receiving side. Subclasses say which media types they take, which
    headers are worth keeping, how the request is signed, how a body is identified (its dedupe key)
    and parsed, and how the provider expects to be answered."""

    media_types: ClassVar[tuple[str, ...]] = ("application/json",)
    kept_headers: ClassVar[tuple[str, ...]] = ()  # besides the signature's, which prove the delivery
    ack_body: ClassVar[bytes] = b'{"ok":true}'
    ack_media_type: ClassVar[str] = "application/json"

    def __init__(self, name: str, settings: PushSettings) -> None:
        self.name = name
        self.settings = settings
        webhook = settings.webhook
        self.max_body = webhook.max_body if webhook else 1 << 20
        self.scheme = self.signature()
        self._token = (
            webhook.path_token.get_secret_value().encode() if webhook and webhook.path_token else None
        )
        self._networks = [
            ipaddress.ip_network(n, strict=False) for n in (webhook.allow_ips if webhook else [])
        ]

    # -- what a provider implements -------------------------------------------------------------

    @abstractmethod
    def signature(self) -> SignatureScheme:
        """The scheme that checks a request came from the provider."""

    @abstractmethod
    def identify(self, request: PushRequest) -> str:
        """The key a delivery is deduplicated by: the provider's event/delivery id, else a key derived
        from what the event says. Raises Malformed when the body cannot be read."""

    @abstractmethod
    def parse(self, event: StoredEvent) -> list[SourceRecord]:
        """The records a stored event reports (none for an event that says nothing about an order or
        a parcel). Pure. Raises EventError when the body does not say what the provider documents."""

    # -- shared behaviour -----------------------------------------------------------------------

    def authenticate(self, request: PushRequest) -> None:
        """IP allowlist, path token, then the signature; raises Rejected saying which failed."""
        if self._networks:
            try:
                address = ipaddress.ip_address(request.client or "")
            except ValueError:
                raise Forbidden("the sender's address is unknown, and webhook.allow_ips is set") from None
            if not any(address in network for network in self._networks):
                raise Forbidden(f"{address} is not in webhook.allow_ips")
        if self._token is not None:
            given = request.token if request.token is not None else request.query.get("token")
            if given is None:
                raise Unauthorized("missing path token: post to /webhooks/<system>/<token>")
            if not hmac.compare_digest(given.encode(), self._token):
                raise Unauthorized("wrong path token")
        self.scheme.verify(request)

    def accept(self, request: PushRequest) -> Delivery:
        """The dedupe key and the metadata kept with the body. Raises Malformed."""
        key = self.identify(request)
        names = {"content-type", *self.kept_headers, *self.scheme.headers}
        kept: dict[str, Any] = {n: request.headers[n] for n in sorted(names) if n in request.headers}
        query = {k: v for k, v in request.query.items() if k != "token"}
        if query:
            kept[QUERY] = query
        return Delivery(key[:255], kept)

    def acknowledge(self, request: PushRequest) -> Reply:
        """The answer the provider counts as delivered."""
        ack = self.settings.webhook.ack if self.settings.webhook else None
        if ack is not None:
            return Reply(ack.status, ack.body.encode("utf-8"), ack.media_type)
        return Reply(200, self.ack_body, self.ack_media_type)

    def refuse(self, status: int, reason: str) -> Reply:
        """A failure answer (4xx, 503) in the provider's own shape where it has one."""
        return Reply(status, json.dumps({"error": reason}, ensure_ascii=False).encode(), "application/json")


def json_body(data: bytes, charset: str | None = None) -> Any:
    """The body as JSON; Malformed with the parser's reason when it is not."""
    try:
        text = data.decode(charset or "utf-8")
    except (UnicodeDecodeError, LookupError):
        raise Malformed(f"the body is not {charset or 'UTF-8'} text") from None
    try:
        return json.loads(text)
    except RecursionError:  # the parser recurses per nesting level
        raise Malformed("the body is not JSON: nested too deeply") from None
    except ValueError as exc:
        raise Malformed(f"the body is not JSON: {exc}") from None


def json_object(data: bytes, charset: str | None = None) -> dict[str, Any]:
    found = json_body(data, charset)
    if not isinstance(found, dict):
        raise Malformed(f"expected a JSON object, found {type(found).__name__}")
    return found


def form_fields(data: bytes, charset: str | None = None, *, plus_is_space: bool = True) -> dict[str, str]:
    """An application/x-www-form-urlencoded body. `plus_is_space=False` reads a literal `+` as itself,
    for senders that do not percent-encode it."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise Malformed("a form body must be ASCII (URL-encoded)") from None
    if not plus_is_space:
        text = text.replace("+", "%2B")
    try:
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=bool(text),
            encoding=charset or "utf-8",
            errors="strict",
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise Malformed(f"the body is not a URL-encoded form: {exc}") from None
    return dict(pairs)


def derived_key(*parts: Any) -> str:
    """A dedupe key for providers without an event id: a hash of what the event says."""
    text = "|".join("" if part is None else str(part) for part in parts)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def body_key(data: bytes) -> str:
    return "body:" + hashlib.sha256(data).hexdigest()


def decode_stored_json(event: StoredEvent) -> dict[str, Any]:
    try:
        found = json.loads(event.body)
    except ValueError as exc:
        raise EventError(f"the stored body is not JSON: {exc}") from None
    if not isinstance(found, dict):
        raise EventError(f"expected a JSON object, found {type(found).__name__}")
    return found


def b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
