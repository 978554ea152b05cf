"""Ingest's driver-level write path: the same fingerprints as ever, rows that read back exactly as they
were given on both stores (large batches going through COPY on PostgreSQL), and store errors raised as
the rest of the store raises them."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from orderbridge.mapping.model import Amounts, CanonicalStatus, Dimension, Observation, Quantities
from orderbridge.storage import bulk, observations, queue
from orderbridge.storage.db import Store
from orderbridge.storage.tables import observations as observations_table
from orderbridge.storage.tables import order_links, status_history


def legacy_fingerprint(obs: Observation, raw: Any) -> str:
    """The fingerprint as every stored content hash was computed: a record read again after an upgrade
    must still count as unchanged."""

    def without_blanks(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: without_blanks(v) for k, v in value.items() if not blank(v)}
        if isinstance(value, list | tuple):
            return [None if blank(v) else without_blanks(v) for v in value]
        return value

    def blank(value: Any) -> bool:
        return value is None or (isinstance(value, str) and not value.strip())

    body = obs.model_dump(mode="json", exclude={"observed_at"})
    text = json.dumps(
        [without_blanks(body), without_blanks(raw)], sort_keys=True, default=str, ensure_ascii=False
    )
    return hashlib.sha256(text.encode()).hexdigest()


texts = st.one_of(st.none(), st.sampled_from(["", " ", "\u3000", "\t"]), st.text(max_size=8))
numbers = st.one_of(st.none(), st.decimals(allow_nan=False, allow_infinity=False, places=3))
zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5)), ZoneInfo("Europe/London")]
)
moments = st.builds(
    lambda naive, tz: naive.replace(tzinfo=tz), st.datetimes(min_value=datetime(1990, 1, 1)), zones
)
raws = st.recursive(
    st.one_of(texts, st.integers(), st.floats(allow_nan=False), st.booleans()),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def observed(draw: st.DrawFn) -> Observation:
    dimensions = draw(st.lists(st.sampled_from(list(Dimension)), unique=True, max_size=3))
    return Observation(
        system="erp",
        record_id=draw(st.text(min_size=1, max_size=8)),
        order_key=draw(texts),
        order_ref=draw(texts),
        external_ref=draw(texts),
        statuses={
            d: CanonicalStatus(
                status=draw(st.text(max_size=6)), native=draw(texts), implied=draw(st.booleans())
            )
            for d in dimensions
        },
        native_status=draw(st.dictionaries(st.text(max_size=5), texts, max_size=3)),
        status_at=draw(st.none() | moments),
        observed_at=draw(moments),
        quantities=Quantities(ordered=draw(numbers), shipped=draw(numbers), invoiced=draw(numbers)),
        amounts=Amounts(order=draw(numbers), paid=draw(numbers), currency=draw(texts)),
        links=draw(st.dictionaries(st.text(min_size=1, max_size=5), st.text(max_size=6), max_size=2)),
        reason=draw(texts),
    )


@settings(max_examples=300, deadline=None)
@given(observed(), st.dictionaries(st.text(max_size=5), raws, max_size=5))
def test_the_legacy_fingerprint_is_the_one_stored_hashes_were_made_with(obs: Observation, raw: Any) -> None:
    """Hashes stored before the fingerprint's version 2 are checked by their own formula: same
    observation, same raw record, same hash, blanks and absent values alike."""
    kept = observations._kept(observations._body(obs), raw)
    assert observations._legacy_digest(kept) == legacy_fingerprint(obs, raw)


@settings(max_examples=300, deadline=None)
@given(observed(), st.dictionaries(st.text(max_size=5), raws, max_size=5), st.sampled_from([None, "", " \t"]))
def test_the_fingerprint_takes_blank_values_as_absent(obs: Observation, raw: Any, blank: str | None) -> None:
    """A blank value and an absent one give the same fingerprint, in the raw record and in what was
    mapped; a value that is there changes it."""
    digest = observations.fingerprint(obs, raw)
    assert len(digest) == 64  # the column's width, in either version
    assert observations.fingerprint(obs, {**raw, "\x00blank": blank}) == digest
    assert observations.fingerprint(obs.model_copy(update={"reason": blank or None}), raw) == (
        observations.fingerprint(obs.model_copy(update={"reason": None}), raw)
    )
    assert observations.fingerprint(obs, {**raw, "\x00blank": "x"}) != digest


def test_a_record_stored_with_a_legacy_hash_is_unchanged_and_takes_the_new_one(
    store: Store, now: datetime
) -> None:
    """An upgraded store does not see its records as changed: a record whose stored hash is of version
    1 is compared by that formula, counts as unchanged when it is, and its hash is rewritten in version
    2 (so the old formula is paid once); a record that did change is still changed."""
    items = [(full(str(i), now), {**RAW, "id": i}) for i in range(3)]
    with store.begin() as conn:
        observations.ingest(conn, items, now)
        for obs, raw in items:
            conn.execute(
                update(observations_table)
                .where(observations_table.c.record_id == obs.record_id)
                .values(content_hash=legacy_fingerprint(obs, raw))
            )
    moved = (full("2", now, status="delivered"), {**RAW, "id": 2})
    with store.begin() as conn:
        result = observations.ingest(conn, [*items[:2], moved], now)
    assert (result.new, result.changed, result.unchanged) == (0, 1, 2)
    with store.begin() as conn:
        query = select(observations_table.c.record_id, observations_table.c.content_hash)
        hashes = {record_id: digest for record_id, digest in conn.execute(query)}
    assert hashes == {obs.record_id: observations.fingerprint(obs, raw) for obs, raw in [*items[:2], moved]}
    with store.begin() as conn:
        again = observations.ingest(conn, [*items[:2], moved], now)
    assert (again.new, again.changed, again.unchanged) == (0, 0, 3)


def test_a_record_the_fast_encoder_cannot_write_is_fingerprinted_all_the_same(
    store: Store, now: datetime
) -> None:
    """A raw record holding what orjson does not write (an integer beyond 64 bits, a key that is not
    text) gets the fingerprint of version 1, and is unchanged when read again."""
    raw = {"id": 2**70, "lines": {7: "seven"}}
    digest = observations.fingerprint(full("1", now), raw)
    assert not digest.startswith(observations.FINGERPRINT_MARK)
    assert digest == legacy_fingerprint(full("1", now), raw)
    with store.begin() as conn:
        observations.ingest(conn, [(full("1", now), raw)], now)
    with store.begin() as conn:
        again = observations.ingest(conn, [(full("1", now), raw)], now)
    assert (again.new, again.changed, again.unchanged) == (0, 0, 1)


@settings(max_examples=300, deadline=None)
@given(observed())
def test_the_rows_json_is_what_the_model_dumps(obs: Observation) -> None:
    """The JSON columns are built without the model's serialiser, and hold exactly what it gives."""
    assert observations._body(obs) == obs.model_dump(mode="json", exclude={"observed_at"})


def full(record_id: str, now: datetime, status: str = "shipped", **extra: Any) -> Observation:
    values: dict[str, Any] = {
        "system": "erp",
        "record_id": record_id,
        "order_key": f"SO-{record_id}",
        "order_ref": f"so {record_id}",
        "external_ref": f"PO-{record_id}",
        "statuses": {
            Dimension.fulfillment: CanonicalStatus(status=status, native=status.upper()),
            Dimension.billing: CanonicalStatus(status="invoiced", native="開票済"),
        },
        "native_status": {"status": status.upper(), "billing": "開票済", "note": None},
        "status_at": datetime(2026, 3, 1, 9, 30, 15, 250, tzinfo=ZoneInfo("Asia/Shanghai")),
        "observed_at": now,
        "quantities": Quantities(ordered=Decimal("12.500"), shipped=Decimal("1E+1")),
        "amounts": Amounts(order=Decimal("1234.50"), paid=Decimal("0"), currency="CNY"),
        "links": {"tracking_number": f"SF{record_id}"},
        "reason": "客户要求\t延迟",
    }
    return Observation(**{**values, **extra})


RAW = {"id": 7, "名": "上海", "lines": [{"sku": "A", "qty": 2.5}, None, ""], "blank": " ", "none": None}


@pytest.mark.parametrize("count", [3, bulk.COPY_FROM + 5], ids=["statements", "copy"])
def test_every_column_reads_back_as_it_was_given(store: Store, now: datetime, count: int) -> None:
    """Observations, history and links written by the bulk path read back exactly, whether the batch is
    small (one statement per table) or large (COPY through a staging table on PostgreSQL); a record twice
    in one batch is stored once, as its later version."""
    items = [(full(str(i), now), {**RAW, "id": i}) for i in range(count)]
    items.append((full("0", now, status="delivered"), {**RAW, "id": 0, "again": True}))
    with store.begin() as conn:
        result = observations.ingest(conn, items, now, ["tracking_number"])
    assert (result.new, result.changed) == (count, 1)
    with store.begin() as conn:
        first = observations.observations_of(conn, "SO-0")
        other = observations.observations_of(conn, "SO-1")
        raw = conn.execute(
            select(observations_table.c.raw).where(observations_table.c.record_id == "0")
        ).scalar_one()
        history = conn.execute(select(status_history).where(status_history.c.record_id == "0")).all()
        linked = conn.execute(
            select(order_links.c.order_key).where(order_links.c.value == "SF1")
        ).scalar_one()
    assert [o.model_dump() for o in other] == [items[1][0].model_dump()]
    assert first[0].status(Dimension.fulfillment) == "delivered"
    assert raw == {**RAW, "id": 0, "again": True}
    assert sorted((h.dimension, h.status) for h in history) == [
        ("billing", "invoiced"),
        ("fulfillment", "delivered"),
        ("fulfillment", "shipped"),
    ]
    assert {h.status_at for h in history} == {items[0][0].status_at}
    assert linked == "SO-1"
    with store.begin() as conn:
        again = observations.ingest(conn, items[1:], now, ["tracking_number"])
        assert queue.pending(conn) == count
    assert (again.new, again.changed, again.unchanged) == (0, 0, count)


@pytest.mark.postgres
def test_a_row_postgresql_refuses_in_copy_is_a_sqlalchemy_error(now: datetime, pg_database: str) -> None:
    """A refused row in a COPY is raised as SQLAlchemy's error, as from any other statement: the sync
    tells a refused record (quarantined) from an unreachable store (retried) by these classes, and the
    transaction is rolled back whole."""
    store = Store(pg_database)
    try:
        items = [(full(f"nul-{i}", now), {"id": i}) for i in range(bulk.COPY_FROM)]
        items.append((full("nul-bad", now), {"text": "a\x00b"}))
        with pytest.raises(DBAPIError) as caught, store.begin() as conn:
            observations.ingest(conn, items, now)
        assert "0x00" in str(caught.value) or "\\u0000" in str(caught.value)
        with store.begin() as conn:
            assert observations.observations_of(conn, "SO-nul-1") == []
    finally:
        store.close()
