"""Delivering the outbox: announcements are packed into one digest per channel (as many as the
channel's rate limit allows, the rest wait for the next one), then reports and digests are sent, each
claimed before its attempt so a crash retries it, with exponential backoff on failure. One channel
failing never holds up another: each is tried on its own, with its own timeout."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from orderbridge.notify.channels.base import Channel, DeliveryError, DeliveryRetry, Digest
from orderbridge.notify.i18n import Language
from orderbridge.notify.mail import Mailer, SmtpSettings
from orderbridge.storage import outbox
from orderbridge.storage.db import Store
from orderbridge.storage.outbox import Item

log = structlog.get_logger("orderbridge.notify")
FAILING_AFTER = 3  # attempts of one item after which its channel counts as failing
REPORT_PREFIX = "report:"


@dataclass
class SendResult:
    sent: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)  # item id -> error (retried unless final)
    packed: int = 0


Observer = Callable[[str, bool], None]  # channel, delivered


class Sender:
    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        smtp: SmtpSettings | None,
        language: Language,
        observe: Observer | None = None,
        reports: tuple[str, ...] = (),
    ) -> None:
        self.store = store
        self.reports = reports
        self.channels = channels
        self.smtp = smtp
        self.language = language
        self.observe = observe

    def run(self, now: datetime | None = None, only: int | None = None) -> SendResult:
        """One round: pack, then deliver what is due (or only item `only`, due or not)."""
        now = now or datetime.now(UTC)
        result = SendResult()
        if only is None:
            for name, channel in self.channels.items():
                result.packed += self.pack(name, channel, now)
        with self.store.begin() as conn:
            if only is not None:
                found = outbox.get(conn, only)
                due = [found] if found is not None and found.state == outbox.PENDING else []
            else:
                due = outbox.due(conn, now, [outbox.REPORT, outbox.DIGEST])
        failing: set[str] = set()
        for item in due:
            if item.channel in failing:
                continue  # this round it already failed: later items of that channel wait their turn
            error = self.deliver(item, now)
            if error is None:
                result.sent.append(item.id)
            else:
                result.failed[item.id] = error
                failing.add(item.channel)
        return result

    def pack(self, name: str, channel: Channel, now: datetime) -> int:
        """Turn the channel's waiting announcements into one digest, if its rate limit allows one now
        and no earlier digest is still waiting to go. Returns how many announcements it took."""
        limit = channel.rate_limit
        with self.store.begin() as conn:
            members = outbox.unpacked_alerts(conn, name)
            if not members:
                return 0
            if outbox.digest_waiting(conn, name):
                return 0  # one digest in flight per channel: the rest join the next one
            if outbox.sent_since(conn, name, now - limit.per) >= limit.messages:
                return 0
            announcements = unique_announcements(members)
            key = f"digest:{name}:{members[0].id}"
            language = channel.settings.language or self.language
            composed = channel.compose(Digest(key, announcements, now, language))
            digest_id = outbox.add(
                conn,
                kind=outbox.DIGEST,
                channel=name,
                recipient=composed.recipient,
                subject=composed.subject,
                body=composed.body,
                payload={"members": [i.id for i in members], "count": len(announcements)},
                now=now,
                dedupe_key=key,
                message_id=composed.message_id,
            )
            if digest_id is None:
                return 0
            outbox.pack(conn, [i.id for i in members], digest_id, now)
        return len(members)

    def deliver(self, item: Item, now: datetime) -> str | None:
        """Try one item; None when delivered, else the error (the item is retried unless it is final)."""
        retry = self._retry(item)
        with self.store.begin() as conn:
            if not outbox.claim(conn, item, now + retry.wait(item.attempts + 1)):
                return None  # another sender took it
        try:
            self._send(item, now)
        except DeliveryError as exc:
            return self._failed(item, str(exc), final=exc.final, retry_after=exc.retry_after, now=now)
        except Exception as exc:  # a bug or an unforeseen library error: retried, and logged loudly
            log.exception("delivery failed unexpectedly", outbox_id=item.id, channel=item.channel)
            return self._failed(item, f"{type(exc).__name__}: {exc}", final=False, retry_after=None, now=now)
        with self.store.begin() as conn:
            outbox.sent(conn, item.id, datetime.now(UTC) if now is None else now)
        log.info("sent", outbox_id=item.id, kind=item.kind, channel=item.channel, attempts=item.attempts + 1)
        if self.observe is not None:
            self.observe(item.channel, True)
        return None

    def _send(self, item: Item, now: datetime) -> None:
        if item.kind == outbox.REPORT:
            if self.smtp is None:
                raise DeliveryError("reports need the smtp: section")
            Mailer(self.smtp).send(list(item.payload["recipients"]), item.body.encode("utf-8"))
            return
        channel = self.channels.get(item.channel)
        if channel is None:
            raise DeliveryError(f"no channel {item.channel!r} is configured any more", final=True)
        channel.deliver(item, now)

    def _failed(
        self, item: Item, error: str, *, final: bool, retry_after: timedelta | None, now: datetime
    ) -> str:
        with self.store.begin() as conn:
            outbox.failed(conn, item.id, error, final=final)
            if retry_after is not None and not final:
                wait = max(retry_after, self._retry(item).wait(item.attempts + 1))
                outbox.retry_at(conn, item.id, now + wait)
        (log.error if final or item.attempts + 1 >= FAILING_AFTER else log.warning)(
            "delivery failed",
            outbox_id=item.id,
            kind=item.kind,
            channel=item.channel,
            attempts=item.attempts + 1,
            error=error,
            final=final,
        )
        if self.observe is not None:
            self.observe(item.channel, False)
        return error

    def _retry(self, item: Item) -> DeliveryRetry:
        channel = self.channels.get(item.channel)
        if channel is not None:
            return channel.settings.retry
        return self.smtp.retry if self.smtp is not None else DeliveryRetry()

    def health(self) -> dict[str, dict[str, Any]]:
        """Per channel (and report): healthy unless its oldest waiting message failed repeatedly."""
        with self.store.engine.connect() as conn:
            status = outbox.channel_status(conn)
        names = [
            *self.channels,
            *(REPORT_PREFIX + name for name in self.reports),
            *(c for c in status if c.startswith(REPORT_PREFIX)),
        ]
        report: dict[str, dict[str, Any]] = {}
        for name in dict.fromkeys(names):
            entry = status.get(name, {"pending": 0, "attempts": 0, "last_error": None})
            report[name] = {
                "healthy": not (entry["last_error"] and entry["attempts"] >= FAILING_AFTER),
                "pending": entry["pending"],
                "attempts": entry["attempts"],
                "last_error": entry["last_error"],
            }
        return report


def unique_announcements(members: list[Item]) -> list[dict[str, Any]]:
    """One line per discrepancy (its latest announcement), other announcements in order."""
    by_key: dict[str, dict[str, Any]] = {}
    for item in members:
        payload = item.payload
        key = f"d{payload['id']}" if payload["type"] == "discrepancy" else f"i{item.id}"
        by_key[key] = payload
    return list(by_key.values())
