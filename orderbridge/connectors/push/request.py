"""A push request as receivers see it, and the ways one is refused."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PushRequest:
    """One HTTP request to /webhooks/<system>, as received: the raw body and what came with it."""

    body: bytes
    headers: Mapping[str, str]  # names lower-cased
    query: Mapping[str, str] = field(default_factory=dict)
    media_type: str = ""  # lower-cased, without parameters
    charset: str | None = None
    client: str | None = None  # the peer's address
    token: str | None = None  # the path token segment, /webhooks/<system>/<token>

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class Rejected(Exception):
    """A request answered with a 4xx; `reason` is told to the sender (never a secret)."""

    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unauthorized(Rejected):
    """Missing or wrong signature, token or timestamp: 401."""

    status = 401


class Forbidden(Rejected):
    """The sender's address is not allowed: 403."""

    status = 403


class Malformed(Rejected):
    """A correctly signed body that cannot be read: kept in the inbox, marked rejected, answered 400."""


class EventError(ValueError):
    """A stored event that could not be turned into records: kept, failed, with this message."""
