"""The safety net of the tracking aggregators: with `poll.silent_after`, a sync asks the provider's
tracking API (mocked with respx, answers shaped like its documented responses) about the shipments
that are not finished and have gone silent, and files what it answers like a push."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import push_samples as samples
import pytest
import respx
import yaml

from orderbridge.config.loader import parse_config
from orderbridge.connectors import registry
from orderbridge.connectors.base import Batch, ConnectorContext, SystemSettings
from orderbridge.connectors.intake import map_batch
from orderbridge.connectors.push.base import StoredEvent
from orderbridge.mapping.model import Dimension
from orderbridge.scheduler.sync import sync_system
from orderbridge.storage import cursors, observations
from orderbridge.storage.db import Store

LONG_AGO = datetime.now(UTC) - timedelta(days=2)


def settings_of(sample: samples.Sample, **extra: object) -> SystemSettings:
    block = {**sample.block, **extra}
    return parse_config(yaml.safe_dump({"systems": {sample.system: block}}, allow_unicode=True)).systems[
        sample.system
    ]


def seed(
    store: Store, sample: samples.Sample, settings: SystemSettings, observed: datetime = LONG_AGO
) -> None:
    """The shipment as its last push left it, `observed` ago."""
    receiver = registry.receiver(sample.system, settings)
    assert receiver is not None
    delivery = receiver.accept(samples.request_of(sample))
    records = receiver.parse(StoredEvent(1, sample.system, observed, delivery.headers, sample.body))
    items, problems = map_batch(Batch("seed", records), settings, observed)
    assert not problems
    with store.begin() as conn:
        observations.ingest(conn, items, observed, newest_wins=True)


def shipment_status(store: Store, system: str, record_id: str) -> str | None:
    from sqlalchemy import select

    from orderbridge.storage.tables import observations as table

    query = select(table.c.statuses).where(table.c.system == system, table.c.record_id == record_id)
    with store.engine.connect() as conn:
        found = conn.execute(query).scalar()
    return found[Dimension.shipment.value]["status"] if found else None


def test_aftership_asks_about_a_silent_shipment_and_files_the_answer(store: Store) -> None:
    """In transit and silent for two days: GET /trackings?tracking_numbers=... with as-api-key; the
    answer (now delivered) becomes the shipment's latest state, and a delivered shipment is not asked
    about again."""
    sample = samples.aftership(tag="InTransit", subtag="InTransit_001", updated=LONG_AGO.isoformat())
    settings = settings_of(sample, api_key="as-key-0123456789", poll={"silent_after": "12h"})
    seed(store, sample, settings)
    delivered = {
        **json.loads(sample.body)["msg"],
        "tag": "Delivered",
        "subtag": "Delivered_003",
        "updated_at": datetime.now(UTC).isoformat(),
    }
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get("https://api.aftership.com/tracking/2025-01/trackings").mock(
            return_value=httpx.Response(200, json={"meta": {"code": 200}, "data": {"trackings": [delivered]}})
        )
        first = sync_system(store, sample.system, settings, ConnectorContext())
        again = sync_system(store, sample.system, settings, ConnectorContext())
    assert route.call_count == 1
    request = route.calls[0].request
    assert request.headers["as-api-key"] == "as-key-0123456789"
    assert parse_qs(request.url.query.decode())["tracking_numbers"] == [sample.record_id]
    assert (first.records, again.records) == (1, 0)
    assert shipment_status(store, sample.system, sample.record_id) == "delivered"


def test_a_shipment_still_silent_is_asked_again_only_after_another_silent_period(store: Store) -> None:
    """The API answers the same (still in transit, unchanged): the shipment stays silent, but the
    cursor remembers it was asked, so the next sync leaves it alone."""
    sample = samples.aftership(tag="InTransit", subtag="InTransit_001", updated=LONG_AGO.isoformat())
    settings = settings_of(sample, api_key="as-key-0123456789", poll={"silent_after": "12h"})
    seed(store, sample, settings)
    same = json.loads(sample.body)["msg"]
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get("https://api.aftership.com/tracking/2025-01/trackings").mock(
            return_value=httpx.Response(200, json={"meta": {"code": 200}, "data": {"trackings": [same]}})
        )
        sync_system(store, sample.system, settings, ConnectorContext())
        sync_system(store, sample.system, settings, ConnectorContext())
    assert route.call_count == 1
    with store.engine.connect() as conn:
        assert sample.record_id in (cursors.load(conn, sample.system) or {})["checked"]


def test_finished_or_recent_shipments_are_not_asked_about(store: Store) -> None:
    """A delivered shipment, and one that changed an hour ago, are left alone."""
    delivered = samples.aftership(tag="Delivered", subtag="Delivered_001", number="TRK-DONE", event_id="d")
    recent = samples.aftership(tag="InTransit", subtag="InTransit_001", number="TRK-RECENT", event_id="r")
    settings = settings_of(delivered, api_key="as-key-0123456789", poll={"silent_after": "12h"})
    seed(store, delivered, settings)
    seed(store, recent, settings, observed=datetime.now(UTC) - timedelta(hours=1))
    with respx.mock(assert_all_called=False) as mock:
        route = mock.get("https://api.aftership.com/tracking/2025-01/trackings")
        result = sync_system(store, delivered.system, settings, ConnectorContext())
    assert route.call_count == 0 and result.records == 0


def test_easypost_asks_for_the_stored_tracker(store: Store) -> None:
    """EasyPost: GET /v2/trackers/<trk id> with the API key as basic-auth user."""
    sample = samples.easypost()
    settings = settings_of(sample, api_key="EZAK0123456789", poll={"silent_after": "12h"})
    seed(store, sample, settings)
    tracker = {
        **json.loads(sample.body)["result"],
        "status": "out_for_delivery",
        "status_detail": "out_for_delivery",
        "updated_at": "2024-08-03T08:00:00Z",
    }
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get("https://api.easypost.com/v2/trackers/trk_1").mock(
            return_value=httpx.Response(200, json=tracker)
        )
        sync_system(store, sample.system, settings, ConnectorContext())
    assert route.calls[0].request.headers["authorization"].startswith("Basic ")
    assert shipment_status(store, sample.system, "1") == "out_for_delivery"


def test_17track_asks_gettrackinfo_with_the_number_and_carrier(store: Store) -> None:
    """17TRACK: POST gettrackinfo [{number, carrier}] with the 17token header; accepted[] is read."""
    sample = samples.track17()
    settings = settings_of(sample, poll={"silent_after": "12h"})
    seed(store, sample, settings)
    data = json.loads(sample.body)["data"]
    returned = {
        **data,
        "track_info": {
            **data["track_info"],
            "latest_status": {"status": "Exception", "sub_status": "Exception_Returned"},
        },
    }
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post("https://api.17track.net/track/v2.2/gettrackinfo").mock(
            return_value=httpx.Response(
                200, json={"code": 0, "data": {"accepted": [returned], "rejected": []}}
            )
        )
        sync_system(store, sample.system, settings, ConnectorContext())
    assert json.loads(route.calls[0].request.content) == [{"number": "RR123456789CN", "carrier": 3011}]
    assert route.calls[0].request.headers["17token"] == samples.SECRET
    assert shipment_status(store, sample.system, "RR123456789CN") == "returned"


def test_kuaidi100_signs_its_real_time_query(store: Store) -> None:
    """Kuaidi100: POST poll/query.do with customer, param and sign = MD5(param + key + customer) in upper
    case; its answer has the shape of a push's lastResult."""
    sample = samples.kuaidi100(state="0", number="SF1400000099")
    settings = settings_of(sample, key="kd-key-0123456789", customer="CUST01", poll={"silent_after": "12h"})
    seed(store, sample, settings)
    answer = {
        "message": "ok",
        "nu": "SF1400000099",
        "ischeck": "1",
        "com": "shunfeng",
        "status": "200",
        "state": "3",
        "data": [{"context": "已签收", "time": "2026-11-21 10:00:00", "ftime": "2026-11-21 10:00:00"}],
    }
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post("https://poll.kuaidi100.com/poll/query.do").mock(
            return_value=httpx.Response(200, json=answer)
        )
        sync_system(store, sample.system, settings, ConnectorContext())
    form = parse_qs(route.calls[0].request.content.decode())
    import hashlib

    assert form["sign"] == [
        hashlib.md5((form["param"][0] + "kd-key-0123456789CUST01").encode()).hexdigest().upper()
    ]
    assert json.loads(form["param"][0])["num"] == "SF1400000099"
    assert shipment_status(store, sample.system, "SF1400000099") == "delivered"


@pytest.mark.parametrize(
    "kind", ["sf_express", "shippo", "karrio", "cainiao", "shopify", "jiandaoyun", "webhook"]
)
def test_push_only_systems_are_not_polled(kind: str) -> None:
    """The daemon schedules no poll for a system that only receives pushes."""
    sample = next(s for s in samples.every_sample() if s.type == kind)
    assert registry.polls(settings_of(sample)) is False
