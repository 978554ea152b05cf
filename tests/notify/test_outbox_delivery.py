"""Delivery without loss: with SMTP down a scheduled report waits in the outbox, retried with growing
waits, and arrives exactly once when SMTP is back — also when the sending process is killed with
SIGKILL in the middle of sending."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orderbridge.config.loader import parse_config
from orderbridge.notify.service import Notifier
from orderbridge.reconciler.settings import ReconcileSettings
from orderbridge.storage import outbox
from orderbridge.storage.db import Store

REPORT = (
    'reports:\n  finance:\n    to: [finance@example.com]\n    cron: "0 8 * * *"\n'
    "    timezone: Asia/Shanghai\n    language: en\n"
)


def notifier(store: Store, server: Any, world: Any) -> Notifier:
    cfg = parse_config(server.smtp_yaml() + REPORT)
    return Notifier(
        store, cfg.smtp, cfg.reports, cfg.alerts, ReconcileSettings.model_validate(world.reconcile)
    )


def item(store: Store, item_id: int) -> outbox.Item:
    with store.engine.connect() as conn:
        found = outbox.get(conn, item_id)
    assert found is not None
    return found


def test_report_waits_while_smtp_is_down_and_arrives_once(
    store: Store, now: datetime, smtp_factory: Any, world: Any
) -> None:
    """Hours of SMTP outage: every attempt fails and waits longer (30 s, 1 min, 2 min, ... capped at
    30 min); the slot's report is made once however often the schedule fires; once SMTP answers the
    report arrives, once, and later rounds send nothing more."""
    server = smtp_factory("starttls")  # not started: the port refuses connections
    world.populate(store, now)
    world.reconciler(store).run(now)
    notify = notifier(store, server, world)
    slot = "2026-11-23T00:00:00+00:00"
    first = notify.queue_report("finance", now, slot=slot)
    assert first is not None
    assert notify.queue_report("finance", now, slot=slot) is None  # a restart firing the same slot

    moment, waits = now, []
    for _ in range(10):  # about five hours of retries
        result = notify.send(moment)
        assert first in result.failed and "cannot deliver" in result.failed[first]
        due = item(store, first).next_attempt_at
        waits.append(due - moment)
        moment = due
    assert waits[:4] == [
        timedelta(seconds=30),
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
    ]
    assert max(waits) == timedelta(minutes=30)
    assert item(store, first).state == outbox.PENDING and item(store, first).attempts == 10
    assert notify.health()["report:finance"]["healthy"] is False

    server.start()
    assert notify.send(moment - timedelta(seconds=1)).sent == []  # not due yet: it waits its turn
    assert notify.send(moment).sent == [first]
    for later in range(3):
        assert notify.send(moment + timedelta(hours=later + 1)).sent == []
    assert len(server.handler.received) == 1
    sent = item(store, first)
    assert sent.state == outbox.SENT and sent.last_error is None
    assert server.handler.received[0].message["Message-ID"] == sent.message_id
    assert notify.health()["report:finance"]["healthy"] is True


def test_refused_recipient_is_failed_not_retried(
    store: Store, now: datetime, smtp_server: Any, world: Any
) -> None:
    """A permanent refusal (5xx) marks the item failed with the reason; it is not sent again."""
    from aiosmtpd.smtp import SMTP

    async def refuse(server: SMTP, session: Any, envelope: Any, address: str, options: Any) -> str:
        return "550 5.1.1 no such mailbox"

    smtp_server.handler.handle_RCPT = refuse  # type: ignore[attr-defined]
    notify = notifier(store, smtp_server, world)
    first = notify.queue_report("finance", now)
    assert first is not None
    result = notify.send(now)
    assert "550" in result.failed[first]
    assert item(store, first).state == outbox.FAILED
    assert notify.send(now + timedelta(hours=1)).failed == {}


@pytest.mark.slow
def test_sender_killed_while_sending_delivers_once_after_restart(
    store_url: str, tmp_path: Path, smtp_server: Any, world: Any, now: datetime
) -> None:
    """`orderbridge report --send` is killed with SIGKILL while the server holds its DATA; the
    report stays in the outbox, claimed; the next delivery round (a new process) sends it, with the
    same Message-ID, and it arrives exactly once."""
    store = Store(store_url)
    try:
        world.populate(store, now)
        world.reconciler(store).run(now)
    finally:
        store.close()
    config = tmp_path / "orderbridge.yaml"
    config.write_text(
        f"store: {{url: {json.dumps(store_url)}}}\n"
        + smtp_server.smtp_yaml(retry="{first: 1s, max: 2s}")
        + REPORT,
        encoding="utf-8",
    )
    import threading

    smtp_server.handler.hold = threading.Event()
    smtp_server.handler.hold.set()
    env = {**os.environ, "TEST_SMTP_PASSWORD": "s3cret-smtp-pw"}
    command = [sys.executable, "-m", "orderbridge"]
    sending = subprocess.Popen([*command, "report", "finance", "--send", "-c", str(config)], env=env)
    try:
        assert smtp_server.handler.holding.wait(60), "the sender never reached DATA"
        os.kill(sending.pid, signal.SIGKILL)
        assert sending.wait(30) == -signal.SIGKILL
    finally:
        if sending.poll() is None:
            sending.kill()
    smtp_server.handler.hold.clear()
    smtp_server.handler.release.set()
    assert smtp_server.handler.received == []
    first_attempt = smtp_server.handler.attempts[0]

    deadline = time.monotonic() + 60
    while not smtp_server.handler.received and time.monotonic() < deadline:
        subprocess.run(
            [*command, "outbox", "--deliver", "-c", str(config), "--format", "json"],
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )
        if not smtp_server.handler.received:
            time.sleep(0.5)  # the claim pushed the next attempt 1 s ahead
    assert len(smtp_server.handler.received) == 1
    listed = subprocess.run(
        [*command, "outbox", "--deliver", "-c", str(config), "--format", "json"],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
        text=True,
    )
    assert len(smtp_server.handler.received) == 1
    rows = json.loads(listed.stdout)
    assert [(r["kind"], r["state"]) for r in rows] == [("report", "sent")]
    assert rows[0]["attempts"] == 2
    import email

    before = email.message_from_bytes(first_attempt)["Message-ID"]
    assert smtp_server.handler.received[0].message["Message-ID"] == before == rows[0]["message_id"]
