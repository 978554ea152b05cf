"""The alert channel contract: a channel turns a digest of announcements into one message in its
service's format (`compose`, pure) and delivers a stored message (`deliver`), raising DeliveryError
with whether trying again can help. Chat services share the HTTP machinery of WebhookChannel."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field

from orderbridge.config.types import Duration
from orderbridge.notify.i18n import Language, format_age, label, rule_label
from orderbridge.storage.outbox import Item


class DeliveryError(Exception):
    """A message was not delivered. `final`: sending it again cannot succeed (the service refused
    its content); otherwise it is retried. `retry_after`: the service asked to wait this long."""

    def __init__(self, message: str, *, final: bool = False, retry_after: timedelta | None = None) -> None:
        super().__init__(message)
        self.final = final
        self.retry_after = retry_after


class RateLimit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: int = Field(default=20, ge=1, description="At most this many messages ...")
    per: Duration = Field(default=timedelta(minutes=1), description="... in this period.")


class DeliveryRetry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first: Duration = Field(default=timedelta(seconds=30), description="Wait before the first retry.")
    max: Duration = Field(
        default=timedelta(minutes=30), description="Longest wait between retries (the wait doubles)."
    )

    def wait(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt: first, doubling, capped at max."""
        wait: timedelta = min(self.first * (2 ** max(attempts - 1, 0)), self.max)
        return wait


class ChannelSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(
        description="The kind of channel; each type adds its own settings (see `orderbridge schema`)."
    )
    language: Language | None = Field(
        default=None, description="Language of this channel's messages (default: alerts.language)."
    )
    rate_limit: RateLimit = Field(
        default_factory=RateLimit,
        description="Messages allowed per period; announcements beyond it wait and join the next digest.",
    )
    retry: DeliveryRetry = Field(default_factory=DeliveryRetry, description="Backoff between attempts.")
    max_items: int = Field(
        default=20, ge=1, description="Announcements listed in one message; the rest are counted."
    )


@dataclass(frozen=True)
class Composed:
    """A message ready to be stored in the outbox and delivered as it is."""

    subject: str
    body: str
    recipient: str
    message_id: str | None = None


@dataclass
class Digest:
    """Announcements for one channel, sent as one message."""

    key: str  # stable for this digest: a retry sends the same message
    announcements: list[dict[str, Any]]
    now: datetime
    language: Language
    extra: dict[str, Any] = field(default_factory=dict)

    def title(self) -> str:
        if len(self.announcements) == 1:
            first = self.announcements[0]
            if first["type"] == "discrepancy":
                return label(self.language, "alert_title", order=first["order_key"])
            return label(self.language, "source_title", system=first["system"])
        return label(self.language, "alerts_title", count=len(self.announcements))

    def lines(self, limit: int) -> list[str]:
        """One line per announcement (at most `limit`, then how many more), plain text."""
        shown = [announcement_line(a, self.language, self.now) for a in self.announcements[:limit]]
        rest = len(self.announcements) - len(shown)
        if rest > 0:
            shown.append(label(self.language, "and_more", count=rest))
        return shown


def announcement_line(item: dict[str, Any], language: Language, now: datetime) -> str:
    kind = item["type"]
    if kind == "source_unhealthy":
        return label(
            language,
            "source_unhealthy",
            system=item["system"],
            failures=item["failures"],
            error=item["error"],
        )
    if kind == "source_recovered":
        return label(language, "source_recovered", system=item["system"])
    opened = datetime.fromisoformat(item.get("since") or item["opened_at"])
    severity = label(language, f"severity_{item['severity']}")
    age = label(language, "open_since", age=format_age(now - opened, language))
    tier = f", {label(language, 'tier')} {item['escalation']}" if item.get("escalation") else ""
    return (
        f"[{severity}] {item['order_key']} · {rule_label(language, item['rule'])} (#{item['id']}): "
        f"{item['summary']} — {age}{tier}"
    )


class Channel(ABC):
    """One configured channel. Subclasses declare their settings model and implement the two steps."""

    settings_model: ClassVar[type[ChannelSettings]]
    default_rate_limit: ClassVar[RateLimit] = RateLimit()

    def __init__(self, name: str, settings: ChannelSettings) -> None:
        self.name = name
        self.settings = settings

    @property
    def rate_limit(self) -> RateLimit:
        chosen = self.settings.rate_limit
        return chosen if "rate_limit" in self.settings.model_fields_set else self.default_rate_limit

    @abstractmethod
    def compose(self, digest: Digest) -> Composed: ...

    @abstractmethod
    def deliver(self, item: Item, now: datetime) -> None: ...


class WebhookChannel(Channel):
    """A chat service reached by POSTing JSON to one URL. `payload` builds the service's JSON from a
    title and lines; `prepare` adds what is computed at send time (signatures over a timestamp);
    `check` reads the service's answer (several answer 200 with an error code inside)."""

    max_bytes: ClassVar[int] = 20000  # the service's limit on the message text, in UTF-8 bytes
    timeout: ClassVar[float] = 10.0

    @abstractmethod
    def url(self) -> str: ...

    @abstractmethod
    def payload(self, title: str, lines: list[str]) -> dict[str, Any]: ...

    def prepare(self, payload: dict[str, Any], now: datetime) -> httpx.Request:
        body = json.dumps(payload, ensure_ascii=False).encode()
        return httpx.Request(
            "POST", self.url(), content=body, headers={"Content-Type": "application/json; charset=utf-8"}
        )

    def check(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        raise http_error(response)

    def compose(self, digest: Digest) -> Composed:
        lines = digest.lines(self.settings.max_items)
        title = digest.title()
        # Drop listed lines until the text fits the service's limit; the count of the rest stays.
        while len(lines) > 1 and len(("\n".join([title, *lines])).encode()) > self.max_bytes:
            dropped = len(digest.announcements) - (len(lines) - 2)
            lines = [*lines[:-2], label(digest.language, "and_more", count=dropped)]
        payload = self.payload(title, lines)
        return Composed(subject=title, body=json.dumps(payload, ensure_ascii=False), recipient=self.name)

    def deliver(self, item: Item, now: datetime) -> None:
        request = self.prepare(json.loads(item.body), now)
        try:
            with httpx.Client(timeout=self.timeout) as client:
                response = client.send(request)
        except httpx.TimeoutException:
            raise DeliveryError(f"{self.name}: no answer within {self.timeout:.0f} s") from None
        except httpx.HTTPError as exc:
            # The exception text may carry the URL, and the URL the channel's token: never shown.
            raise DeliveryError(f"{self.name}: cannot connect ({type(exc).__name__})") from None
        self.check(response)


def http_error(response: httpx.Response) -> DeliveryError:
    """An HTTP failure as a DeliveryError: 429 and 5xx are retried (honouring Retry-After); other
    4xx mean the service refused the request. The body is quoted briefly; the URL never."""
    text = response.text.strip().replace("\n", " ")[:200]
    retry_after = _retry_after(response.headers.get("Retry-After"))
    status = response.status_code
    final = 400 <= status < 500 and status not in (401, 403, 404, 408, 409, 410, 429)
    return DeliveryError(f"HTTP {status}: {text}", final=final, retry_after=retry_after)


def _retry_after(value: str | None) -> timedelta | None:
    if value is None:
        return None
    try:
        return timedelta(seconds=max(float(value), 0))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(parsedate_to_datetime(value) - datetime.now(UTC), timedelta(0))
        except (TypeError, ValueError):
            return None
