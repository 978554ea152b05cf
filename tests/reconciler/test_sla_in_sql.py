"""The next SLA deadline computed in SQL (storage.screen.holdings, rules.deadlines.quiet_deadline) for
orders that only sit in a status with an SLA says exactly what the `stuck` rule says of them loaded:
the same time to look again while inside every limit, and "show it to the rule" once one has passed."""

from __future__ import annotations

from datetime import datetime, timedelta

from orderbridge.mapping.model import CanonicalStatus, Dimension, Observation
from orderbridge.reconciler.rules import stuck
from orderbridge.reconciler.rules.deadlines import quiet_deadline
from orderbridge.reconciler.settings import ReconcileSettings
from orderbridge.reconciler.types import Finding, OrderSnapshot, RuleContext, Wake
from orderbridge.storage import observations, screen
from orderbridge.storage.db import Store

H = timedelta(hours=1)
SETTINGS = ReconcileSettings.model_validate(
    {
        "authority": {"fulfillment": "wms"},
        "sla": {"preparing": ["1d", "3d"], "fulfillment.on_hold": ["2h"]},
    }
)
SLA = {Dimension.fulfillment: {"preparing", "on_hold"}}


def say(
    store: Store,
    system: str,
    key: str,
    status: str,
    at: datetime,
    *,
    record: str | None = None,
    late: bool = False,
) -> None:
    """`system` says `status` of order `key` at `at` (a poll, or a pushed event that may come late)."""
    obs = Observation(
        system=system,
        record_id=record or f"{system}-{key}",
        order_key=key,
        order_ref=key,
        statuses={Dimension.fulfillment: CanonicalStatus(status=status, native=status.upper())},
        status_at=at,
        observed_at=at,
    )
    with store.begin() as conn:
        observations.ingest(conn, [(obs, {"s": status, "at": at.isoformat()})], at, newest_wins=late)


def orders(store: Store, now: datetime) -> None:
    # The authority's time counts, though the ERP got there first.
    say(store, "erp", "authority", "preparing", now - 6 * H)
    say(store, "wms", "authority", "preparing", now - 5 * H)
    # No authority in the status: the first to get there, then the system's name on a tie.
    say(store, "erp", "earliest", "preparing", now - 7 * H)
    say(store, "shop", "earliest", "preparing", now - 7 * H)
    say(store, "crm", "earliest", "preparing", now - 9 * H)
    # The current run began when the status came back, not when it was first reported.
    for offset, status in ((30, "approved"), (28, "preparing"), (20, "approved"), (10, "preparing")):
        say(store, "wms", "run", status, now - offset * H)
    say(store, "wms", "run", "preparing", now - 2 * H)  # an unchanged status adds no history
    # Pushed events out of order: history reads by status time.
    say(store, "wms", "late", "preparing", now - 1 * H, late=True)
    say(store, "wms", "late", "approved", now - 3 * H, late=True)
    say(store, "wms", "late", "preparing", now - 4 * H, late=True)
    # A record moved to another order in the same status: that order's history has none of it.
    say(store, "erp", "moved-from", "preparing", now - 8 * H, record="erp-moved")
    say(store, "erp", "moved", "preparing", now - 3 * H, record="erp-moved")
    # A side state with its own SLA, within it and past it.
    say(store, "wms", "held", "on_hold", now - 1 * H)
    say(store, "wms", "held-long", "on_hold", now - 3 * H)
    # Past the first limit, and past the last: the rule has findings.
    say(store, "wms", "stuck", "preparing", now - 30 * H)
    say(store, "wms", "very-stuck", "preparing", now - 80 * H)


KEYS = [
    "authority",
    "earliest",
    "run",
    "late",
    "moved-from",
    "moved",
    "held",
    "held-long",
    "stuck",
    "very-stuck",
]


def test_the_sql_deadline_is_the_stuck_rules(store: Store, now: datetime) -> None:
    """For every order: inside its SLAs, the deadline from SQL is the earliest Wake of `stuck` and the
    rule has no finding; past one, SQL gives no deadline and the rule has a finding."""
    orders(store, now)
    ctx = RuleContext(now=now, settings=SETTINGS, systems=("erp", "wms", "shop", "crm"))
    with store.begin() as conn:
        held, shipping = screen.holdings(conn, KEYS, SLA)
        found, history = observations.load_orders(conn, KEYS)
    assert shipping == set()
    said = {}
    for key in KEYS:
        outcomes = list(stuck(OrderSnapshot(key, found[key], history[key]), ctx))
        wakes = [o.at for o in outcomes if isinstance(o, Wake)]
        findings = [o for o in outcomes if isinstance(o, Finding)]
        within, wake = quiet_deadline(held[key], ctx)
        assert within == (not findings), key
        if within:
            assert wake == min(wakes, default=None), key
        said[key] = wake
    assert said == {
        "authority": now - 5 * H + 24 * H,
        "earliest": now - 9 * H + 24 * H,
        "run": now - 10 * H + 24 * H,
        "late": now - 1 * H + 24 * H,
        "moved-from": None,  # its record is in "moved" now
        "moved": now - 3 * H + 24 * H,
        "held": now - 1 * H + 2 * H,
        "held-long": None,
        "stuck": None,
        "very-stuck": None,
    }


def test_an_order_with_a_shipment_status_is_left_to_the_rule(store: Store, now: datetime) -> None:
    """On fulfilment a carrier's status counts for the progress it implies: SQL does not judge those."""
    say(store, "wms", "SO-1", "preparing", now - H)
    parcel = Observation(
        system="carrier",
        record_id="P1",
        order_key="SO-1",
        statuses={Dimension.shipment: CanonicalStatus(status="in_transit", native="Transit")},
        status_at=now,
        observed_at=now,
    )
    with store.begin() as conn:
        observations.ingest(conn, [(parcel, {"p": 1})], now)
        held, shipping = screen.holdings(conn, ["SO-1"], SLA)
    assert shipping == {"SO-1"}
    assert [(h.system, h.status) for h in held["SO-1"]] == [("wms", "preparing")]
