"""Connector health in the store, on SQLite and PostgreSQL: a failure count that reaches the threshold
starts one unhealthy episode, a success ends it; what is saved is read back with the lag from the
system's cursor (its own time for a timestamp cursor, else when it was saved)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from orderbridge.storage import cursors, health
from orderbridge.storage.db import Store
from orderbridge.storage.health import SystemHealth

M = timedelta(minutes=1)


def test_the_failure_reaching_the_threshold_starts_the_episode_and_a_success_ends_it(now: datetime) -> None:
    state, changes = SystemHealth("erp"), []
    for minute in range(4):
        state, change = health.failed(state, "HTTP 503", now + minute * M, threshold=3, retry_at=now + 9 * M)
        changes.append(change)
    assert changes == [None, None, "unhealthy", None]
    assert state.failures == 4 and not state.healthy and not state.up
    assert state.failing_since == now and state.unhealthy_since == now + 2 * M
    assert state.last_error == "HTTP 503" and state.last_error_at == now + 3 * M
    recovered, change = health.succeeded(state, now + 10 * M)
    assert change == "recovered"
    assert recovered.healthy and recovered.up and recovered.failures == 0
    assert (
        recovered.failing_since is None and recovered.unhealthy_since is None and recovered.retry_at is None
    )
    assert recovered.last_success_at == now + 10 * M
    assert recovered.last_error == "HTTP 503"  # the last error stays visible, with its time
    assert health.succeeded(recovered, now + 11 * M)[1] is None


def test_a_failure_below_the_threshold_is_failing_not_unhealthy(now: datetime) -> None:
    state, change = health.failed(SystemHealth("erp"), "timeout", now, threshold=2)
    assert change is None and state.healthy and not state.up
    assert health.succeeded(state, now + M)[1] is None  # no episode, nothing to announce


def test_saved_health_is_read_back_with_the_lag_of_each_cursor(store: Store, now: datetime) -> None:
    """A timestamp cursor with its offset gives its own time; a cursor of another kind (file list,
    zone-less text) the moment it was saved; a system never polled an empty record."""
    state, _ = health.failed(SystemHealth("erp"), "HTTP 503", now, threshold=1, retry_at=now + M)
    with store.begin() as conn:
        health.save(conn, state, now)
        health.save(conn, health.succeeded(SystemHealth("sheet"), now)[0], now)
        health.save(conn, health.succeeded(SystemHealth("crm"), now)[0], now)
        cursors.save(conn, "erp", {"value": "2026-11-22T08:00:00+08:00", "paging": {"page": 2}}, now)
        cursors.save(conn, "sheet", {"files": {"orders.xlsx": "abc"}}, now - 5 * M)
        cursors.save(conn, "crm", {"value": "2026-11-22 08:00:00"}, now - 7 * M)
    found = health.for_all(store, ["sheet", "erp", "crm", "wms"])
    assert [h.system for h in found] == ["sheet", "erp", "crm", "wms"]
    sheet, erp, crm, wms = found
    assert erp.failures == 1 and not erp.healthy and erp.unhealthy_since == now and erp.retry_at == now + M
    assert erp.cursor_at == datetime(2026, 11, 22, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    assert erp.lag_basis == "cursor" and erp.lag(now) == 12 * 3600  # 08:00+08:00 is midnight UTC; now is noon
    assert (
        sheet.lag_basis == "saved"
        and sheet.lag(now) == 300
        and sheet.healthy
        and sheet.last_success_at == now
    )
    assert crm.lag_basis == "saved" and crm.lag(now) == 420
    assert wms == SystemHealth("wms") and wms.lag(now) is None
    shown = erp.as_dict(now)
    assert shown["healthy"] is False and shown["up"] is False and shown["failures"] == 1
    assert shown["unhealthy_since"] == now.isoformat() and shown["lag_seconds"] == 12 * 3600
    assert shown["last_error"] == "HTTP 503" and shown["lag_basis"] == "cursor"


def test_saving_again_replaces_the_record(store: Store, now: datetime) -> None:
    state = SystemHealth("erp")
    for minute in range(3):
        state, _ = health.failed(state, f"error {minute}", now + minute * M, threshold=2)
        with store.begin() as conn:
            health.save(conn, state, now + minute * M)
    with store.engine.connect() as conn:
        saved = health.load(conn, "erp")
    assert saved.failures == 3 and saved.last_error == "error 2" and saved.unhealthy_since == now + M
    assert saved.last_error_at is not None and saved.last_error_at.tzinfo is not None
    assert saved.last_error_at.astimezone(UTC) == now + 2 * M
