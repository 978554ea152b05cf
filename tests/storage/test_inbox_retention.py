"""The webhook inbox keeps what still needs work and lets go of old finished events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orderbridge.config.errors import ConfigError
from orderbridge.config.loader import load_config
from orderbridge.scheduler.daemon import Daemon
from orderbridge.storage import inbox
from orderbridge.storage.db import Store

NOW = datetime.now(UTC).replace(microsecond=0)


def _store_events(store: Store, ages: dict[str, tuple[str, timedelta]]) -> None:
    rows = [
        {
            "system": "carrier",
            "dedupe_key": key,
            "received_at": NOW - age,
            "headers": {},
            "body": f'{{"id": "{key}"}}',
            "state": inbox.PENDING,
        }
        for key, (_, age) in ages.items()
    ]
    with store.begin() as conn:
        assert all(inbox.insert_many(conn, rows))
        by_key = {e.dedupe_key: e.id for e in inbox.listing(conn)}
        for key, (state, _) in ages.items():
            if state != inbox.PENDING:
                inbox.mark(conn, [by_key[key]], state, NOW, error="boom" if state == inbox.FAILED else None)


EVENTS = {
    "old-processed": (inbox.PROCESSED, timedelta(days=100)),
    "old-rejected": (inbox.REJECTED, timedelta(days=100)),
    "old-failed": (inbox.FAILED, timedelta(days=100)),
    "old-pending": (inbox.PENDING, timedelta(days=100)),
    "new-processed": (inbox.PROCESSED, timedelta(days=1)),
    "new-rejected": (inbox.REJECTED, timedelta(days=1)),
}


def test_prune_deletes_only_old_processed_and_rejected_events(store: Store) -> None:
    _store_events(store, EVENTS)
    with store.begin() as conn:
        assert inbox.prune(conn, NOW - timedelta(days=90)) == 2
    with store.engine.connect() as conn:
        kept = {e.dedupe_key for e in inbox.listing(conn)}
    assert kept == {"old-failed", "old-pending", "new-processed", "new-rejected"}


def test_a_pruned_event_redelivered_is_stored_again_while_a_kept_one_is_a_duplicate(store: Store) -> None:
    _store_events(store, EVENTS)
    with store.begin() as conn:
        inbox.prune(conn, NOW - timedelta(days=90))
    again = [
        {
            "system": "carrier",
            "dedupe_key": k,
            "received_at": NOW,
            "headers": {},
            "body": "{}",
            "state": "pending",
        }
        for k in ("old-processed", "new-processed")
    ]
    with store.begin() as conn:
        assert inbox.insert_many(conn, again) == [True, False]


def _config(tmp_path: Path, store_url: str, keep: str | None) -> Path:
    path = tmp_path / "orderbridge.yaml"
    lines = ["store:", f"  url: {store_url}"] + ([f"  keep_webhook_events: {keep}"] if keep else [])
    path.write_text("\n".join([*lines, "systems: {}", ""]), encoding="utf-8")
    return path


def test_the_daemon_prunes_by_the_configured_period(tmp_path: Path, store_url: str) -> None:
    daemon = Daemon(load_config(_config(tmp_path, store_url, "30d")))
    try:
        _store_events(
            daemon.store,
            {
                "month-old": (inbox.PROCESSED, timedelta(days=31)),
                "week-old": (inbox.PROCESSED, timedelta(days=7)),
            },
        )
        assert daemon.prune_inbox() == 1
        with daemon.store.engine.connect() as conn:
            assert [e.dedupe_key for e in inbox.listing(conn)] == ["week-old"]
    finally:
        daemon.shutdown()


def test_the_default_keeps_90_days_and_zero_is_refused(tmp_path: Path) -> None:
    assert load_config(_config(tmp_path, "sqlite:///ob.db", None)).config.store.keep_webhook_events == (
        timedelta(days=90)
    )
    with pytest.raises(ConfigError, match="keep_webhook_events"):
        load_config(_config(tmp_path, "sqlite:///ob.db", "0s"))
