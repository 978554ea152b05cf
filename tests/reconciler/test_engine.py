"""The reconcile pass and discrepancy lifecycle on a real store (SQLite and PostgreSQL): grace,
incremental evaluation, auto-resolution, reopening, escalation, acknowledgement and snoozing."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

import pytest
import structlog
from structlog.testing import capture_logs

from orderbridge.mapping.model import CanonicalStatus, Dimension, Observation
from orderbridge.reconciler.engine import Reconciler
from orderbridge.reconciler.lifecycle import LifecycleError, acknowledge, snooze
from orderbridge.reconciler.rules import ORDER_RULES
from orderbridge.reconciler.settings import ReconcileSettings
from orderbridge.reconciler.types import OrderSnapshot, Outcome, RuleContext
from orderbridge.storage import discrepancies, observations, queue
from orderbridge.storage.db import Store

H = timedelta(hours=1)


def say(
    store: Store,
    system: str,
    key: str | None,
    status: str,
    at: datetime,
    record: str | None = None,
    **extra: object,
) -> None:
    obs = Observation(
        system=system,
        record_id=record or f"{system}-{key}",
        order_key=key,
        status_at=at,
        observed_at=at,
        statuses={Dimension.fulfillment: CanonicalStatus(status=status, native=status.upper())},
        native_status={"status": status.upper()},
        **extra,  # type: ignore[arg-type]
    )
    with store.begin() as conn:
        observations.ingest(conn, [(obs, {"status": status})], at, link_by=["tracking_number"])


def reconciler(store: Store, **settings: object) -> Reconciler:
    base: dict[str, object] = {
        "authority": {"fulfillment": "wms"},
        "grace": {"default": "30m"},
        "escalation": ["1d", "3d"],
    }
    base.update(settings)
    return Reconciler(store, ReconcileSettings.model_validate(base), ("erp", "wms", "carrier"))


def listing(store: Store, status: str = "all") -> list[discrepancies.Discrepancy]:
    with store.engine.connect() as conn:
        return discrepancies.listing(conn, status=status)


def test_lag_inside_grace_is_not_reported_until_its_deadline(store: Store, now: datetime) -> None:
    """A fresh disagreement waits out its grace; the pass queues the deadline and opens it then."""
    say(store, "wms", "SO-1", "shipped", now - 10 * timedelta(minutes=1))
    say(store, "erp", "SO-1", "preparing", now - 2 * H)
    engine = reconciler(store)
    assert engine.run(now).changes == []
    with store.engine.connect() as conn:
        assert queue.due(conn, now) == []
        assert queue.due(conn, now + 20 * timedelta(minutes=1)) == ["SO-1"]
    result = engine.run(now + 21 * timedelta(minutes=1))
    assert [(c.kind, c.rule, c.order_key) for c in result.changes] == [("opened", "status_lag", "SO-1")]


def test_an_order_cancelled_but_still_open_elsewhere_opens_after_grace(store: Store, now: datetime) -> None:
    """Cancelled in the ERP ten minutes ago, still being prepared in the WMS: nothing yet (the WMS may
    be about to hear of it); once the grace has passed, still_open opens — also on a full pass."""
    say(store, "wms", "SO-1", "preparing", now - 5 * H)
    say(store, "erp", "SO-1", "cancelled", now - 10 * timedelta(minutes=1))
    engine = reconciler(store)
    assert engine.run(now, full=True).changes == []
    result = engine.run(now + 21 * timedelta(minutes=1))
    assert [(c.kind, c.rule, c.systems) for c in result.changes] == [("opened", "still_open", ("erp", "wms"))]


def test_pass_evaluates_only_changed_or_due_orders(store: Store, now: datetime) -> None:
    """After a pass, only an order that changed is evaluated again; --full evaluates all."""
    for key in ("SO-1", "SO-2", "SO-3"):
        say(store, "wms", key, "placed", now - H)
    engine = reconciler(store)
    assert engine.run(now).evaluated == 3
    assert engine.run(now + timedelta(minutes=1)).evaluated == 0
    say(store, "wms", "SO-2", "approved", now + timedelta(minutes=2))
    assert engine.run(now + timedelta(minutes=3)).evaluated == 1
    assert engine.run(now + timedelta(minutes=4), full=True).evaluated == 3


def test_discrepancy_resolves_when_systems_agree_and_reopens_when_they_part(
    store: Store, now: datetime
) -> None:
    """The same problem keeps one discrepancy: resolved when the lagging system catches up,
    reopened (same id, full event history) when it appears again."""
    say(store, "wms", "SO-1", "shipped", now - 6 * H)
    say(store, "erp", "SO-1", "preparing", now - 7 * H)
    engine = reconciler(store)
    (opened,) = engine.run(now).changes
    say(store, "erp", "SO-1", "shipped", now + H)
    assert [c.kind for c in engine.run(now + H).changes] == ["resolved"]
    say(store, "erp", "SO-1", "preparing", now + 2 * H)
    later = now + 4 * H
    changes = engine.run(later).changes
    kinds = {(c.kind, c.rule) for c in changes}
    assert ("reopened", "status_lag") in kinds
    assert ("opened", "regression") in kinds
    with store.engine.connect() as conn:
        found = discrepancies.get(conn, opened.id)
    assert found is not None and found.status == "open"
    assert [e.kind for e in found.events] == ["opened", "resolved", "reopened"]


def test_open_discrepancy_escalates_by_age_and_acknowledgement_stops_it(store: Store, now: datetime) -> None:
    """Age tiers escalate an open discrepancy once each; an acknowledged one is not escalated."""
    say(store, "wms", "SO-1", "shipped", now - 6 * H)
    say(store, "erp", "SO-1", "preparing", now - 7 * H)
    say(store, "wms", "SO-2", "shipped", now - 6 * H)
    say(store, "erp", "SO-2", "preparing", now - 7 * H)
    engine = reconciler(store)
    first, second = sorted(engine.run(now).changes, key=lambda c: c.order_key)
    with store.begin() as conn:
        acknowledge(conn, second.id, "li.wei", "calling the warehouse", now + H)
    day = now + timedelta(days=1, minutes=1)
    assert [(c.kind, c.order_key) for c in engine.run(day).changes] == [("escalated", "SO-1")]
    assert engine.run(day + H).changes == []
    with store.engine.connect() as conn:
        escalated = discrepancies.get(conn, first.id)
        acknowledged = discrepancies.get(conn, second.id)
    assert escalated is not None and escalated.escalation == 1
    assert acknowledged is not None and acknowledged.status == "acknowledged"
    assert acknowledged.acknowledged_by == "li.wei" and acknowledged.events[-1].actor == "li.wei"


def test_snooze_hides_until_it_ends_then_the_discrepancy_is_open_again(store: Store, now: datetime) -> None:
    """A snoozed discrepancy returns to open when the snooze ends if the problem is still there."""
    say(store, "wms", "SO-1", "shipped", now - 6 * H)
    say(store, "erp", "SO-1", "preparing", now - 7 * H)
    engine = reconciler(store)
    (opened,) = engine.run(now).changes
    with store.begin() as conn:
        snooze(conn, opened.id, now + 2 * H, "ops", None, now)
    assert engine.run(now + H, full=True).changes == []
    assert [c.kind for c in engine.run(now + 2 * H + timedelta(minutes=1)).changes] == ["snooze_ended"]
    (current,) = listing(store, "open")
    assert current.status == "open"
    with store.begin() as conn, pytest.raises(LifecycleError):
        snooze(conn, 999, now + H, "ops", None, now)


def test_orphan_opens_then_resolves_when_the_record_links(store: Store, now: datetime) -> None:
    """An event with only an unknown tracking number is an orphan; once a record with that tracking
    number arrives it links, and the orphan discrepancy resolves itself."""
    say(store, "carrier", None, "shipped", now - 2 * H, record="EV-1", links={"tracking_number": "SF7"})
    engine = reconciler(store)
    (opened,) = engine.run(now).changes
    assert (opened.kind, opened.rule, opened.order_key) == ("opened", "orphan", "carrier:EV-1")
    say(store, "wms", "SO-7", "shipped", now, links={"tracking_number": "SF7"})
    kinds = [(c.kind, c.rule) for c in engine.run(now + H).changes]
    assert ("resolved", "orphan") in kinds
    (resolved,) = listing(store, "resolved")
    assert resolved.resolution == "the record now links to an order"


def test_orphans_cost_an_idle_pass_nothing_and_wake_at_their_deadlines(store: Store, now: datetime) -> None:
    """A fresh orphan waits out its grace without a pass looking at it in between; once open, passes
    with nothing new leave it untouched (no update, no last-seen bump) until its escalation is due."""
    say(store, "carrier", None, "shipped", now - 10 * timedelta(minutes=1), record="EV-2",
        links={"tracking_number": "SF8"})  # fmt: skip
    engine = reconciler(store)
    assert engine.run(now).changes == []
    with store.engine.connect() as conn:
        assert queue.due(conn, now + 19 * timedelta(minutes=1)) == []
        assert queue.due(conn, now + 20 * timedelta(minutes=1)) == [queue.ORPHANS]
    (opened,) = engine.run(now + 20 * timedelta(minutes=1)).changes
    assert (opened.kind, opened.rule) == ("opened", "orphan")
    (before,) = listing(store)
    for hours in (1, 2, 5):
        assert engine.run(now + hours * H).changes == []
    (after,) = listing(store)
    assert after.last_seen_at == before.last_seen_at
    (escalated,) = engine.run(now + 25 * H).changes
    assert (escalated.kind, escalated.rule) == ("escalated", "orphan")


def test_a_snoozed_orphan_comes_back_when_the_snooze_ends(store: Store, now: datetime) -> None:
    """Snoozing an orphan queues the orphans for the end of the snooze; a pass then shows it again."""
    say(store, "carrier", None, "shipped", now - 2 * H, record="EV-3", links={"tracking_number": "SF3"})
    engine = reconciler(store)
    (opened,) = engine.run(now).changes
    with store.begin() as conn:
        snooze(conn, opened.id, now + 4 * H, "ops", None, now)
    assert engine.run(now + H).changes == []
    with store.engine.connect() as conn:
        assert queue.due(conn, now + 4 * H) == [queue.ORPHANS]
    engine.run(now + 4 * H)
    (back,) = listing(store)
    assert back.status == "open" and back.snoozed_until is None


@pytest.fixture
def every_level() -> Iterator[None]:
    """Logging at every level for one test, whatever an earlier test configured."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    yield
    structlog.configure(**saved)


@pytest.mark.usefixtures("every_level")
def test_every_opened_and_resolved_discrepancy_is_logged_with_its_order_and_systems(
    store: Store, now: datetime
) -> None:
    """Operators following the logs see each discrepancy open and resolve, with order key, rule and
    systems on the line."""
    say(store, "wms", "SO-5", "shipped", now - 3 * H)
    say(store, "erp", "SO-5", "preparing", now - 4 * H)
    engine = reconciler(store)
    with capture_logs() as opened_logs:
        engine.run(now)
    say(store, "erp", "SO-5", "shipped", now)
    with capture_logs() as resolved_logs:
        engine.run(now + H)
    [opened] = [e for e in opened_logs if e["event"] == "discrepancy opened"]
    [resolved] = [e for e in resolved_logs if e["event"] == "discrepancy resolved"]
    assert (opened["order_key"], opened["rule"], opened["systems"]) == ("SO-5", "status_lag", ["erp", "wms"])
    assert (resolved["order_key"], resolved["discrepancy_id"]) == ("SO-5", opened["discrepancy_id"])


def test_rules_can_be_switched_off(store: Store, now: datetime) -> None:
    """Only the rules listed in `reconcile.rules` run."""
    say(store, "wms", "SO-1", "shipped", now - 6 * H)
    say(store, "erp", "SO-1", "preparing", now - 7 * H)
    assert reconciler(store, rules=["stuck"]).run(now).changes == []


def test_sla_deadline_wakes_the_engine_without_any_change(store: Store, now: datetime) -> None:
    """Preparing for 20 h with a 1-day SLA: nothing yet, the order is queued for the moment the SLA
    passes and the pass at that moment opens `stuck`, though no system said anything new."""
    say(store, "wms", "SO-1", "preparing", now - 20 * H)
    engine = reconciler(store, sla={"preparing": ["1d"]})
    assert engine.run(now).changes == []
    with store.engine.connect() as conn:
        assert queue.due(conn, now + 4 * H - timedelta(seconds=1)) == []
        assert queue.due(conn, now + 4 * H) == ["SO-1"]
    assert [(c.kind, c.rule) for c in engine.run(now + 4 * H).changes] == [("opened", "stuck")]


def test_unchanged_problem_is_not_updated_by_age_alone(store: Store, now: datetime) -> None:
    """Looking again at a stuck order in the same tier changes nothing; reaching the next tier updates it."""
    say(store, "wms", "SO-1", "preparing", now - 30 * H)
    engine = reconciler(store, sla={"preparing": ["1d", "3d"]}, escalation=["10d"])
    assert [c.kind for c in engine.run(now).changes] == ["opened"]
    assert engine.run(now + 5 * H, full=True).changes == []
    assert [c.kind for c in engine.run(now + 2 * timedelta(days=1)).changes] == ["updated"]


def test_failing_rule_leaves_its_discrepancies_alone(store: Store, now: datetime) -> None:
    """A rule that raises on an order is counted and says nothing: its open discrepancy is not resolved as
    if the systems agreed, and the other rules still run."""
    say(store, "wms", "SO-1", "shipped", now - 6 * H)
    say(store, "erp", "SO-1", "preparing", now - 7 * H)
    (opened,) = reconciler(store).run(now).changes

    def broken(snapshot: OrderSnapshot, ctx: RuleContext) -> Iterable[Outcome]:
        raise RuntimeError("a bug in a rule")

    settings = ReconcileSettings.model_validate(
        {"authority": {"fulfillment": "wms"}, "sla": {"shipped": ["1h"]}}
    )
    failing = Reconciler(store, settings, ("erp", "wms"), order_rules={**ORDER_RULES, "status_lag": broken})
    result = failing.run(now + H, full=True)
    assert result.rule_errors == 1
    assert [(c.kind, c.rule) for c in result.changes] == [("opened", "stuck")]
    with store.engine.connect() as conn:
        kept = discrepancies.get(conn, opened.id)
    assert kept is not None and kept.status == "open"


def test_switched_off_rule_resolves_saying_so(store: Store, now: datetime) -> None:
    """A discrepancy of a rule no longer enabled is resolved with that reason, not as an agreement."""
    say(store, "wms", "SO-1", "shipped", now - 6 * H)
    say(store, "erp", "SO-1", "preparing", now - 7 * H)
    reconciler(store).run(now)
    changes = reconciler(store, rules=["stuck"]).run(now + H, full=True).changes
    assert [(c.kind, c.rule) for c in changes] == [("resolved", "status_lag")]
    (resolved,) = listing(store, "resolved")
    assert resolved.resolution == "the status_lag rule is switched off"


def test_snoozed_discrepancy_that_resolves_reopens_open(store: Store, now: datetime) -> None:
    """Snoozed, then the systems agree: resolved, the snooze gone with it. When the problem is back it
    reopens as open (not snoozed), one discrepancy with its whole history."""
    say(store, "wms", "SO-1", "shipped", now - 6 * H)
    say(store, "erp", "SO-1", "preparing", now - 7 * H)
    engine = reconciler(store)
    (opened,) = engine.run(now).changes
    with store.begin() as conn:
        snooze(conn, opened.id, now + 10 * H, "ops", "waiting for the ERP batch", now)
    say(store, "erp", "SO-1", "shipped", now + H)
    assert [c.kind for c in engine.run(now + H).changes] == ["resolved"]
    (resolved,) = listing(store, "resolved")
    assert resolved.snoozed_until is None
    say(store, "wms", "SO-1", "delivered", now + 2 * H)
    assert [c.kind for c in engine.run(now + 3 * H).changes] == ["reopened"]
    with store.engine.connect() as conn:
        found = discrepancies.get(conn, opened.id)
    assert found is not None and (found.status, found.snoozed_until) == ("open", None)
    assert [e.kind for e in found.events] == ["opened", "snoozed", "resolved", "reopened"]


def test_acknowledged_discrepancy_that_reopens_escalates_again(store: Store, now: datetime) -> None:
    """An acknowledgement covers one occurrence: reopened, the discrepancy is open, unacknowledged, and
    escalates by the age of the new occurrence."""
    say(store, "wms", "SO-1", "shipped", now - 6 * H)
    say(store, "erp", "SO-1", "preparing", now - 7 * H)
    engine = reconciler(store)
    (opened,) = engine.run(now).changes
    with store.begin() as conn:
        acknowledge(conn, opened.id, "li.wei", None, now)
    say(store, "erp", "SO-1", "shipped", now + H)
    engine.run(now + H)
    say(store, "wms", "SO-1", "delivered", now + 2 * H)
    assert [c.kind for c in engine.run(now + 3 * H).changes] == ["reopened"]
    day_later = now + 3 * H + timedelta(days=1)
    assert [c.kind for c in engine.run(day_later).changes] == ["escalated"]
    with store.engine.connect() as conn:
        found = discrepancies.get(conn, opened.id)
    assert found is not None and (found.status, found.acknowledged_by, found.escalation) == ("open", None, 1)


def test_a_late_carrier_event_raises_no_regression(store: Store, now: datetime) -> None:
    """A carrier event pushed late (in transit, after delivered was received) is history at its own
    time: the carrier still says delivered, and the regression rule sees no step back."""

    def push(status: str, at: datetime, received: datetime) -> None:
        obs = Observation(
            system="carrier",
            record_id="SF1",
            order_key="SO-1",
            status_at=at,
            observed_at=received,
            statuses={Dimension.shipment: CanonicalStatus(status=status, native=status)},
            native_status={"status": status},
        )
        with store.begin() as conn:
            observations.ingest(
                conn, [(obs, {"status": status, "at": at.isoformat()})], received, newest_wins=True
            )

    push("in_transit", now - 5 * H, now - 5 * H)
    push("delivered", now - H, now - H)
    push("out_for_delivery", now - 2 * H, now)
    result = reconciler(store).run(now)
    assert [c.rule for c in result.changes if c.rule == "regression"] == []
    with store.engine.connect() as conn:
        (latest,) = observations.observations_of(conn, "SO-1")
    assert latest.status(Dimension.shipment) == "delivered"
