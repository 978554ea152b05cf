"""Deciding what to announce, inside the reconcile pass's transaction: each alert rule that a
discrepancy meets is one tier; the discrepancy is announced once per tier per channel for what it is
now (its severity, rule tier and summary), so passes that see the same problem announce nothing new,
a changed or escalated problem is announced again, and acknowledged or snoozed ones stay quiet until
they change (acknowledged ones no longer escalate by age)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from orderbridge.notify.settings import AlertSettings
from orderbridge.storage import outbox
from orderbridge.storage.discrepancies import ACKNOWLEDGED, OPEN, SNOOZED, Discrepancy


class Alerting:
    """The reconcile pass calls this with the unresolved discrepancies of the orders it evaluated; it
    writes their new announcements to the outbox and says when to look again (the next age tier)."""

    def __init__(self, settings: AlertSettings) -> None:
        self.settings = settings
        self.rules = [rule for rule in settings.rules if rule.when.source is None]

    def __call__(self, conn: Connection, active: Sequence[Discrepancy], now: datetime) -> dict[str, datetime]:
        wakes: dict[str, datetime] = {}
        wanted: dict[str, tuple[str, dict[str, Any]]] = {}
        for found in active:
            if found.status == SNOOZED:
                continue  # the snooze's end wakes the order; the lifecycle reopens it then
            data = _facts(found)
            age = now - found.opened_at
            revision = _revision(found)
            for rule in self.rules:
                when = rule.when
                if found.status == ACKNOWLEDGED and when.age is not None:
                    continue  # someone is on it: it no longer escalates by age
                if when.matches(data, age):
                    for channel in rule.send:
                        key = f"alert:{channel}:{found.id}:{when.key}:{revision}"
                        wanted[key] = (channel, announcement(found, now))
                elif (
                    found.status == OPEN
                    and when.age is not None
                    and age < when.age
                    and when.model_copy(update={"age": None}).matches(data, age)
                ):
                    at = found.opened_at + when.age
                    wakes[found.order_key] = min(at, wakes.get(found.order_key, at))
        if wanted:
            known = outbox.existing_keys(conn, list(wanted))
            for key, (channel, payload) in wanted.items():
                if key not in known:
                    add_announcement(conn, channel, payload, key, now)
        return wakes

    def source_changed(
        self,
        conn: Connection,
        system: str,
        *,
        healthy: bool,
        failures: int,
        error: str | None,
        since: datetime,
        now: datetime,
    ) -> int:
        """A source became unhealthy (or answers again, after having been): announce it to the
        channels of the `source: unhealthy` rules, once per episode. Returns how many were queued."""
        payload: dict[str, Any] = {
            "type": "source_recovered" if healthy else "source_unhealthy",
            "system": system,
            "failures": failures,
            "error": error,
            "since": since.isoformat(),
            "at": now.isoformat(),
        }
        queued = 0
        for rule in self.settings.rules:
            if rule.when.source is None:
                continue
            for channel in rule.send:
                key = f"source:{channel}:{system}:{since.isoformat()}:{payload['type']}"
                queued += add_announcement(conn, channel, payload, key, now) is not None
        return queued


def add_announcement(
    conn: Connection, channel: str, payload: dict[str, Any], key: str, now: datetime
) -> int | None:
    return outbox.add(
        conn,
        kind=outbox.ALERT,
        channel=channel,
        recipient=channel,
        subject=payload.get("summary") or payload["type"],
        body="",
        payload=payload,
        now=now,
        dedupe_key=key,
    )


def announcement(found: Discrepancy, now: datetime) -> dict[str, Any]:
    return {
        "type": "discrepancy",
        "id": found.id,
        "order_key": found.order_key,
        "rule": found.rule,
        "severity": found.severity,
        "status": found.status,
        "systems": list(found.systems),
        "summary": found.summary,
        "tier": found.tier,
        "escalation": found.escalation,
        "opened_at": found.opened_at.isoformat(),
        "since": min(found.since, found.opened_at).isoformat(),
        "announced_at": now.isoformat(),
    }


def _facts(found: Discrepancy) -> dict[str, Any]:
    return {"severity": found.severity, "rule": found.rule, "tier": found.tier, "details": found.details}


def _revision(found: Discrepancy) -> str:
    """What the problem is now: a new value means it changed and is worth announcing again."""
    identity = "\x1f".join([found.opened_at.isoformat(), found.severity, str(found.tier), found.summary])
    return hashlib.sha256(identity.encode()).hexdigest()[:12]
