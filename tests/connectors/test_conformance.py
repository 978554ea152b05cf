"""The connector contract, checked against every type in the registry: settings that validate and
refuse unknown keys readably, polls that yield Batches of SourceRecords, bad records quarantined
without sinking their batch, and a cursor that resumes without re-delivering.

To add a connector type: write a Source for it (a settings block and a real or respx-faked source it
reads) and add it to SOURCES."""

from __future__ import annotations

import base64
import csv
import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import pytest
import respx
import yaml
from pydantic import ValidationError

from orderbridge.config.errors import ConfigError
from orderbridge.config.loader import parse_config
from orderbridge.connectors import registry
from orderbridge.connectors.base import Batch, ConnectorContext, RecordProblem, SystemSettings
from orderbridge.mapping.model import Dimension, SourceRecord
from orderbridge.mapping.status import map_statuses

SYSTEM = "shop"
SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 20, 8, 0, tzinfo=SHANGHAI)


@dataclass(frozen=True)
class Order:
    number: str
    status: str  # PICKING or SHIPPED, in each source's own words
    updated: datetime
    quantity: int | str  # a str that is not a number makes the record bad


def orders(first: int, count: int, *, bad: int | None = None) -> list[Order]:
    """`count` orders an hour apart from order `first`; the one at index `bad` has quantity 'n/a'."""
    made = []
    for i in range(count):
        status = "PICKING" if i % 2 else "SHIPPED"
        quantity: int | str = "n/a" if i == bad else i + 1
        made.append(Order(f"SO-{first + i}", status, START + timedelta(hours=first + i), quantity))
    return made


class Source(ABC):
    """One connector type's side of the suite."""

    minimal: ClassVar[dict[str, Any]]  # the smallest block the settings model accepts
    misspelled: ClassVar[tuple[str, str]]  # a typo of one of its own keys, and the key meant

    @abstractmethod
    def block(self) -> dict[str, Any]:
        """A settings block that reads this source: order number, status, change time and quantity."""

    @abstractmethod
    def publish(self, new: list[Order]) -> None:
        """Put orders at the source as one new change (new rows in a new file, new API records)."""

    def context(self) -> ConnectorContext:
        return ConnectorContext()

    @classmethod
    @abstractmethod
    def serve(cls, folder: Path) -> Iterator[Source]:
        """The source, live for one test (files under `folder`, or an HTTP API mocked by respx)."""


class RestSource(Source):
    """A WMS-like JSON API faked with respx: API key header, `{code, msg, data: {list, next_cursor}}`
    envelope, oldest-first listing filtered by `updated_after` (exclusive), opaque cursor tokens."""

    base = "https://wms.example.com/api/v2"
    key = "k-55d0e1b2c3"
    minimal: ClassVar[dict[str, Any]] = {
        "type": "rest",
        "base_url": "https://wms.example.com/api/v2",
        "list": {"path": "/orders"},
    }
    misspelled = ("base_ur", "base_url")

    def __init__(self, router: respx.MockRouter) -> None:
        self.records: list[dict[str, Any]] = []
        router.get(f"{self.base}/orders").mock(side_effect=self.answer)

    def block(self) -> dict[str, Any]:
        return {
            "type": "rest",
            "base_url": self.base,
            "auth": {"api_key": {"header": "X-Api-Key", "value": self.key}},
            "list": {
                "path": "/orders",
                "params": {"updated_after": "{cursor}"},
                "records": "data.list",
                "paging": {
                    "style": "cursor",
                    "param": "cursor",
                    "next": "data.next_cursor",
                    "size_param": "limit",
                    "size": 2,
                },
            },
            # overlap 0s: a nonzero overlap deliberately re-reads its window (the store drops those)
            "cursor": {"field": "updated_at", "overlap": "0s", "sorted": True, "initial": "2026-11-01"},
            "errors": {"field": "code", "message": "msg"},
            "timezone": "Asia/Shanghai",
            "order_id": {"field": "order_no"},
            "fields": {"record_id": "id", "updated": "updated_at", "ordered_qty": "quantity"},
            "status": {
                "dimension": "fulfillment",
                "field": "state",
                "map": {"PICKING": "preparing", "SHIPPED": "shipped"},
            },
        }

    def publish(self, new: list[Order]) -> None:
        for order in new:
            self.records.append(
                {
                    "id": 880000 + len(self.records),
                    "order_no": order.number,
                    "state": order.status,
                    "updated_at": order.updated.isoformat(),
                    "quantity": order.quantity,
                    "warehouse": {"code": "SH-01"},
                }
            )

    def answer(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("X-Api-Key") != self.key:
            return httpx.Response(200, json={"code": 40101, "msg": "invalid api key", "data": None})
        params = request.url.params
        since = datetime.fromisoformat(params["updated_after"])
        changed = sorted(
            (r for r in self.records if datetime.fromisoformat(r["updated_at"]) > since),
            key=lambda r: r["updated_at"],
        )
        offset = int(base64.urlsafe_b64decode(params["cursor"])) if "cursor" in params else 0
        limit = int(params["limit"])
        end = offset + limit
        token = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(changed) else None
        data = {"list": changed[offset:end], "next_cursor": token, "total": len(changed)}
        return httpx.Response(200, json={"code": 0, "msg": "success", "data": data})

    @classmethod
    def serve(cls, folder: Path) -> Iterator[Source]:
        with respx.mock(assert_all_called=True) as router:
            yield cls(router)


class SpreadsheetSource(Source):
    """Monthly purchasing exports in a folder, alternately XLSX and CSV, with Chinese headers."""

    headers: ClassVar[list[str]] = ["订单号", "状态", "更新时间", "数量"]
    minimal: ClassVar[dict[str, Any]] = {"type": "spreadsheet", "path": "orders.xlsx"}
    misspelled = ("pth", "path")

    def __init__(self, folder: Path) -> None:
        self.folder, self.files = folder, 0
        (folder / "exports").mkdir()

    def block(self) -> dict[str, Any]:
        return {
            "type": "spreadsheet",
            "path": "exports/*",
            "columns": {"order": "订单号", "status": "状态", "updated": "更新时间", "ordered_qty": "数量"},
            "timezone": "Asia/Shanghai",
            "status": {"dimension": "fulfillment", "map": {"备货中": "preparing", "已发货": "shipped"}},
        }

    def publish(self, new: list[Order]) -> None:
        words = {"PICKING": "备货中", "SHIPPED": "已发货"}
        rows = [[o.number, words[o.status], o.updated.strftime("%Y/%m/%d %H:%M"), o.quantity] for o in new]
        self.files += 1
        if self.files % 2:
            book = openpyxl.Workbook()
            for row in [self.headers, *rows]:
                book.active.append(row)
            book.save(self.folder / "exports" / f"export-{self.files}.xlsx")
        else:
            with (self.folder / "exports" / f"export-{self.files}.csv").open("w", newline="") as handle:
                csv.writer(handle).writerows([self.headers, *rows])

    def context(self) -> ConnectorContext:
        return ConnectorContext(base_dir=self.folder)

    @classmethod
    def serve(cls, folder: Path) -> Iterator[Source]:
        yield cls(folder)


# One entry per registered connector type.
SOURCES: dict[str, type[Source]] = {"rest": RestSource, "spreadsheet": SpreadsheetSource}


@pytest.fixture(params=sorted(n for n, e in registry.REGISTRY.items() if e.receiver is None))
def kind(request: pytest.FixtureRequest) -> type[Source]:
    if request.param not in SOURCES:
        pytest.fail(f"connector type {request.param!r} has no Source in SOURCES of the conformance suite")
    return SOURCES[request.param]


@pytest.fixture
def source(kind: type[Source], tmp_path: Path) -> Iterator[Source]:
    yield from kind.serve(tmp_path)


def settings_of(source: Source) -> SystemSettings:
    return registry.lookup(source.block()["type"]).settings.model_validate(source.block())


def poll(source: Source, cursor: dict[str, Any] | None = None) -> list[Batch]:
    connector = registry.create(SYSTEM, settings_of(source), source.context())
    try:
        return list(connector.poll(cursor, threading.Event()))
    finally:
        connector.close()


def delivered(batches: list[Batch]) -> list[str | None]:
    return sorted((r.order_ref for b in batches for r in b.records), key=str)


def config_text(block: dict[str, Any]) -> str:
    return yaml.safe_dump({"systems": {SYSTEM: block}}, allow_unicode=True)


def test_every_registered_type_is_in_the_suite() -> None:
    """A polling connector type added to the registry without a Source here fails the build. Types that
    receive pushes have their own suite (test_push_providers.py), safety-net polling included."""
    assert set(SOURCES) == {name for name, entry in registry.REGISTRY.items() if entry.receiver is None}


def test_minimal_block_validates(kind: type[Source]) -> None:
    """The smallest block (type and required keys) is accepted, by the model and in a config file."""
    entry = registry.lookup(kind.minimal["type"])
    settings = entry.settings.model_validate(kind.minimal)
    assert isinstance(settings, SystemSettings) and settings.type == entry.name
    loaded = parse_config(config_text(kind.minimal))
    assert isinstance(loaded.systems[SYSTEM], entry.settings)


def test_unknown_keys_are_refused_with_a_readable_message(kind: type[Source]) -> None:
    """A misspelled key, shared or the type's own, is refused (never ignored), and the config error
    names the key's place and suggests the key meant."""
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


def test_poll_yields_batches_of_source_records_named_by_system(source: Source) -> None:
    """Every good order at the source arrives once as a SourceRecord carrying the system's name, a
    status its status table maps, its change time and its quantity."""
    published = orders(1, 5)
    source.publish(published)
    batches = poll(source)
    assert batches and all(isinstance(b, Batch) for b in batches)
    records = [r for b in batches for r in b.records]
    assert all(isinstance(r, SourceRecord) and r.system == SYSTEM for r in records)
    assert delivered(batches) == [o.number for o in published]
    by_number = {r.order_ref: r for r in records}
    canonical = {"PICKING": "preparing", "SHIPPED": "shipped"}
    for order in published:
        record = by_number[order.number]
        assert record.status_at == order.updated
        assert record.quantities.ordered == order.quantity
        mapped = map_statuses(settings_of(source).status, record.native_status)[Dimension.fulfillment]
        assert mapped.status == canonical[order.status]
    assert all(b.problems == [] for b in batches)


def test_bad_record_is_quarantined_and_the_rest_of_its_batch_kept(source: Source) -> None:
    """An order whose quantity is 'n/a' becomes a RecordProblem saying which field and value; the good
    records of the same batch are still delivered."""
    source.publish(orders(1, 4, bad=1))
    batches = poll(source)
    [(batch, problem)] = [(b, p) for b in batches for p in b.problems]
    assert isinstance(problem, RecordProblem)
    assert problem.reason.startswith("field ") and problem.reason.endswith(": 'n/a' is not a number")
    assert "n/a" in problem.raw.values()
    assert batch.records, "the bad record's batch lost its good records"
    assert delivered(batches) == ["SO-1", "SO-3", "SO-4"]


def test_last_cursor_resumes_without_redelivering(source: Source) -> None:
    """Polling from the last batch's cursor delivers nothing when nothing changed, then only what
    changed after it: no record of the first poll comes again."""
    source.publish(orders(1, 3))
    first = poll(source)
    cursor = first[-1].cursor
    assert cursor is not None
    assert delivered(poll(source, cursor)) == []
    source.publish(orders(10, 2))
    resumed = poll(source, cursor)
    assert delivered(resumed) == ["SO-10", "SO-11"]
    assert resumed[-1].cursor is not None and resumed[-1].cursor != cursor


def test_batch_cursors_are_json_the_store_keeps_as_they_are(source: Source) -> None:
    """Each committed cursor survives a JSON round trip unchanged (the store keeps it as JSON), and a
    poll resumed from that round-tripped cursor delivers nothing new."""
    source.publish(orders(1, 3))
    batches = poll(source)
    committed = [b.cursor for b in batches if b.cursor is not None]
    assert committed
    for cursor in committed:
        assert json.loads(json.dumps(cursor)) == cursor
    assert delivered(poll(source, json.loads(json.dumps(committed[-1])))) == []
