"""The reconcile pass's SQL pre-screen, on real stores: an order on which every system agrees raises
nothing, and each kind of disagreement raises its flag (the rules it can make fire depend on it)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from orderbridge.mapping.model import Amounts, CanonicalStatus, Dimension, Observation, Quantities
from orderbridge.storage import observations, screen
from orderbridge.storage.db import Store
from orderbridge.storage.discrepancies import Writes
from orderbridge.storage.screen import Flag

H = timedelta(hours=1)
KEY = "SO-000001"


def say(
    store: Store,
    system: str,
    at: datetime,
    statuses: dict[Dimension, str],
    *,
    record: str | None = None,
    key: str | None = KEY,
    **fields: Any,
) -> None:
    obs = Observation(
        system=system,
        record_id=record or f"{system}-1",
        order_key=key,
        order_ref=key,
        statuses={d: CanonicalStatus(status=s, native=s.upper()) for d, s in statuses.items()},
        status_at=at,
        observed_at=at,
        **fields,
    )
    with store.begin() as conn:
        observations.ingest(
            conn, [(obs, {"at": at.isoformat(), **{d.value: s for d, s in statuses.items()}})], at
        )


def agreeing(store: Store, now: datetime, **wms: Any) -> None:
    """An ERP, a WMS and finance that agree on a shipped, invoiced order."""
    fulfillment = {Dimension.fulfillment: "shipped"}
    say(store, "erp", now - H, fulfillment, quantities=Quantities(ordered=Decimal(5)), amounts=money("50.00"))
    fields = {"quantities": Quantities(ordered=Decimal(5), shipped=Decimal(5)), **wms}
    say(store, "wms", now - H, {**fulfillment, **fields.pop("statuses", {})}, **fields)
    finance = Amounts(invoiced=Decimal("50.00"), currency="CNY")
    say(store, "finance", now - H, {Dimension.billing: "invoiced"}, amounts=finance)


def money(order: str, currency: str = "CNY") -> Amounts:
    return Amounts(order=Decimal(order), currency=currency)


def flags(store: Store, keys: list[str] | None = None, *, span: bool = False) -> dict[str, set[Flag]]:
    with store.begin() as conn:
        return screen.flags(
            conn,
            keys or [KEY],
            span=span,
            sla={Dimension.fulfillment: {"preparing"}},
            expected=["wms"],
            shipped={"shipped", "delivered"},
            cancelled="cancelled",
            paid={"paid", "partially_paid"},
        )


def test_an_order_on_which_every_system_agrees_raises_nothing(store: Store, now: datetime) -> None:
    agreeing(store, now)
    assert flags(store) == {}


@pytest.mark.parametrize(
    ("change", "flag"),
    [
        ({"statuses": {Dimension.fulfillment: "delivered"}}, Flag.statuses_differ),
        ({"statuses": {Dimension.fulfillment: "unmapped"}}, Flag.unmapped),
        ({"statuses": {Dimension.fulfillment: "preparing"}}, Flag.in_sla_status),
        ({"quantities": Quantities(ordered=Decimal(6), shipped=Decimal(5))}, Flag.quantities_differ),
        ({"quantities": Quantities(ordered=Decimal(5), shipped=Decimal(4))}, Flag.quantities_differ),
        ({"amounts": money("49.00")}, Flag.amounts_differ),
        ({"amounts": money("50.00", "EUR")}, Flag.amounts_differ),
    ],
)
def test_a_disagreement_raises_its_flag(
    store: Store, now: datetime, change: dict[str, Any], flag: Flag
) -> None:
    agreeing(store, now, **change)
    assert flag in flags(store)[KEY]


def test_a_cancelled_order_whose_parcel_moves_is_flagged_across_dimensions(
    store: Store, now: datetime
) -> None:
    """Each dimension agrees with itself, but goods left for a cancelled order."""
    for system in ("erp", "wms"):
        say(store, system, now - H, {Dimension.fulfillment: "cancelled"})
    say(store, "carrier", now - H, {Dimension.shipment: "in_transit"})
    assert flags(store)[KEY] == {Flag.stopped_but_moving}


def test_a_missing_system_several_records_and_a_status_moving_back(store: Store, now: datetime) -> None:
    say(store, "erp", now - 3 * H, {Dimension.fulfillment: "shipped"})
    assert flags(store)[KEY] == {Flag.expected_absent}
    say(store, "erp", now - 3 * H, {Dimension.fulfillment: "shipped"}, record="erp-2")
    assert flags(store)[KEY] == {Flag.expected_absent, Flag.several_records}
    say(store, "erp", now - H, {Dimension.fulfillment: "approved"})  # erp-1 went back from shipped
    assert Flag.moved_back in flags(store)[KEY]


def test_moving_on_through_a_side_state_is_not_moving_back(store: Store, now: datetime) -> None:
    agreeing(store, now)
    for step, status in enumerate(("on_hold", "delivered")):
        for system in ("erp", "wms"):
            say(store, system, now + step * H, {Dimension.fulfillment: status})
    assert Flag.moved_back not in flags(store).get(KEY, set())


def test_unresolved_discrepancies_flag_their_order_but_orphans_do_not(store: Store, now: datetime) -> None:
    agreeing(store, now)
    writes = Writes()
    for key, rule in ((KEY, "status_lag"), (f"wms:{KEY}", "orphan")):
        writes.insert(
            {
                "fingerprint": f"fp-{rule}",
                "order_key": key,
                "rule": rule,
                "dimension": None,
                "systems": ["wms"],
                "severity": "warning",
                "status": "open",
                "tier": 0,
                "escalation": 0,
                "summary": "s",
                "details": {},
                "since": now,
                "opened_at": now,
                "last_seen_at": now,
            }
        )
    with store.begin() as conn:
        writes.flush(conn)
    assert flags(store, [KEY, f"wms:{KEY}"]) == {KEY: {Flag.active}}


def test_a_span_reads_a_range_but_answers_only_for_its_keys(store: Store, now: datetime) -> None:
    """A full pass hands the first and last key of its chunk; an order in between that the chunk does
    not hold (all its records retired, or not asked for) is not answered for."""
    for number in (1, 2, 3):
        key = f"SO-00000{number}"
        say(store, "erp", now - H, {Dimension.fulfillment: "shipped"}, key=key, record=f"erp-{number}")
    assert set(flags(store, ["SO-000001", "SO-000003"], span=True)) == {"SO-000001", "SO-000003"}
