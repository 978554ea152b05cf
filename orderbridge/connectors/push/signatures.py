"""Webhook signature schemes: a small class family behind one method, `verify(request)`, which
raises Unauthorized saying what is wrong. Providers build theirs with fixed parameters; the generic
`webhook` type picks one by `signature.type` through SIGNATURE_TYPES.

A scheme's message is a template over the request: `{body}` (the raw bytes), `{secret}`,
`{timestamp}`, `{header:Name}`, `{query:name}` and `{form:name}` (a field of a URL-encoded body)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Annotated, Any, Literal, get_args
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, field_validator

from orderbridge.connectors.push.request import PushRequest, Unauthorized

Algorithm = Literal["md5", "sha1", "sha256", "sha512"]
Encoding = Literal["hex", "base64"]
Clock = Callable[[], float]
_PLACEHOLDER = re.compile(r"\{(body|secret|timestamp|(?:header|query|form):[^{}]+)\}")


class SignatureScheme(ABC):
    """Checks that a request comes from the provider."""

    # Request headers the scheme reads; kept with the stored body, they prove the delivery later.
    headers: tuple[str, ...] = ()
    covers_body: bool = True  # the signature proves the body unchanged (not so for a shared secret)

    @abstractmethod
    def verify(self, request: PushRequest) -> None:
        """Return if the request is authentic; raise Unauthorized with the reason otherwise."""


class Unsigned(SignatureScheme):
    """For providers that sign nothing (SF Express route pushes, Kuaidi100 without a salt): the
    endpoint relies on webhook.path_token and webhook.allow_ips instead."""

    covers_body = False

    def verify(self, request: PushRequest) -> None:
        return None


class Located:
    """Where a value is in a request: `header:Name`, `query:name` or `form:name`."""

    def __init__(self, where: str) -> None:
        kind, _, name = where.partition(":")
        if kind not in ("header", "query", "form") or not name:
            raise ValueError(f"{where!r}: expected header:Name, query:name or form:name")
        self.kind, self.name, self.where = kind, name.lower() if kind == "header" else name, where

    def values(self, request: PushRequest) -> list[str]:
        """Each reading of the value (a form field read with `+` as space and, failing that, as `+`)."""
        if self.kind == "header":
            found = request.header(self.name)
            return [found] if found is not None else []
        if self.kind == "query":
            found = request.query.get(self.name)
            return [found] if found is not None else []
        return [v for fields in _form_readings(request) if (v := fields.get(self.name)) is not None]

    def describe(self) -> str:
        return {"header": "header", "query": "query parameter", "form": "form field"}[
            self.kind
        ] + f" {self.name}"


def _form_readings(request: PushRequest) -> list[dict[str, str]]:
    try:
        text = request.body.decode("ascii")
    except UnicodeDecodeError:
        return []
    charset = request.charset or "utf-8"
    readings = []
    for literal_plus in (False, True):
        if literal_plus and "+" not in text:
            break
        source = text.replace("+", "%2B") if literal_plus else text
        try:
            readings.append(
                dict(parse_qsl(source, keep_blank_values=True, encoding=charset, errors="strict"))
            )
        except (ValueError, UnicodeDecodeError):
            continue
    return readings


class _TemplateScheme(SignatureScheme):
    """A digest of a message built from a template over the request, compared with the signature
    found at `signature_at`, in constant time."""

    def __init__(
        self,
        secret: str,
        *,
        signature_at: str,
        message: str = "{body}",
        algorithm: Algorithm = "sha256",
        encoding: Encoding = "hex",
        prefix: str | Sequence[str] = (),
        timestamp_at: str | None = None,
        tolerance: timedelta | None = None,
        charset: str = "utf-8",
        clock: Clock = time.time,
    ) -> None:
        self.secret = secret
        self.signature_at = [Located(w) for w in signature_at.split("|")]
        self.template = message
        self.algorithm, self.encoding, self.charset, self.clock = algorithm, encoding, charset, clock
        self.prefixes = (prefix,) if isinstance(prefix, str) else tuple(prefix)
        self.timestamp_at = Located(timestamp_at) if timestamp_at else None
        self.tolerance = tolerance
        wanted = [*self.signature_at, *([self.timestamp_at] if self.timestamp_at else [])]
        wanted += [Located(m.group(1)) for m in _PLACEHOLDER.finditer(message) if ":" in m.group(1)]
        self.headers = tuple(dict.fromkeys(w.name for w in wanted if w.kind == "header"))

    @abstractmethod
    def digest(self, message: bytes) -> bytes: ...

    def verify(self, request: PushRequest) -> None:
        given = self._signature(request)
        timestamp = self._timestamp(request)
        for message in self._messages(request, timestamp):
            if _matches(self.digest(message), given, self.encoding):
                return
        raise Unauthorized("the signature does not match the body (wrong secret, or the body was changed)")

    def _signature(self, request: PushRequest) -> str:
        for place in self.signature_at:
            for value in place.values(request):
                value = value.strip()
                for prefix in self.prefixes:
                    if prefix and value.startswith(prefix):
                        value = value[len(prefix) :]
                        break
                return value
        where = " or ".join(p.describe() for p in self.signature_at)
        raise Unauthorized(f"missing signature ({where})")

    def _timestamp(self, request: PushRequest) -> str | None:
        if self.timestamp_at is None:
            return None
        values = self.timestamp_at.values(request)
        if not values:
            raise Unauthorized(f"missing timestamp ({self.timestamp_at.describe()})")
        stamp = values[0].strip()
        check_freshness(stamp, self.tolerance, self.clock)
        return stamp

    def _messages(self, request: PushRequest, timestamp: str | None) -> list[bytes]:
        """The signed message; with form fields, one per reading of the form (see Located.values)."""
        readings: list[bytes] = []
        variants = max(
            (
                len(Located(m.group(1)).values(request))
                for m in _PLACEHOLDER.finditer(self.template)
                if m.group(1).startswith("form:")
            ),
            default=1,
        )
        for index in range(max(variants, 1)):
            parts: list[bytes] = []
            position = 0
            for match in _PLACEHOLDER.finditer(self.template):
                parts.append(self.template[position : match.start()].encode(self.charset))
                parts.append(self._value(request, match.group(1), timestamp, index))
                position = match.end()
            parts.append(self.template[position:].encode(self.charset))
            readings.append(b"".join(parts))
        return readings

    def _value(self, request: PushRequest, name: str, timestamp: str | None, index: int) -> bytes:
        if name == "body":
            return request.body
        if name == "secret":
            return self.key()
        if name == "timestamp":
            return (timestamp or "").encode(self.charset)
        values = Located(name).values(request)
        return values[min(index, len(values) - 1)].encode(self.charset) if values else b""

    def key(self) -> bytes:
        return self.secret.encode(self.charset)


class HmacSignature(_TemplateScheme):
    """HMAC of the message (by default the raw body) with the secret as key: AfterShip, EasyPost,
    Shopify, and most generic pushes. `nfkd` normalises the secret first (EasyPost)."""

    def __init__(self, secret: str, *, nfkd: bool = False, **options: Any) -> None:
        super().__init__(unicodedata.normalize("NFKD", secret) if nfkd else secret, **options)

    def digest(self, message: bytes) -> bytes:
        return hmac.new(self.key(), message, self.algorithm).digest()


class DigestSignature(_TemplateScheme):
    """A plain hash (no HMAC) of a message that contains the secret: 17TRACK (sha256 of body/key),
    Kuaidi100 (MD5 of param+salt), Cainiao (base64 MD5 of content+secret), Jiandaoyun (sha1 of
    nonce:body:secret:timestamp)."""

    def digest(self, message: bytes) -> bytes:
        return hashlib.new(self.algorithm, message).digest()


class TimestampedHmacSignature(SignatureScheme):
    """`t=<unix>,v1=<hex>` in one header, v1 = HMAC-SHA256 of "<t>.<body>" (Shippo; Stripe's layout),
    with the timestamp within `tolerance` of now."""

    def __init__(
        self, secret: str, *, header: str, tolerance: timedelta | None = None, clock: Clock = time.time
    ) -> None:
        self.secret, self.header, self.tolerance, self.clock = (
            secret.encode(),
            header.lower(),
            tolerance,
            clock,
        )
        self.headers = (self.header,)

    def verify(self, request: PushRequest) -> None:
        value = request.header(self.header)
        if not value:
            raise Unauthorized(f"missing signature (header {self.header})")
        items = [part.strip().partition("=") for part in value.split(",")]
        stamps = [v for k, _, v in items if k == "t"]
        signatures = [v for k, _, v in items if k == "v1"]
        if not stamps or not signatures:
            raise Unauthorized(f"header {self.header} must read t=<unix time>,v1=<signature>")
        check_freshness(stamps[0], self.tolerance, self.clock)
        expected = hmac.new(self.secret, stamps[0].encode() + b"." + request.body, hashlib.sha256).digest()
        if not any(_matches(expected, signature, "hex") for signature in signatures):
            raise Unauthorized(
                "the signature does not match the body (wrong secret, or the body was changed)"
            )


class SharedSecret(SignatureScheme):
    """The secret itself sent along, compared in constant time (Karrio puts it in X-Event-Id; a
    bearer token). Not a signature of the body: use HTTPS."""

    def __init__(self, secret: str, *, header: str, prefix: str = "") -> None:
        self.secret, self.header, self.prefix = secret.encode(), header.lower(), prefix
        self.headers = ()  # never kept: the header holds the secret itself
        self.covers_body = False

    def verify(self, request: PushRequest) -> None:
        value = request.header(self.header)
        if value is None:
            raise Unauthorized(f"missing header {self.header}")
        if self.prefix and value.startswith(self.prefix):
            value = value[len(self.prefix) :]
        if not hmac.compare_digest(value.strip().encode(), self.secret):
            raise Unauthorized(f"wrong secret in header {self.header}")


def check_freshness(stamp: str, tolerance: timedelta | None, clock: Clock) -> None:
    try:
        seconds = float(stamp)
    except ValueError:
        raise Unauthorized(f"the timestamp {stamp[:40]!r} is not a unix time") from None
    if seconds > 1e11:
        seconds /= 1000  # milliseconds
    if tolerance is not None and abs(clock() - seconds) > tolerance.total_seconds():
        raise Unauthorized(
            f"the signed timestamp is more than {int(tolerance.total_seconds())} s from now "
            "(webhook.tolerance; a replayed request, or a clock off)"
        )


def _matches(expected: bytes, given: str, encoding: Encoding) -> bool:
    if encoding == "hex":
        try:
            decoded = bytes.fromhex(given)
        except ValueError:
            return False
    else:
        # A `+` of base64 sent unencoded in a form reads as a space; base64 itself has no spaces.
        try:
            decoded = base64.b64decode(given.replace(" ", "+"), validate=True)
        except (binascii.Error, ValueError):
            return False
    return hmac.compare_digest(decoded, expected)


# -- the generic webhook's `signature:` block, one settings model per scheme type --------------------


def _template(value: str) -> str:
    rest = _PLACEHOLDER.sub("", value)
    if "{" in rest or "}" in rest:
        raise ValueError(
            "unknown placeholder; use {body}, {secret}, {timestamp}, {header:Name}, {query:name}, {form:name}"
        )
    return value


class HmacSignatureSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["hmac"] = Field(default="hmac", description="HMAC of the body (or of `message`).")
    header: str = Field(description="Header carrying the signature, e.g. X-Signature.")
    algorithm: Literal["sha1", "sha256", "sha512"] = Field(default="sha256", description="Hash of the HMAC.")
    encoding: Encoding = Field(default="hex", description="How the signature is written: hex or base64.")
    prefix: str = Field(default="", description="Text before the signature in the header, e.g. 'sha256='.")
    timestamp_header: str | None = Field(
        default=None, description="Header with the signing time (unix seconds), checked against tolerance."
    )
    message: str | None = Field(
        default=None,
        description="What is signed: default {body}, or {timestamp}.{body} with timestamp_header. "
        "Placeholders: {body}, {timestamp}, {header:Name}, {query:name}.",
    )

    _check_message = field_validator("message")(lambda cls, v: v if v is None else _template(v))

    def build(self, secret: str, tolerance: timedelta | None, clock: Clock = time.time) -> SignatureScheme:
        default = "{timestamp}.{body}" if self.timestamp_header else "{body}"
        return HmacSignature(
            secret,
            signature_at=f"header:{self.header}",
            message=self.message or default,
            algorithm=self.algorithm,
            encoding=self.encoding,
            prefix=self.prefix,
            timestamp_at=f"header:{self.timestamp_header}" if self.timestamp_header else None,
            tolerance=tolerance,
            clock=clock,
        )


class DigestSignatureSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["digest"] = Field(description="A plain hash of a message that contains {secret}.")
    header: str = Field(description="Header carrying the signature.")
    message: str = Field(description="What is hashed, e.g. '{body}/{secret}'; must contain {secret}.")
    algorithm: Algorithm = Field(default="sha256", description="md5, sha1, sha256 or sha512.")
    encoding: Encoding = Field(default="hex", description="hex or base64.")
    timestamp_header: str | None = Field(default=None, description="Header with the signing time (unix s).")

    @field_validator("message")
    @classmethod
    def _has_secret(cls, value: str) -> str:
        if "{secret}" not in _template(value):
            raise ValueError("a plain digest must contain {secret}, or anyone could compute it")
        return value

    def build(self, secret: str, tolerance: timedelta | None, clock: Clock = time.time) -> SignatureScheme:
        return DigestSignature(
            secret,
            signature_at=f"header:{self.header}",
            message=self.message,
            algorithm=self.algorithm,
            encoding=self.encoding,
            timestamp_at=f"header:{self.timestamp_header}" if self.timestamp_header else None,
            tolerance=tolerance,
            clock=clock,
        )


class TimestampedHmacSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["timestamped_hmac"] = Field(description="One header `t=<unix>,v1=<hex HMAC of t.body>`.")
    header: str = Field(description="Header carrying t=...,v1=...")

    def build(self, secret: str, tolerance: timedelta | None, clock: Clock = time.time) -> SignatureScheme:
        return TimestampedHmacSignature(secret, header=self.header, tolerance=tolerance, clock=clock)


class TokenSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["token"] = Field(description="The secret itself in a header (not a signature: use HTTPS).")
    header: str = Field(default="Authorization", description="Header carrying the secret.")
    prefix: str = Field(default="", description="Text before the secret, e.g. 'Bearer '.")

    def build(self, secret: str, tolerance: timedelta | None, clock: Clock = time.time) -> SignatureScheme:
        return SharedSecret(secret, header=self.header, prefix=self.prefix)


_SCHEME_SETTINGS = HmacSignatureSettings | DigestSignatureSettings | TimestampedHmacSettings | TokenSettings

# The explicit registry: `signature.type` -> its settings model, which builds the scheme.
SIGNATURE_TYPES: dict[str, type[BaseModel]] = {
    get_args(model.model_fields["type"].annotation)[0]: model for model in get_args(_SCHEME_SETTINGS)
}


def default_type(value: Any) -> Any:
    """`type` may be left out of a `signature:` block: it is then an HMAC."""
    if isinstance(value, dict) and "type" not in value:
        return {"type": "hmac", **value}
    return value


SignatureSettings = Annotated[_SCHEME_SETTINGS, Field(discriminator="type")]

__all__ = [
    "SIGNATURE_TYPES",
    "DigestSignature",
    "HmacSignature",
    "SharedSecret",
    "SignatureScheme",
    "SignatureSettings",
    "TimestampedHmacSignature",
    "Unsigned",
]
