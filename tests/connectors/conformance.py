"""The connector conformance suite, for every polling connector type and every preset.

A test module applies it by subclassing a suite and naming its side of it, a Source:

    class TestZohoConformance(ApiSuite):
        source_class = ZohoSource

`ConnectorSuite` checks the contract every polling type keeps (settings that validate and refuse unknown
keys readably, batches of SourceRecords, bad records quarantined, a cursor that resumes without
re-delivering). `ApiSuite` adds what an HTTP API connector must survive: a saved cursor resumed, the
overlap's duplicates dropped by the store, a crash between pages, 429 with Retry-After, the vendor's
error inside a 200, a malformed record among good ones, and status words nobody mapped."""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
import yaml
from live_http import Handler, LiveServer, Seen
from pydantic import ValidationError

from orderbridge.config.errors import ConfigError
from orderbridge.config.loader import parse_config
from orderbridge.connectors import registry
from orderbridge.connectors.base import (
    Batch,
    ConnectorContext,
    RecordProblem,
    RetryNotice,
    SourceError,
    SystemSettings,
)
from orderbridge.mapping.model import UNMAPPED, Dimension, SourceRecord
from orderbridge.mapping.status import map_statuses
from orderbridge.scheduler.sync import sync_system
from orderbridge.storage.db import Store

SYSTEM = "shop"
SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 20, 8, 0, tzinfo=SHANGHAI)
StartServer = Callable[[Handler], LiveServer]

PICKING, SHIPPED, MYSTERY = "PICKING", "SHIPPED", "MYSTERY"  # MYSTERY: a word no table maps


@dataclass(frozen=True)
class Order:
    number: str
    status: str  # PICKING, SHIPPED or MYSTERY, written in each source's own words
    updated: datetime
    quantity: int | str  # a str that is not a number makes the record bad
    bad: bool = False  # the source writes this order as a record the connector cannot read


def orders(first: int, count: int, *, bad: int | None = None, status: str | None = None) -> list[Order]:
    """`count` orders an hour apart from order `first`; the one at index `bad` is malformed (quantity
    'n/a', or whatever the source makes unreadable)."""
    made = []
    for i in range(count):
        word = status or (PICKING if i % 2 else SHIPPED)
        quantity: int | str = "n/a" if i == bad else i + 1
        made.append(Order(f"SO-{first + i}", word, START + timedelta(hours=first + i), quantity, i == bad))
    return made


def changed(order: Order, status: str, hours: int = 1) -> Order:
    """The same order, changed later to `status`."""
    return Order(order.number, status, order.updated + timedelta(hours=hours), order.quantity)


class Source(ABC):
    """One connector type's side of the suite."""

    connector_type: ClassVar[str]  # the registry entry the suite checks
    minimal: ClassVar[dict[str, Any]]  # the smallest block the settings model accepts
    misspelled: ClassVar[tuple[str, str]]  # a typo of one of its own keys, and the key meant
    dimension: ClassVar[Dimension] = Dimension.fulfillment  # where PICKING and SHIPPED are mapped
    expected: ClassVar[dict[str, str]] = {PICKING: "preparing", SHIPPED: "shipped"}
    reads_quantity: ClassVar[bool] = True  # the block maps the order's quantity
    bad_reason: ClassVar[str] = "is not a number"  # part of the reason a malformed record gets
    rereads_at_cursor: ClassVar[bool] = False  # a poll from a cursor reads its last record again

    @abstractmethod
    def block(self) -> dict[str, Any]:
        """A settings block that reads this source: order number, status, change time (and quantity)."""

    @abstractmethod
    def publish(self, new: list[Order]) -> None:
        """Put orders at the source as one new change (new rows in a new file, new or changed records)."""

    def context(self) -> ConnectorContext:
        return ConnectorContext()

    @classmethod
    @abstractmethod
    def serve(cls, folder: Path, server: StartServer) -> Iterator[Source]:
        """The source, live for one test: files under `folder`, a real local server started with
        `server`, or an API faked by respx."""


class ApiSource(Source):
    """An HTTP API served by a real local server. `answer` is the vendor's own behaviour (paging,
    filtering by the cursor, its envelope); the suite injects throttles and vendor errors before it."""

    reads_quantity = False

    def __init__(self, server: StartServer) -> None:
        self.records: dict[str, dict[str, Any]] = {}  # by order number: the source's current state
        self.injected: list[tuple[Any, ...]] = []
        self.server = server(self.handle)

    @property
    def url(self) -> str:
        return self.server.url

    def handle(self, seen: Seen) -> tuple[Any, ...]:
        if self.injected and self.listing(seen):
            return self.injected.pop(0)
        return self.answer(seen)

    def listing(self, seen: Seen) -> bool:
        """Whether a request reads the order listing (not a token or login request)."""
        return True

    @abstractmethod
    def answer(self, seen: Seen) -> tuple[Any, ...]:
        """The vendor's answer: (status, body) or (status, body, [(header, value)])."""

    @abstractmethod
    def vendor_error(self) -> tuple[Any, ...]:
        """An error the vendor signals inside an HTTP 200 (or its own error shape), as `answer` returns."""

    vendor_error_text: ClassVar[str]  # what of it the poll's error must say

    def throttle(self, retry_after: int) -> tuple[Any, ...]:
        """The vendor's 429 answer asking to wait `retry_after` seconds."""
        return (429, {"error": "too many requests"}, [("Retry-After", str(retry_after))])

    def inject(self, *answers: tuple[Any, ...]) -> None:
        """The next listing requests get these answers, before the vendor's own."""
        self.injected.extend(answers)

    @classmethod
    def serve(cls, folder: Path, server: StartServer) -> Iterator[Source]:
        yield cls(server)


# -- helpers ------------------------------------------------------------------------------------------


def settings_of(source: Source) -> SystemSettings:
    return registry.lookup(source.block()["type"]).settings.model_validate(source.block())


def poll(
    source: Source, cursor: dict[str, Any] | None = None, context: ConnectorContext | None = None
) -> list[Batch]:
    connector = registry.create(SYSTEM, settings_of(source), context or source.context())
    try:
        return list(connector.poll(cursor, threading.Event()))
    finally:
        connector.close()


def records(batches: list[Batch]) -> list[SourceRecord]:
    """The order records of a poll: not those of child listings, nor the system's records that name no
    order themselves (Shopify's fulfilments, attached by a link)."""
    return [r for b in batches for r in b.records if b.system is None and r.order_ref is not None]


def delivered(batches: list[Batch]) -> list[str | None]:
    return sorted((r.order_ref for r in records(batches)), key=str)


def problems(batches: list[Batch]) -> list[tuple[Batch, RecordProblem]]:
    return [(b, p) for b in batches for p in b.problems if b.system is None]


def config_text(block: dict[str, Any]) -> str:
    return yaml.safe_dump({"systems": {SYSTEM: block}}, allow_unicode=True)


def mapped(source: Source, record: SourceRecord) -> Any:
    return map_statuses(settings_of(source).status, record.native_status).get(source.dimension)


# -- the suites ---------------------------------------------------------------------------------------


class ConnectorSuite:
    """What every polling connector type keeps to."""

    source_class: ClassVar[type[Source]]

    @pytest.fixture
    def source(self, tmp_path: Path, live_server: StartServer) -> Iterator[Source]:
        yield from self.source_class.serve(tmp_path, live_server)

    def test_minimal_block_validates(self) -> None:
        """The smallest block (type and required keys) is accepted, by the model and in a config file."""
        minimal = self.source_class.minimal
        entry = registry.lookup(minimal["type"])
        assert entry.name == self.source_class.connector_type
        settings = entry.settings.model_validate(minimal)
        assert isinstance(settings, SystemSettings) and settings.type == entry.name
        loaded = parse_config(config_text(minimal))
        assert isinstance(loaded.systems[SYSTEM], entry.settings)

    def test_unknown_keys_are_refused_with_a_readable_message(self) -> None:
        """A misspelled key, shared or the type's own, is refused (never ignored), and the config error
        names the key's place and suggests the key meant."""
        kind = self.source_class
        for typo, key in (kind.misspelled, ("timezon", "timezone")):
            block = {**kind.minimal, typo: "x"}
            with pytest.raises(ValidationError) as refused:
                registry.lookup(kind.minimal["type"]).settings.model_validate(block)
            assert [(e["type"], e["loc"]) for e in refused.value.errors()] == [("extra_forbidden", (typo,))]
            with pytest.raises(ConfigError) as config_error:
                parse_config(config_text(block))
            [problem] = config_error.value.problems
            assert problem.key_path == f"systems.{SYSTEM}.{typo}"
            assert problem.message.startswith(f"unknown key {typo!r}; expected one of ")
            assert problem.message.endswith(f"(did you mean {key!r}?)")

    def test_poll_yields_batches_of_source_records_named_by_system(self, source: Source) -> None:
        """Every good order at the source arrives once as a SourceRecord carrying the system's name, a
        status its status table maps, its change time (and its quantity)."""
        published = orders(1, 5)
        source.publish(published)
        batches = poll(source)
        assert batches and all(isinstance(b, Batch) for b in batches)
        found = records(batches)
        assert all(isinstance(r, SourceRecord) and r.system == SYSTEM for r in found)
        assert delivered(batches) == [o.number for o in published]
        by_number = {r.order_ref: r for r in found}
        for order in published:
            record = by_number[order.number]
            assert record.status_at == order.updated
            if source.reads_quantity:
                assert record.quantities.ordered == order.quantity
            status = mapped(source, record)
            assert status is not None and status.status == source.expected[order.status]
        assert problems(batches) == []

    def test_bad_record_is_quarantined_and_the_rest_of_its_batch_kept(self, source: Source) -> None:
        """A malformed order becomes a RecordProblem saying what is wrong with it; the good records of
        the same batch are still delivered."""
        source.publish(orders(1, 4, bad=1))
        batches = poll(source)
        found = problems(batches)
        assert found, "the malformed record was not reported"
        # A listing that reads a page again (to prove nothing moved under it) reports it again: the
        # quarantine keeps one entry per record.
        for _, problem in found:
            assert isinstance(problem, RecordProblem)
            assert source.bad_reason in problem.reason
            assert "SO-2" in json.dumps(problem.raw, default=str)
        assert found[0][0].records, "the bad record's batch lost its good records"
        assert len({p.record_id for _, p in found}) == 1
        assert delivered(batches) == ["SO-1", "SO-3", "SO-4"]

    def test_last_cursor_resumes_without_redelivering(self, source: Source) -> None:
        """Polling from the last batch's cursor delivers nothing new when nothing changed, then only
        what changed after it: no record of the first poll comes again."""
        source.publish(orders(1, 3))
        first = poll(source)
        cursor = first[-1].cursor
        assert cursor is not None
        again = set(delivered(poll(source, cursor)))
        assert again == ({"SO-3"} if source.rereads_at_cursor else set())
        source.publish(orders(10, 2))
        resumed = poll(source, cursor)
        assert set(delivered(resumed)) - again == {"SO-10", "SO-11"}
        assert resumed[-1].cursor is not None and resumed[-1].cursor != cursor

    def test_batch_cursors_are_json_the_store_keeps_as_they_are(self, source: Source) -> None:
        """Each committed cursor survives a JSON round trip unchanged (the store keeps it as JSON), and a
        poll resumed from that round-tripped cursor delivers nothing new."""
        source.publish(orders(1, 3))
        batches = poll(source)
        committed = [b.cursor for b in batches if b.cursor is not None]
        assert committed
        for cursor in committed:
            assert json.loads(json.dumps(cursor)) == cursor
        again = set(delivered(poll(source, json.loads(json.dumps(committed[-1])))))
        assert again == ({"SO-3"} if source.rereads_at_cursor else set())


class ApiSuite(ConnectorSuite):
    """What a connector of an HTTP API (every preset) survives besides."""

    source_class: ClassVar[type[ApiSource]]

    @pytest.fixture
    def api(self, source: Source) -> ApiSource:
        assert isinstance(source, ApiSource)
        return source

    def test_saved_cursor_resumes_with_the_changed_orders_only(self, api: ApiSource) -> None:
        """A poll from the cursor saved by the one before asks the source from there (its filter, not
        ours, leaves the rest out) and delivers the orders changed since, in their new status."""
        published = orders(1, 6)
        api.publish(published)
        cursor = poll(api)[-1].cursor
        asked = len(api.server.seen)
        api.publish([changed(published[0], SHIPPED, hours=24), changed(published[3], MYSTERY, hours=25)])
        resumed = poll(api, json.loads(json.dumps(cursor)))
        found = {r.order_ref: r for r in records(resumed)}
        assert set(found) - {"SO-6"} == {"SO-1", "SO-4"}  # SO-6: the overlap at the old cursor
        status = mapped(api, found["SO-1"])
        assert status is not None and status.status == api.expected[SHIPPED]
        listed = len(records(resumed))
        assert listed <= 3, "the source was not asked from the saved cursor"
        assert len(api.server.seen) > asked

    def test_overlap_duplicates_are_dropped_by_the_store(self, api: ApiSource, store: Store) -> None:
        """What a poll reads again (the overlap before the cursor, an inclusive filter) is written as
        unchanged: no new observation, no change."""
        api.publish(orders(1, 4))
        first = sync_system(store, SYSTEM, settings_of(api), api.context())
        assert first.new == first.records >= 4
        again = sync_system(store, SYSTEM, settings_of(api), api.context())
        assert (again.new, again.changed) == (0, 0)
        assert again.unchanged == again.records - again.quarantined

    def test_crash_between_pages_resumes_without_loss(self, api: ApiSource) -> None:
        """A poll that dies after its first pages (the process killed) resumes from the last cursor it
        committed and delivers everything the crash left unread."""
        published = orders(1, 7)
        api.publish(published)
        connector = registry.create(SYSTEM, settings_of(api), api.context())
        seen: set[str | None] = set()
        committed: dict[str, Any] | None = None
        batches = connector.poll(None, threading.Event())
        for batch in batches:
            seen |= {r.order_ref for r in records([batch])}
            if batch.cursor is not None:
                committed = batch.cursor
            if len(seen) >= 2:
                break  # the crash: nothing after this page is read or committed
        batches.close()  # type: ignore[attr-defined]
        connector.close()
        assert len(seen) < len(published), "the listing has to be longer than the pages read before it"
        resumed = poll(api, committed)
        assert seen | set(delivered(resumed)) == {o.number for o in published}

    def test_429_with_retry_after_is_waited_for(self, api: ApiSource) -> None:
        """A throttled request is retried after the wait the source asked for, and nothing is lost."""
        api.publish(orders(1, 3))
        api.inject(api.throttle(1))
        notices: list[RetryNotice] = []
        batches = poll(api, context=ConnectorContext(on_retry=notices.append))
        assert [(n.wait >= 1, "429" in n.reason) for n in notices] == [(True, True)]
        assert delivered(batches) == ["SO-1", "SO-2", "SO-3"]

    def test_vendor_error_in_a_200_fails_the_poll_with_its_message(self, api: ApiSource) -> None:
        """An error the vendor signals inside an answer (a 200 with an error body, its own error shape)
        fails the poll naming it; nothing of it is taken for records and no cursor is committed."""
        api.publish(orders(1, 3))
        api.inject(api.vendor_error())
        connector = registry.create(SYSTEM, settings_of(api), api.context())
        got: list[Batch] = []
        with pytest.raises(SourceError) as failed:
            got.extend(connector.poll(None, threading.Event()))
        connector.close()
        assert api.vendor_error_text in str(failed.value), str(failed.value)
        assert [b for b in got if b.cursor is not None] == []

    def test_unknown_status_is_reported_as_unmapped(self, api: ApiSource) -> None:
        """A status word neither the preset nor the company's own table knows is `unmapped`, with the
        native word kept to be seen, never guessed."""
        api.publish(orders(1, 2, status=MYSTERY))
        found = records(poll(api))
        assert len(found) == 2
        for record in found:
            status = mapped(api, record)
            assert status is not None and status.status == UNMAPPED and status.native
