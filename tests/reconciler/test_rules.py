"""The reconciliation rules, fed hand-built snapshots at a fixed `now`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from orderbridge.mapping.model import (
    SHIPMENT_IMPLIES_FULFILLMENT,
    UNMAPPED,
    Amounts,
    CanonicalStatus,
    Dimension,
    Observation,
    Quantities,
)
from orderbridge.reconciler.rules import ADVICE, ORDER_RULES, RULE_NAMES, orphan
from orderbridge.reconciler.rules.amounts import amount_mismatch, quantity_mismatch
from orderbridge.reconciler.rules.deadlines import missing, stuck
from orderbridge.reconciler.rules.records import duplicate, unmapped_status
from orderbridge.reconciler.rules.status import (
    ahead_of_authority,
    regression,
    status_conflict,
    status_lag,
    still_open,
)
from orderbridge.reconciler.settings import ReconcileSettings
from orderbridge.reconciler.types import Finding, HistoryEntry, OrderSnapshot, Outcome, RuleContext, Wake

F, S, B = Dimension.fulfillment, Dimension.shipment, Dimension.billing
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SYSTEMS = ("carrier", "crm", "erp", "finance", "shop", "wms")


def ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def obs(
    system: str,
    hours: float = 1,
    *,
    record: str | None = None,
    fulfillment: str | None = None,
    shipment: str | None = None,
    billing: str | None = None,
    **fields: Any,
) -> Observation:
    """An observation; a status may carry its native words after a slash: "preparing/备货中"."""
    statuses = {}
    for dimension, value in ((F, fulfillment), (S, shipment), (B, billing)):
        if value is not None:
            status, _, native = value.partition("/")
            statuses[dimension] = CanonicalStatus(status=status, native=native or status.upper())
    return Observation(
        system=system,
        record_id=record or f"{system}-1",
        order_key="SO42",
        statuses=statuses,
        status_at=ago(hours),
        observed_at=NOW,
        **fields,
    )


def carrier(shipment: str, hours: float = 1) -> Observation:
    """A carrier event: a shipment status and the fulfilment status it implies."""
    found = obs("carrier", hours, shipment=shipment)
    implied = SHIPMENT_IMPLIES_FULFILLMENT.get(shipment)
    if implied is not None:
        found.statuses[F] = CanonicalStatus(status=implied, native=shipment.upper(), implied=True)
    return found


def entry(
    system: str, dimension: Dimension, status: str, hours: float, record: str | None = None
) -> HistoryEntry:
    return HistoryEntry(
        system=system,
        record_id=record or f"{system}-1",
        dimension=dimension,
        status=status,
        native=status.upper(),
        at=ago(hours),
        observed_at=ago(hours),
    )


def snap(*observations: Observation, history: Iterable[HistoryEntry] = ()) -> OrderSnapshot:
    return OrderSnapshot(order_key="SO42", observations=list(observations), history=list(history))


def ctx(**settings: Any) -> RuleContext:
    return RuleContext(now=NOW, settings=ReconcileSettings(**settings), systems=SYSTEMS)


def found(outcomes: Iterable[Outcome]) -> list[Finding]:
    return [o for o in outcomes if isinstance(o, Finding)]


def split(outcomes: Iterable[Outcome]) -> tuple[list[Finding], list[Wake]]:
    listed = list(outcomes)
    return [o for o in listed if isinstance(o, Finding)], [o for o in listed if isinstance(o, Wake)]


# -- the snapshot ---------------------------------------------------------------------------------


def test_by_system_picks_the_last_changed_record_whatever_the_load_order() -> None:
    """Of two records of one system, the one whose status changed last speaks for it; on a tie in time the
    highest record id does, however the records were loaded. `observations` keeps both."""
    older = obs("wms", 5, record="B", fulfillment="preparing")
    newer = obs("wms", 2, record="A", fulfillment="shipped")
    assert snap(older, newer).by_system()["wms"] is newer
    assert snap(newer, older).by_system()["wms"] is newer
    first = obs("wms", 3, record="A", fulfillment="preparing")
    second = obs("wms", 3, record="B", fulfillment="shipped")
    assert snap(first, second).by_system()["wms"] is second
    assert snap(second, first).by_system()["wms"] is second
    assert len(snap(first, second).observations) == 2


# -- status_lag -----------------------------------------------------------------------------------


def test_status_lag_flags_system_behind_the_authority() -> None:
    """WMS shipped 6 h ago while the ERP still says preparing: one warning naming both, dated from when
    the WMS entered shipped (its history), with what each system says."""
    snapshot = snap(
        obs("erp", 30, fulfillment="preparing/备货中"),
        obs("wms", 1, fulfillment="shipped"),
        history=[entry("wms", F, "ready_to_ship", 8), entry("wms", F, "shipped", 6)],
    )
    [finding] = found(status_lag(snapshot, ctx(authority={"fulfillment": "wms"})))
    assert finding.rule == "status_lag"
    assert (finding.dimension, finding.systems, finding.severity) == (F, ("erp", "wms"), "warning")
    assert finding.since == ago(6)
    assert finding.summary == "erp says preparing (备货中); wms says shipped since 2026-11-22 06:00 UTC"
    assert finding.details["erp"]["status"] == "preparing"
    assert finding.details["erp"]["native"] == "备货中"
    assert finding.details["wms"]["status"] == "shipped"
    json.dumps(finding.details)


def test_status_lag_since_falls_back_to_the_observation_time() -> None:
    """Without history, the reference's status_at is when it entered its status."""
    snapshot = snap(obs("erp", 30, fulfillment="preparing"), obs("wms", 3, fulfillment="shipped"))
    [finding] = found(status_lag(snapshot, ctx()))
    assert finding.since == ago(3)


def test_status_lag_silent_when_systems_agree() -> None:
    """Two systems on the same status are not lagging."""
    snapshot = snap(obs("erp", fulfillment="shipped"), obs("wms", fulfillment="shipped"))
    assert found(status_lag(snapshot, ctx(authority={"fulfillment": "wms"}))) == []


def test_status_lag_ignores_side_states_and_unmapped() -> None:
    """On hold or unmapped is not "behind": side states sit outside the progress order."""
    snapshot = snap(
        obs("erp", fulfillment="on_hold"),
        obs("crm", fulfillment=f"{UNMAPPED}/QC_HOLD"),
        obs("wms", fulfillment="shipped"),
    )
    assert found(status_lag(snapshot, ctx(authority={"fulfillment": "wms"}))) == []


def test_status_lag_needs_the_authority_to_report_when_one_is_configured() -> None:
    """With an authority configured but silent on the dimension, nobody is measured against anyone."""
    snapshot = snap(obs("erp", fulfillment="preparing"), obs("crm", fulfillment="shipped"))
    assert found(status_lag(snapshot, ctx(authority={"fulfillment": "wms"}))) == []


def test_status_lag_without_authority_measures_against_the_most_advanced() -> None:
    """No authority: the most advanced system is the reference and each system behind it is one finding."""
    snapshot = snap(
        obs("erp", fulfillment="approved"),
        obs("crm", fulfillment="preparing"),
        obs("wms", 2, fulfillment="shipped"),
    )
    findings = found(status_lag(snapshot, ctx()))
    assert sorted(f.systems for f in findings) == [("crm", "wms"), ("erp", "wms")]
    assert all(f.since == ago(2) for f in findings)


def test_status_lag_per_dimension() -> None:
    """Each dimension has its own authority and reference."""
    snapshot = snap(
        obs("erp", fulfillment="shipped", billing="invoiced"),
        obs("finance", billing="paid"),
        obs("wms", fulfillment="shipped"),
    )
    settings = ctx(authority={"fulfillment": "wms", "billing": "finance"})
    [finding] = found(status_lag(snapshot, settings))
    assert (finding.dimension, finding.systems) == (B, ("erp", "finance"))


def test_status_lag_does_not_judge_an_implied_status_as_behind() -> None:
    """A carrier in transit implies fulfilment shipped; the WMS saying delivered does not make the carrier
    lag on fulfilment (its progress is judged on the shipment dimension). Its delivered still leads a
    system that says less."""
    snapshot = snap(obs("wms", 5, fulfillment="delivered"), carrier("in_transit", 3))
    assert found(status_lag(snapshot, ctx(authority={"fulfillment": "wms"}))) == []
    [finding] = found(status_lag(snap(obs("erp", 30, fulfillment="shipped"), carrier("delivered", 3)), ctx()))
    assert finding.systems == ("carrier", "erp")


# -- ahead_of_authority ---------------------------------------------------------------------------


def test_ahead_of_authority_flags_unconfirmed_progress() -> None:
    """ERP says shipped but the WMS (authority) never picked it: a warning dated from the ERP's claim."""
    snapshot = snap(
        obs("erp", 4, fulfillment="shipped"),
        obs("wms", 10, fulfillment="preparing"),
        history=[entry("erp", F, "shipped", 5)],
    )
    [finding] = found(ahead_of_authority(snapshot, ctx(authority={"fulfillment": "wms"})))
    assert (finding.dimension, finding.systems, finding.severity) == (F, ("erp", "wms"), "warning")
    assert finding.since == ago(5)
    assert "but wms, whose word counts for fulfillment, says preparing" in finding.summary
    assert finding.details["erp"]["status"] == "shipped"
    assert finding.details["wms"]["status"] == "preparing"


def test_ahead_of_authority_silent_when_behind_or_equal() -> None:
    """Systems at or behind the authority are status lag's business, not this rule's."""
    snapshot = snap(
        obs("erp", fulfillment="preparing"),
        obs("crm", fulfillment="shipped"),
        obs("wms", fulfillment="shipped"),
    )
    assert found(ahead_of_authority(snapshot, ctx(authority={"fulfillment": "wms"}))) == []


def test_ahead_of_authority_needs_a_reporting_authority() -> None:
    """No authority configured, or one saying nothing (or only a side state): nothing to confirm."""
    snapshot = snap(obs("erp", fulfillment="shipped"), obs("wms", fulfillment="on_hold"))
    assert found(ahead_of_authority(snapshot, ctx())) == []
    assert found(ahead_of_authority(snapshot, ctx(authority={"fulfillment": "wms"}))) == []


def test_ahead_of_authority_ignores_implied_statuses() -> None:
    """A carrier's delivered implies fulfilment delivered; that is no claim against the WMS."""
    snapshot = snap(carrier("delivered"), obs("wms", fulfillment="shipped"))
    assert found(ahead_of_authority(snapshot, ctx(authority={"fulfillment": "wms"}))) == []


def test_ahead_of_authority_confirmed_by_the_shipment_authority() -> None:
    """ERP delivered while the WMS (fulfilment authority) says shipped: the carrier, shipment authority,
    saying delivered confirms it; in transit it does not."""
    settings = ctx(authority={"fulfillment": "wms", "shipment": "carrier"})
    erp, wms = obs("erp", 2, fulfillment="delivered"), obs("wms", 24, fulfillment="shipped")
    assert found(ahead_of_authority(snap(erp, wms, carrier("delivered", 3)), settings)) == []
    [finding] = found(ahead_of_authority(snap(erp, wms, carrier("in_transit", 3)), settings))
    assert finding.systems == ("erp", "wms")


def test_ahead_of_authority_not_confirmed_by_the_claimant_or_a_non_authority() -> None:
    """A system's own shipment status does not confirm its own claim, and with a shipment authority
    configured another carrier's word does not either."""
    wms = obs("wms", 24, fulfillment="shipped")
    own = obs("erp", 2, fulfillment="delivered", shipment="delivered")
    assert len(found(ahead_of_authority(snap(own, wms), ctx(authority={"fulfillment": "wms"})))) == 1
    other = ctx(authority={"fulfillment": "wms", "shipment": "kuaidi100"})
    erp = obs("erp", 2, fulfillment="delivered")
    assert len(found(ahead_of_authority(snap(erp, wms, carrier("delivered", 3)), other))) == 1


# -- still_open -----------------------------------------------------------------------------------


def test_still_open_flags_a_system_preparing_an_order_another_cancelled() -> None:
    """The shop cancelled the order 3 h ago; the finance sheet still has it placed and the WMS is picking
    it: one warning per system still open, each paired with the shop, dated from the cancellation."""
    snapshot = snap(
        obs("shop", 3, fulfillment="cancelled/canceled"),
        obs("finance", 20, fulfillment="placed/已下单"),
        obs("wms", 5, fulfillment="preparing/PICKING"),
    )
    findings = found(still_open(snapshot, ctx()))
    assert [(f.systems, f.severity, f.since) for f in findings] == [
        (("finance", "shop"), "warning", ago(3)),
        (("shop", "wms"), "warning", ago(3)),
    ]
    assert findings[1].summary == (
        "shop cancelled the order (canceled) on 2026-11-22 09:00 UTC; wms still says preparing (PICKING)"
    )
    assert findings[1].details["wms"]["status"] == "preparing"
    assert findings[1].details["shop"]["native"] == "canceled"


def test_still_open_dates_a_system_that_moved_after_the_stop_from_its_move() -> None:
    """A warehouse that took the order up after it was put on hold: the problem began with its move."""
    snapshot = snap(obs("erp", 10, fulfillment="on_hold/暂停"), obs("wms", 2, fulfillment="approved/NEW"))
    [finding] = found(still_open(snapshot, ctx()))
    assert finding.since == ago(2) and "erp put the order on hold (暂停)" in finding.summary


def test_still_open_prefers_the_authoritys_stop() -> None:
    """Two systems stopped the order: the authority's word is the reference, not the earlier one."""
    snapshot = snap(
        obs("erp", 10, fulfillment="closed"),
        obs("wms", 2, fulfillment="cancelled"),
        obs("crm", 1, fulfillment="placed"),
    )
    [finding] = found(still_open(snapshot, ctx(authority={"fulfillment": "wms"})))
    assert finding.systems == ("crm", "wms") and "wms cancelled the order" in finding.summary
    [without] = found(still_open(snapshot, ctx()))
    assert without.systems == ("crm", "erp") and "erp closed the order" in without.summary


def test_still_open_leaves_shipped_goods_of_a_cancelled_order_to_status_conflict() -> None:
    """Shipped after a cancellation is status_conflict's (goods left), and shipped before a close is
    normal; shipped while on hold is goods that left for an order on hold: critical."""
    shipped = obs("wms", 2, fulfillment="shipped")
    assert found(still_open(snap(obs("erp", 5, fulfillment="cancelled"), shipped), ctx())) == []
    assert found(still_open(snap(obs("erp", 5, fulfillment="closed"), shipped), ctx())) == []
    [held] = found(still_open(snap(obs("erp", 5, fulfillment="on_hold"), shipped), ctx()))
    assert held.severity == "critical" and held.summary.endswith("goods left for an order on hold")


def test_still_open_silent_when_every_system_stopped_or_the_progress_is_implied() -> None:
    """Both cancelled, or a carrier's status that only implies fulfilment: nothing still open."""
    assert (
        found(
            still_open(snap(obs("erp", fulfillment="cancelled"), obs("wms", fulfillment="cancelled")), ctx())
        )
        == []
    )
    assert found(still_open(snap(obs("erp", fulfillment="on_hold"), carrier("in_transit")), ctx())) == []


# -- status_conflict ------------------------------------------------------------------------------


def test_status_conflict_goods_left_for_a_cancelled_order() -> None:
    """ERP cancelled, carrier delivered: critical, on fulfilment, dated from the later of the two states."""
    snapshot = snap(obs("erp", 10, fulfillment="cancelled/已作废"), carrier("delivered", 3))
    [finding] = found(status_conflict(snapshot, ctx()))
    assert (finding.dimension, finding.systems, finding.severity) == (F, ("carrier", "erp"), "critical")
    assert finding.since == ago(3)
    assert "goods left for a cancelled order" in finding.summary
    assert finding.details["erp"]["fulfillment"]["native"] == "已作废"
    assert finding.details["carrier"]["shipment"]["status"] == "delivered"
    # The implied fulfilment status does not count a second time.
    assert len(finding.details["checks"]) == 1


def test_status_conflict_shipment_not_yet_picked_up_is_no_conflict() -> None:
    """A label created (info_received) or a WMS still packing is not goods leaving."""
    snapshot = snap(
        obs("erp", fulfillment="cancelled"), carrier("info_received"), obs("wms", fulfillment="ready_to_ship")
    )
    assert found(status_conflict(snapshot, ctx())) == []


@pytest.mark.parametrize("state", ["delivery_failed", "returning", "exception"])
def test_status_conflict_parcel_in_trouble_still_means_goods_left(state: str) -> None:
    """A carrier reporting a failed delivery, a return under way or an exception for a cancelled
    order: the goods left all the same."""
    snapshot = snap(obs("erp", 10, fulfillment="cancelled"), carrier(state, 3))
    [finding] = found(status_conflict(snapshot, ctx()))
    assert (finding.systems, finding.severity) == (("carrier", "erp"), "critical")
    assert finding.details["carrier"]["shipment"]["status"] == state


def test_status_conflict_cancelled_but_paid_is_a_warning() -> None:
    """A cancelled order that finance sees paid: a warning on fulfilment."""
    snapshot = snap(obs("erp", fulfillment="cancelled"), obs("finance", billing="partially_paid"))
    [finding] = found(status_conflict(snapshot, ctx()))
    assert (finding.dimension, finding.systems, finding.severity) == (F, ("erp", "finance"), "warning")


def test_status_conflict_voided_but_paid_is_critical_on_billing() -> None:
    """A bill voided in one system and paid in another: critical on billing."""
    snapshot = snap(obs("erp", billing="voided"), obs("finance", billing="paid"))
    [finding] = found(status_conflict(snapshot, ctx()))
    assert (finding.dimension, finding.systems, finding.severity) == (B, ("erp", "finance"), "critical")


def test_status_conflict_merges_checks_on_one_pair() -> None:
    """A shop that shipped and was paid for an order the ERP cancelled: one finding, the worst severity,
    each check listed."""
    snapshot = snap(
        obs("erp", 5, fulfillment="cancelled"), obs("shop", 2, fulfillment="shipped", billing="paid")
    )
    [finding] = found(status_conflict(snapshot, ctx()))
    assert finding.severity == "critical"
    assert [c["conflict"] for c in finding.details["checks"]] == [
        "goods left for a cancelled order",
        "a cancelled order is paid",
    ]
    assert set(finding.details["shop"]) >= {"fulfillment", "billing"}


def test_status_conflict_silent_when_systems_agree() -> None:
    """Both systems cancelled, or both shipped: nothing incompatible."""
    assert (
        found(
            status_conflict(
                snap(obs("erp", fulfillment="cancelled"), obs("wms", fulfillment="cancelled")), ctx()
            )
        )
        == []
    )
    assert found(status_conflict(snap(obs("erp", fulfillment="shipped"), carrier("in_transit")), ctx())) == []


# -- missing --------------------------------------------------------------------------------------


EXPECT_WMS = {"expect": [{"system": "wms", "after": "approved", "within": "2h"}]}


def test_missing_after_its_window() -> None:
    """Approved in the ERP 3 h ago and absent from the WMS, expected within 2 h: a finding that applies its
    own window, dated from when the window closed."""
    snapshot = snap(obs("erp", 3, fulfillment="approved"))
    findings, wakes = split(missing(snapshot, ctx(**EXPECT_WMS)))
    [finding] = findings
    assert wakes == []
    assert (finding.rule, finding.dimension, finding.systems) == ("missing", F, ("wms",))
    assert finding.severity == "warning"
    assert finding.grace_exempt
    assert finding.since == ago(1)
    assert finding.details["expected_since"] == ago(3).isoformat()
    assert finding.details["erp"]["status"] == "approved"
    assert finding.details["wms"]["status"] is None
    assert finding.summary == (
        "wms has no record of the order, expected within 2 hours of it reaching approved on "
        "2026-11-22 09:00 UTC (erp says approved)"
    )


def test_missing_within_its_window_asks_to_be_woken() -> None:
    """Inside the window, no finding yet: a wake-up exactly when the window closes."""
    snapshot = snap(obs("erp", 0.5, fulfillment="approved"))
    findings, wakes = split(missing(snapshot, ctx(**EXPECT_WMS)))
    assert findings == []
    assert wakes == [Wake(ago(0.5) + timedelta(hours=2))]


def test_missing_window_counts_from_the_earliest_qualifying_status() -> None:
    """An order now shipped was approved 5 h ago (history): the window counts from the approval."""
    snapshot = snap(
        obs("erp", 0.5, fulfillment="shipped"),
        history=[
            entry("erp", F, "placed", 6),
            entry("erp", F, "approved", 5),
            entry("erp", F, "shipped", 0.5),
        ],
    )
    [finding] = found(missing(snapshot, ctx(**EXPECT_WMS)))
    assert finding.since == ago(3)


def test_missing_exactly_at_the_deadline_fires() -> None:
    """At the deadline itself the window is over."""
    snapshot = snap(obs("erp", 2, fulfillment="approved"))
    findings, wakes = split(missing(snapshot, ctx(**EXPECT_WMS)))
    assert len(findings) == 1 and wakes == []


def test_missing_silent_when_present_cancelled_early_or_unconfigured() -> None:
    """Nothing when the WMS has the order, when it was cancelled, when no system reached `after`, or when
    the expected system is not configured."""
    late = obs("erp", 30, fulfillment="approved")
    assert list(missing(snap(late, obs("wms", fulfillment="placed")), ctx(**EXPECT_WMS))) == []
    assert list(missing(snap(late, obs("crm", fulfillment="cancelled")), ctx(**EXPECT_WMS))) == []
    assert list(missing(snap(obs("erp", 30, fulfillment="placed")), ctx(**EXPECT_WMS))) == []
    elsewhere = ctx(expect=[{"system": "mes", "after": "approved", "within": "2h"}])
    assert list(missing(snap(late), elsewhere)) == []


def test_missing_merges_two_expectations_of_one_system() -> None:
    """Two `expect` entries for one system overdue together make one finding, not two."""
    settings = ctx(
        expect=[
            {"system": "wms", "after": "approved", "within": "2h"},
            {"system": "wms", "after": "preparing", "within": "1h"},
        ]
    )
    [finding] = found(missing(snap(obs("erp", 30, fulfillment="preparing")), settings))
    assert len(finding.details["checks"]) == 2


# -- quantity_mismatch ----------------------------------------------------------------------------


def test_quantity_mismatch_shipped_differs_from_ordered() -> None:
    """发货数量与订单不符: WMS shipped 8 of 10 ordered in the ERP."""
    snapshot = snap(
        obs("erp", 20, fulfillment="shipped", quantities=Quantities(ordered=Decimal(10))),
        obs("wms", 2, fulfillment="shipped", quantities=Quantities(shipped=Decimal(8))),
    )
    [finding] = found(quantity_mismatch(snapshot, ctx()))
    assert (finding.dimension, finding.systems, finding.severity) == (F, ("erp", "wms"), "warning")
    assert finding.summary == "shipped quantity 8 in wms differs from ordered quantity 10 in erp"
    assert finding.since == ago(2)
    assert finding.details["wms"]["shipped"] == "8"
    assert finding.details["erp"]["ordered"] == "10"
    assert finding.details["checks"][0]["check"] == "shipped_vs_ordered"
    json.dumps(finding.details)


def test_quantity_mismatch_tolerance_boundary() -> None:
    """A difference exactly at the tolerance is fine; one beyond it is not."""
    ordered = obs("erp", fulfillment="shipped", quantities=Quantities(ordered=Decimal(10)))
    at_limit = obs("wms", fulfillment="shipped", quantities=Quantities(shipped=Decimal(8)))
    beyond = obs("wms", fulfillment="shipped", quantities=Quantities(shipped=Decimal("7.5")))
    settings = ctx(tolerance={"quantity": 2})
    assert found(quantity_mismatch(snap(ordered, at_limit), settings)) == []
    assert len(found(quantity_mismatch(snap(ordered, beyond), settings))) == 1


def test_quantity_mismatch_relative_tolerance() -> None:
    """With 5 % allowed, 96 shipped of 100 ordered agrees and 94 does not (either limit suffices)."""
    ordered = obs("erp", fulfillment="shipped", quantities=Quantities(ordered=Decimal(100)))
    settings = ctx(tolerance={"quantity": 1, "quantity_percent": 5})
    within = obs("wms", fulfillment="shipped", quantities=Quantities(shipped=Decimal(96)))
    beyond = obs("wms", fulfillment="shipped", quantities=Quantities(shipped=Decimal(94)))
    assert found(quantity_mismatch(snap(ordered, within), settings)) == []
    [finding] = found(quantity_mismatch(snap(ordered, beyond), settings))
    assert finding.details["checks"][0]["tolerance_percent"] == "5"


def test_quantity_mismatch_waits_for_shipping() -> None:
    """A partial shipped quantity while the WMS still says preparing is work in progress."""
    snapshot = snap(
        obs("erp", quantities=Quantities(ordered=Decimal(10))),
        obs("wms", fulfillment="preparing", quantities=Quantities(shipped=Decimal(0))),
        obs("finance", quantities=Quantities(invoiced=Decimal(10))),
    )
    assert found(quantity_mismatch(snapshot, ctx())) == []


def test_quantity_mismatch_invoiced_differs_from_shipped_on_billing() -> None:
    """Finance invoiced 10 while the WMS shipped 8: a billing finding between finance and the WMS."""
    snapshot = snap(
        obs("wms", fulfillment="shipped", quantities=Quantities(shipped=Decimal(8))),
        obs("finance", quantities=Quantities(invoiced=Decimal(10))),
    )
    [finding] = found(quantity_mismatch(snapshot, ctx()))
    assert (finding.dimension, finding.systems) == (B, ("finance", "wms"))
    assert finding.details["checks"][0]["check"] == "invoiced_vs_shipped"


def test_quantity_mismatch_prefers_the_authority_ordered_quantity() -> None:
    """The ordered quantity to compare against is the fulfilment authority's, not the first by name."""
    snapshot = snap(
        obs("crm", quantities=Quantities(ordered=Decimal(12))),
        obs("wms", fulfillment="shipped", quantities=Quantities(ordered=Decimal(10), shipped=Decimal(10))),
    )
    [finding] = found(quantity_mismatch(snapshot, ctx(authority={"fulfillment": "wms"})))
    assert finding.summary == "ordered quantity 12 in crm differs from ordered quantity 10 in wms"
    [by_name] = found(quantity_mismatch(snapshot, ctx()))
    assert [c["check"] for c in by_name.details["checks"]] == [
        "ordered_between_systems",
        "shipped_vs_ordered",
    ]


def test_quantity_mismatch_merges_checks_on_one_pair() -> None:
    """The WMS differing from the ERP in ordered and in shipped quantity is one finding, two checks."""
    snapshot = snap(
        obs("erp", quantities=Quantities(ordered=Decimal(10))),
        obs("wms", fulfillment="delivered", quantities=Quantities(ordered=Decimal(9), shipped=Decimal(9))),
    )
    [finding] = found(quantity_mismatch(snapshot, ctx()))
    assert [c["check"] for c in finding.details["checks"]] == [
        "ordered_between_systems",
        "shipped_vs_ordered",
    ]
    assert "; " in finding.summary


def test_quantity_mismatch_silent_when_numbers_agree() -> None:
    """Ordered = shipped = invoiced: nothing, whatever the decimal places."""
    snapshot = snap(
        obs("erp", quantities=Quantities(ordered=Decimal("10.00"))),
        obs("wms", fulfillment="shipped", quantities=Quantities(shipped=Decimal(10))),
        obs("finance", quantities=Quantities(invoiced=Decimal("10.0"))),
    )
    assert found(quantity_mismatch(snapshot, ctx())) == []


# -- amount_mismatch ------------------------------------------------------------------------------


def money(**values: Any) -> Amounts:
    return Amounts(**{k: Decimal(v) if k != "currency" else v for k, v in values.items()})


def test_amount_mismatch_invoiced_differs_from_order() -> None:
    """Finance invoiced 1000.00 CNY on a 1200.00 CNY order: one billing warning."""
    snapshot = snap(
        obs("erp", 10, amounts=money(order="1200.00", currency="CNY")),
        obs("finance", 2, amounts=money(invoiced="1000.00", currency="CNY")),
    )
    [finding] = found(amount_mismatch(snapshot, ctx()))
    assert (finding.dimension, finding.systems) == (B, ("erp", "finance"))
    assert (
        finding.summary
        == "invoiced amount 1000.00 CNY in finance differs from order amount 1200.00 CNY in erp"
    )
    assert finding.since == ago(2)
    assert finding.details["checks"][0]["difference"] == "-200.00"


def test_amount_mismatch_absolute_tolerance_boundary() -> None:
    """Exactly the absolute tolerance apart is fine; a cent more is not."""
    order = obs("erp", amounts=money(order="100.00"))
    settings = ctx(tolerance={"amount": "0.05"})
    assert (
        found(amount_mismatch(snap(order, obs("finance", amounts=money(invoiced="100.05"))), settings)) == []
    )
    assert (
        len(found(amount_mismatch(snap(order, obs("finance", amounts=money(invoiced="100.06"))), settings)))
        == 1
    )


def test_amount_mismatch_relative_tolerance_boundary() -> None:
    """With a relative tolerance too, a difference within either limit is fine: 1 % of 1000 is 10."""
    order = obs("erp", amounts=money(order="1000"))
    settings = ctx(tolerance={"amount": "1", "amount_percent": "1"})
    assert found(amount_mismatch(snap(order, obs("finance", amounts=money(invoiced="990"))), settings)) == []
    assert (
        len(found(amount_mismatch(snap(order, obs("finance", amounts=money(invoiced="989.99"))), settings)))
        == 1
    )


def test_amount_mismatch_different_currencies_are_not_compared() -> None:
    """Equal numbers in different currencies still mismatch, and the finding says which currencies."""
    snapshot = snap(
        obs("erp", amounts=money(order="100", currency="USD")),
        obs("finance", amounts=money(invoiced="100", currency="CNY")),
    )
    [finding] = found(amount_mismatch(snapshot, ctx()))
    assert "CNY" in finding.summary and "USD" in finding.summary
    assert finding.details["checks"][0]["currencies_differ"] is True


def test_amount_mismatch_currency_codes_compare_loosely_and_a_missing_one_is_assumed_equal() -> None:
    """ "cny " and "CNY" are one currency; an amount without a currency is compared as a number."""
    order = obs("erp", amounts=money(order="100", currency="CNY"))
    assert (
        found(
            amount_mismatch(
                snap(order, obs("finance", amounts=money(invoiced="100", currency="cny "))), ctx()
            )
        )
        == []
    )
    assert found(amount_mismatch(snap(order, obs("finance", amounts=money(invoiced="100"))), ctx())) == []
    [finding] = found(amount_mismatch(snap(order, obs("finance", amounts=money(invoiced="90"))), ctx()))
    assert finding.details["checks"][0]["difference"] == "-10"


def test_amount_mismatch_paid_vs_invoiced_only_once_paid() -> None:
    """A partial payment on an unpaid bill is expected; a bill marked paid for less than invoiced is not."""
    partial = obs("finance", billing="partially_paid", amounts=money(invoiced="500", paid="200"))
    assert found(amount_mismatch(snap(partial), ctx())) == []
    paid = obs("finance", billing="paid", amounts=money(invoiced="500", paid="200"))
    [finding] = found(amount_mismatch(snap(paid), ctx()))
    assert finding.systems == ("finance",)
    assert finding.summary == "in finance, paid amount 200 differs from invoiced amount 500"
    assert finding.details["checks"][0]["check"] == "paid_vs_invoiced"


def test_amount_mismatch_merges_checks_on_one_pair() -> None:
    """Finance disagreeing with the ERP on order amount and invoiced amount is one finding."""
    snapshot = snap(
        obs("erp", amounts=money(order="100")),
        obs("finance", amounts=money(order="120", invoiced="120")),
    )
    [finding] = found(amount_mismatch(snapshot, ctx()))
    assert [c["check"] for c in finding.details["checks"]] == ["order_between_systems", "invoiced_vs_order"]


def test_amount_mismatch_silent_when_amounts_agree() -> None:
    """Order, invoiced and paid all equal: nothing."""
    snapshot = snap(
        obs("erp", amounts=money(order="100.00", currency="CNY")),
        obs(
            "finance", billing="paid", amounts=money(order="100", invoiced="100", paid="100", currency="CNY")
        ),
    )
    assert found(amount_mismatch(snapshot, ctx())) == []


# -- stuck ----------------------------------------------------------------------------------------


SLA = {"sla": {"preparing": ["1d", "3d"]}}


def test_stuck_past_the_last_tier_is_critical() -> None:
    """Preparing for 4 days with tiers 1 d / 3 d: critical, tier 2, nothing left to wake for."""
    snapshot = snap(obs("erp", 96, fulfillment="preparing"))
    findings, wakes = split(stuck(snapshot, ctx(**SLA)))
    [finding] = findings
    assert wakes == []
    assert (finding.rule, finding.dimension, finding.systems) == ("stuck", F, ("erp",))
    assert (finding.severity, finding.tier, finding.grace_exempt) == ("critical", 2, True)
    assert finding.since == ago(96) + timedelta(days=1)
    assert finding.details["age_hours"] == 96.0
    assert finding.details["tiers"] == ["1d", "3d"]
    assert finding.details["entered"] == ago(96).isoformat()
    assert (
        finding.summary == "erp has said preparing since 2026-11-18 12:00 UTC, longer than the 3 days allowed"
    )


def test_stuck_first_tier_is_a_warning_with_a_wake_for_the_next() -> None:
    """Two days in: tier 1 warning, and a wake-up when the 3-day tier comes due."""
    snapshot = snap(obs("erp", 48, fulfillment="preparing"))
    findings, wakes = split(stuck(snapshot, ctx(**SLA)))
    assert [(f.severity, f.tier) for f in findings] == [("warning", 1)]
    assert wakes == [Wake(ago(48) + timedelta(days=3))]


def test_stuck_before_the_first_tier_only_asks_to_be_woken() -> None:
    """Five hours in: no finding, a wake-up when the first tier comes due."""
    findings, wakes = split(stuck(snap(obs("erp", 5, fulfillment="preparing")), ctx(**SLA)))
    assert findings == []
    assert wakes == [Wake(ago(5) + timedelta(days=1))]


def test_stuck_exactly_at_a_tier_reaches_it() -> None:
    """At exactly one day the first tier is reached."""
    [finding] = found(stuck(snap(obs("erp", 24, fulfillment="preparing")), ctx(**SLA)))
    assert finding.tier == 1


def test_stuck_single_tier_stays_a_warning() -> None:
    """With one tier there is no escalation within the rule: past it is a warning."""
    snapshot = snap(obs("wms", 24 * 6, fulfillment="shipped"))
    [finding] = found(stuck(snapshot, ctx(sla={"shipped": ["5d"]})))
    assert (finding.severity, finding.tier) == ("warning", 1)


def test_stuck_dimension_qualified_key() -> None:
    """`shipment.in_transit` names the shipment dimension explicitly."""
    snapshot = snap(carrier("in_transit", 24 * 8))
    [finding] = found(stuck(snapshot, ctx(sla={"shipment.in_transit": ["7d"]})))
    assert (finding.dimension, finding.systems) == (S, ("carrier",))


def test_stuck_not_while_any_system_shows_progress_beyond_the_stage() -> None:
    """The order's stage is the furthest any system shows, so a slow ERP does not make a shipped order look
    stuck in preparing, even when the ERP is the authority."""
    snapshot = snap(obs("erp", 96, fulfillment="preparing"), obs("wms", 2, fulfillment="shipped"))
    assert list(stuck(snapshot, ctx(**SLA))) == []
    assert list(stuck(snapshot, ctx(**SLA, authority={"fulfillment": "erp"}))) == []


def test_stuck_in_shipped_not_when_a_carrier_or_another_system_says_delivered() -> None:
    """The WMS (authority) says shipped for 6 days with a 5-day SLA, but the carrier's delivered (which
    implies fulfilment delivered), an ERP's delivered, or a system's own shipment status delivered shows
    the order moved on: not stuck."""
    settings = ctx(sla={"shipped": ["5d"]}, authority={"fulfillment": "wms", "shipment": "carrier"})
    wms = obs("wms", 144, fulfillment="shipped")
    assert list(stuck(snap(wms, carrier("delivered", 24)), settings)) == []
    assert list(stuck(snap(wms, obs("erp", 24, fulfillment="delivered")), settings)) == []
    both = obs("erp", 24, fulfillment="shipped", shipment="delivered")
    assert list(stuck(snap(wms, both), settings)) == []


def test_stuck_in_shipped_when_no_system_moved_on() -> None:
    """WMS shipped 6 days ago and the carrier in transit (implied shipped) for 5.5 days: stuck, named after
    the authority when it holds the stage, else after the system that got there first."""
    snapshot = snap(obs("wms", 144, fulfillment="shipped"), carrier("in_transit", 132))
    [finding] = found(stuck(snapshot, ctx(sla={"shipped": ["5d"]}, authority={"fulfillment": "carrier"})))
    assert (finding.systems, finding.details["entered"]) == (("carrier",), ago(132).isoformat())
    [finding] = found(stuck(snapshot, ctx(sla={"shipped": ["5d"]})))
    assert (finding.systems, finding.details["entered"]) == (("wms",), ago(144).isoformat())


def test_stuck_side_states_follow_the_authority_else_each_system() -> None:
    """An authority on hold puts the order on hold: not stuck in preparing, stuck on hold past that SLA.
    Without an authority, a system on hold past the SLA holds the order there; with an authority in a
    progress stage, another system's hold does not."""
    snapshot = snap(obs("erp", 96, fulfillment="preparing"), obs("wms", 72, fulfillment="on_hold"))
    settings = {"sla": {"preparing": ["1d"], "on_hold": ["2d"]}}
    [finding] = found(stuck(snapshot, ctx(**settings, authority={"fulfillment": "wms"})))
    assert (finding.systems, finding.details["status"]) == (("wms",), "on_hold")
    assert [f.details["status"] for f in found(stuck(snapshot, ctx(**settings)))] == ["preparing", "on_hold"]
    by_erp = found(stuck(snapshot, ctx(**settings, authority={"fulfillment": "erp"})))
    assert [f.details["status"] for f in by_erp] == ["preparing"]


def test_stuck_with_duplicate_records_counts_each_record_from_its_own_history() -> None:
    """The WMS record A has said preparing for 4 days (re-sent an hour ago); a second record B said placed
    in between. B's history does not restart A's clock."""
    snapshot = snap(
        obs("wms", 1, record="A", fulfillment="preparing"),
        obs("wms", 50, record="B", fulfillment="placed"),
        history=[entry("wms", F, "preparing", 96, "A"), entry("wms", F, "placed", 50, "B")],
    )
    [finding] = found(stuck(snapshot, ctx(**SLA)))
    assert finding.details["entered"] == ago(96).isoformat()


def test_stuck_summary_does_not_change_with_age_alone() -> None:
    """Evaluated again later in the same tier, the finding reads the same (its age is in the details), so a
    discrepancy is not 'updated' just because time passed."""
    snapshot = snap(obs("erp", 30, fulfillment="preparing"))
    [early] = found(stuck(snapshot, ctx(**SLA)))
    later = RuleContext(now=NOW + timedelta(hours=20), settings=ReconcileSettings(**SLA), systems=SYSTEMS)
    [late] = found(stuck(snapshot, later))
    assert late.summary == early.summary
    assert (early.details["age_hours"], late.details["age_hours"]) == (30.0, 50.0)


def test_stuck_counts_from_entering_the_status() -> None:
    """A re-sent record does not restart the clock: time counts from the history entry."""
    snapshot = snap(obs("erp", 1, fulfillment="preparing"), history=[entry("erp", F, "preparing", 30)])
    [finding] = found(stuck(snapshot, ctx(**SLA)))
    assert finding.details["entered"] == ago(30).isoformat()


def test_stuck_silent_in_other_statuses_and_for_unknown_keys() -> None:
    """Nothing when the order is in another stage or the SLA key names no status."""
    snapshot = snap(obs("erp", 96, fulfillment="approved"))
    assert (
        list(stuck(snapshot, ctx(sla={"preparing": ["1d"], "packing": ["1d"], "shipment.preparing": ["1d"]})))
        == []
    )


# -- regression -----------------------------------------------------------------------------------


def test_regression_shipped_back_to_preparing() -> None:
    """The WMS went shipped -> preparing: a warning for the WMS dated from the step back."""
    history = [
        entry("wms", F, "preparing", 10),
        entry("wms", F, "shipped", 6),
        entry("wms", F, "preparing", 2),
    ]
    [finding] = found(regression(snap(obs("wms", 2, fulfillment="preparing"), history=history), ctx()))
    assert (finding.dimension, finding.systems, finding.severity) == (F, ("wms",), "warning")
    assert finding.since == ago(2)
    assert finding.details["from"]["status"] == "shipped"
    assert finding.details["to"]["status"] == "preparing"
    assert finding.summary == "wms moved fulfillment back from shipped to preparing on 2026-11-22 10:00 UTC"


def test_regression_not_for_side_states_or_progress() -> None:
    """Cancelled or returned after shipping is not a regression, and neither is moving forward again."""
    cancelled = [entry("wms", F, "shipped", 6), entry("wms", F, "cancelled", 2)]
    recovered = [
        entry("wms", F, "shipped", 6),
        entry("wms", F, "preparing", 4),
        entry("wms", F, "shipped", 2),
    ]
    assert found(regression(snap(history=cancelled), ctx())) == []
    assert found(regression(snap(history=recovered), ctx())) == []


def test_regression_only_within_one_system_and_record() -> None:
    """Another system's status, or a second record of the same system, is not a step back."""
    other_system = [entry("wms", F, "shipped", 6), entry("erp", F, "placed", 2)]
    other_record = [entry("wms", F, "shipped", 6, "a"), entry("wms", F, "placed", 2, "b")]
    assert found(regression(snap(history=other_system), ctx())) == []
    assert found(regression(snap(history=other_record), ctx())) == []


def test_regression_from_the_highest_earlier_status_through_a_side_state() -> None:
    """Shipped, on hold, then preparing: a regression from shipped."""
    history = [entry("wms", F, "shipped", 6), entry("wms", F, "on_hold", 4), entry("wms", F, "preparing", 2)]
    [finding] = found(regression(snap(history=history), ctx()))
    assert finding.details["from"]["status"] == "shipped"


def test_regression_unmapped_is_neither_progress_nor_a_step_back() -> None:
    """An unmapped value after shipped is no regression; shipped, unmapped, preparing is one from shipped
    (the unmapped value does not end the cycle); preparing, unmapped, shipped is progress."""
    into = [entry("wms", F, "shipped", 6), entry("wms", F, UNMAPPED, 2)]
    through = [entry("wms", F, "shipped", 6), entry("wms", F, UNMAPPED, 4), entry("wms", F, "preparing", 2)]
    onwards = [entry("wms", F, "preparing", 6), entry("wms", F, UNMAPPED, 4), entry("wms", F, "shipped", 2)]
    assert found(regression(snap(history=into), ctx())) == []
    [finding] = found(regression(snap(history=through), ctx()))
    assert (finding.details["from"]["status"], finding.details["to"]["status"]) == ("shipped", "preparing")
    assert found(regression(snap(history=onwards), ctx())) == []


def test_regression_not_across_the_end_of_a_cycle() -> None:
    """Shipped, returned, then preparing again (a re-shipment); shipped, cancelled, then placed again; a bill
    paid, refunded, then invoiced again: each starts afresh, no regression."""
    returned = [
        entry("wms", F, "shipped", 6),
        entry("wms", F, "returned", 4),
        entry("wms", F, "preparing", 2),
    ]
    cancelled = [entry("erp", F, "shipped", 6), entry("erp", F, "cancelled", 4), entry("erp", F, "placed", 2)]
    refunded = [entry("fin", B, "paid", 6), entry("fin", B, "refunded", 4), entry("fin", B, "invoiced", 2)]
    for history in (returned, cancelled, refunded):
        assert found(regression(snap(history=history), ctx())) == [], history[1].status


# -- unmapped_status ------------------------------------------------------------------------------


def test_unmapped_status_reports_the_native_value_verbatim() -> None:
    """A new WMS status "QC_HOLD" nobody mapped: a warning with the value as the WMS sent it."""
    snapshot = snap(obs("wms", 3, fulfillment=f"{UNMAPPED}/QC_HOLD"), obs("erp", fulfillment="preparing"))
    [finding] = found(unmapped_status(snapshot, ctx()))
    assert (finding.dimension, finding.systems, finding.severity) == (F, ("wms",), "warning")
    assert finding.since == ago(3)
    assert finding.details["native"] == "QC_HOLD"
    assert finding.details["wms"]["native"] == "QC_HOLD"
    assert "'QC_HOLD'" in finding.summary


def test_unmapped_status_silent_when_everything_maps() -> None:
    """Mapped statuses, side states included, are not flagged."""
    snapshot = snap(obs("wms", fulfillment="on_hold"), obs("erp", billing="voided"))
    assert found(unmapped_status(snapshot, ctx())) == []


# -- duplicate ------------------------------------------------------------------------------------


def test_duplicate_two_records_in_one_system() -> None:
    """Two ERP records normalising to one order: a warning listing both, dated from the second."""
    snapshot = snap(
        obs("erp", 30, record="S00042", fulfillment="approved", order_ref="S00042"),
        obs("erp", 5, record="SO-0042", fulfillment="placed", order_ref="SO-0042"),
        obs("wms", record="W1", fulfillment="preparing", order_ref="XSDD42"),
    )
    [finding] = found(duplicate(snapshot, ctx()))
    assert (finding.dimension, finding.systems, finding.severity) == (None, ("erp",), "warning")
    assert finding.details["record_ids"] == ["S00042", "SO-0042"]
    assert finding.since == ago(5)
    json.dumps(finding.details)


def test_duplicate_not_for_records_attached_by_a_link() -> None:
    """Two parcels of one order, linked by their tracking numbers (no order number of their own), are a
    split shipment, not a duplicate; a record with its own order number next to them is still one."""
    parcels = [
        obs("carrier", 3, record="SF1", shipment="in_transit"),
        obs("carrier", 2, record="SF2", shipment="delivered"),
    ]
    assert found(duplicate(snap(*parcels), ctx())) == []
    numbered = obs("carrier", 1, record="SF3", shipment="picked_up", order_ref="SO42")
    assert found(duplicate(snap(*parcels, numbered), ctx())) == []


def test_duplicate_silent_with_one_record_per_system() -> None:
    """One record per system is normal."""
    snapshot = snap(obs("erp", fulfillment="approved"), obs("wms", fulfillment="preparing"))
    assert found(duplicate(snapshot, ctx())) == []


# -- orphan ---------------------------------------------------------------------------------------


def test_orphan_one_finding_per_unlinked_record() -> None:
    """A tracking number unknown to any WMS record: a warning per record, with what it carried."""
    event = Observation(
        system="carrier",
        record_id="SF1234567",
        order_key=None,
        links={"tracking_number": "SF1234567"},
        native_status={"state": "3"},
        observed_at=ago(1),
    )
    row = event.model_copy(
        update={"system": "finance", "record_id": "row-7", "order_ref": "XSDD7", "links": {}}
    )
    findings = found(orphan([event, row], ctx()))
    assert [(f.rule, f.dimension, f.systems) for f in findings] == [
        ("orphan", None, ("carrier",)),
        ("orphan", None, ("finance",)),
    ]
    assert findings[0].since == ago(1)
    assert findings[0].details == {
        "record_id": "SF1234567",
        "order_ref": None,
        "links": {"tracking_number": "SF1234567"},
        "native_status": {"state": "3"},
    }
    assert "tracking_number SF1234567" in findings[0].summary


def test_orphan_skips_linked_and_repeated_records() -> None:
    """An observation that has an order key is not an orphan; one record seen twice is one finding."""
    linked = obs("wms")
    event = Observation(system="carrier", record_id="SF1", order_key=None, observed_at=ago(2))
    again = event.model_copy(update={"observed_at": ago(1)})
    findings = found(orphan([linked, event, again], ctx()))
    assert [f.since for f in findings] == [ago(1)]


# -- the rule set ---------------------------------------------------------------------------------


def test_rule_names() -> None:
    """The names configuration and reports refer to."""
    assert set(RULE_NAMES) == {
        "status_lag",
        "ahead_of_authority",
        "status_conflict",
        "still_open",
        "missing",
        "quantity_mismatch",
        "amount_mismatch",
        "stuck",
        "regression",
        "unmapped_status",
        "duplicate",
        "orphan",
    }
    assert list(RULE_NAMES) == [*ORDER_RULES, "orphan"]


def test_every_rule_silent_on_a_consistent_order() -> None:
    """An order every system agrees on, fully shipped, invoiced and paid, raises nothing anywhere."""
    snapshot = snap(
        obs(
            "erp",
            fulfillment="shipped",
            billing="paid",
            quantities=Quantities(ordered=Decimal(5), shipped=Decimal(5), invoiced=Decimal(5)),
            amounts=money(order="50", invoiced="50", paid="50", currency="CNY"),
        ),
        obs("wms", fulfillment="shipped", quantities=Quantities(ordered=Decimal(5), shipped=Decimal(5))),
        carrier("in_transit"),
        obs("finance", billing="paid", amounts=money(invoiced="50", paid="50", currency="CNY")),
    )
    settings = ctx(
        authority={"fulfillment": "wms", "shipment": "carrier", "billing": "finance"},
        expect=[{"system": "wms"}],
        sla={"preparing": ["1d"]},
    )
    for name, rule in ORDER_RULES.items():
        assert list(rule(snapshot, settings)) == [], name


def test_summaries_speak_plainly_and_in_the_display_zone() -> None:
    """What a finance clerk reads has no jargon (authority, SLA, tier, 1d) and shows times in the
    display time zone; a first SLA tier says when it becomes critical."""
    ahead = snap(
        obs("erp", 30, fulfillment="shipped/已发货"), obs("wms", 28, fulfillment="preparing/PICKING")
    )
    stuck = snap(obs("wms", 28, fulfillment="preparing/PICKING"), history=[entry("wms", F, "preparing", 28)])
    shanghai = RuleContext(
        now=NOW,
        settings=ReconcileSettings(authority={"fulfillment": "wms"}, sla={"preparing": ["1d", "3d"]}),
        systems=SYSTEMS,
        zone=ZoneInfo("Asia/Shanghai"),
    )
    summaries = [
        f.summary
        for snapshot in (ahead, stuck)
        for rule in ORDER_RULES.values()
        for f in found(rule(snapshot, shanghai))
    ]
    assert summaries == [
        "erp says shipped (已发货) since 2026-11-21 14:00, but wms, whose word counts for fulfillment, says "
        "preparing (PICKING)",
        "wms has said preparing (PICKING) since 2026-11-21 16:00, longer than the 1 day allowed "
        "(after 3 days: critical)",
    ]
    for word in ("authority", "SLA", "tier", " 1d", " 3d"):
        assert all(word not in summary for summary in summaries), word


def test_every_rule_yields_distinct_json_safe_findings() -> None:
    """On an order wrong in every way, no rule yields two findings with one fingerprint, and all details
    serialise to JSON."""
    snapshot = snap(
        obs(
            "erp",
            100,
            fulfillment="cancelled",
            billing="voided",
            quantities=Quantities(ordered=Decimal(10)),
            amounts=money(order="100", currency="USD"),
        ),
        obs("erp", 50, record="erp-2", fulfillment=f"{UNMAPPED}/X"),
        obs(
            "shop",
            fulfillment="delivered",
            billing="paid",
            quantities=Quantities(ordered=Decimal(9), shipped=Decimal(8), invoiced=Decimal(7)),
            amounts=money(order="90", invoiced="80", paid="70", currency="CNY"),
        ),
        carrier("delivered", 20),
        history=[entry("shop", F, "delivered", 30), entry("shop", F, "placed", 1)],
    )
    settings = ctx(expect=[{"system": "wms", "within": "1h"}], sla={"delivered": ["1h", "2h"]})
    for name, rule in ORDER_RULES.items():
        findings = found(rule(snapshot, settings))
        fingerprints = [(f.rule, f.dimension, f.systems) for f in findings]
        assert len(fingerprints) == len(set(fingerprints)), name
        assert all(f.rule == name and f.systems == tuple(sorted(f.systems)) for f in findings)
        json.dumps([f.details for f in findings])


def test_every_rule_says_what_to_do_in_one_plain_sentence() -> None:
    """Each rule has advice; for every finding of every rule it is one sentence naming the order and a
    system involved, without jargon."""
    assert list(ADVICE) == list(RULE_NAMES)
    snapshots = [
        snap(
            obs("erp", 100, fulfillment="cancelled", quantities=Quantities(ordered=Decimal(10))),
            obs("wms", 60, fulfillment="preparing", quantities=Quantities(ordered=Decimal(9))),
            obs("shop", fulfillment="delivered", billing="paid", amounts=money(order="90", invoiced="80")),
            history=[entry("shop", F, "delivered", 30), entry("shop", F, "placed", 1)],
        ),
        snap(
            obs("erp", 5, fulfillment="shipped", order_ref="SO-42"),
            obs("wms", 60, record="W1", fulfillment="preparing", order_ref="42"),
            obs("wms", 50, record="W2", fulfillment=f"{UNMAPPED}/X", order_ref="42"),
            history=[entry("wms", F, "preparing", 60, record="W1")],
        ),
        snap(obs("wms", 40, fulfillment="shipped"), obs("erp", 50, fulfillment="preparing")),
    ]
    settings = ctx(
        authority={"fulfillment": "wms"},
        expect=[{"system": "crm", "within": "1h"}],
        sla={"preparing": ["1d"], "shipped": ["1d"]},
    )
    advised = set()
    for snapshot in snapshots:
        for name, rule in ORDER_RULES.items():
            for finding in found(rule(snapshot, settings)):
                text = ADVICE[name](snapshot.order_key, finding.systems, finding.details)
                assert snapshot.order_key in text and any(s in text for s in finding.systems), text
                assert text.endswith(".") and ". " not in text and "authority" not in text, text
                advised.add(name)
    assert advised == set(ORDER_RULES)
    unlinked = obs("carrier", 2, record="T9", links={"tracking_number": "SF9"}).model_copy(
        update={"order_key": None}
    )
    [lost] = found(orphan([unlinked], ctx()))
    text = ADVICE["orphan"]("carrier:T9", lost.systems, lost.details)
    assert "carrier's record T9" in text
