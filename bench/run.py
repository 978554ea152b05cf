"""Benchmarks of orderbridge's real code paths, run on demand (not part of the test suite).

    .venv/bin/python bench/run.py [--orders N] [--store sqlite|postgres|both] [--repeat R]

Three measurements per store, each the median of R repetitions:

1. ingest     the whole sync path (REST connector -> mapping -> storage, one transaction per page with
              its cursor) polling the simulated ERP and WMS HTTP servers of orderbridge.demo, plus the
              finance CSV through the spreadsheet connector, into an empty store;
2. reconcile  a full pass over every order against an incremental pass after 1% of the orders changed
              at their sources (and were synced), an incremental pass with nothing changed, and one whose
              clock is a day later (deadlines expired);
3. re-poll    every source read again from the start with nothing changed: the content hash must drop
              every record, and the statements written are counted per table.

The simulators run in a child process, as separate systems would. Their ERP parses every record's
timestamp on every request (0.35 s a page at 20,000 orders); the child memoises that parse so the source
is not the bottleneck (`--raw-simulator` turns the memo off). Server-side time is reported apart.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import os
import platform
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import structlog
from sqlalchemy import create_engine, delete, event, func, select, text
from sqlalchemy.engine import Engine, make_url

from orderbridge.config.loader import LoadedConfig, load_config
from orderbridge.connectors.base import Batch, ConnectorContext
from orderbridge.connectors.http import HttpApi
from orderbridge.demo import simulators
from orderbridge.demo.config import DEMO_CREDENTIALS
from orderbridge.demo.scenario import Scenario, write_finance_csv
from orderbridge.demo.simulators import SHANGHAI, Record, SimulatedERP, SimulatedWMS, erp_time, wms_time
from orderbridge.reconciler.engine import PassResult, Reconciler
from orderbridge.scheduler import sync as sync_module
from orderbridge.scheduler.sync import SyncResult, sync_system
from orderbridge.storage import observations, tables
from orderbridge.storage.db import Store

P = ParamSpec("P")
R = TypeVar("R")

SYSTEMS = ("erp", "wms", "finance")
REST_SYSTEMS = ("erp", "wms")
ERP_ID_BASE = 1_000_000
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BENCH_DB = "orderbridge_bench"
CHANGED_PERCENT = 1.0
START = time.perf_counter()

# The demo's ERP, WMS and finance systems (orderbridge/demo/config.py), with the largest page sizes the
# simulators allow. Store URL is set by the benchmark, not by this file.
CONFIG = r"""
store: {url: "sqlite:///unused.db"}
systems:
  erp:
    type: rest
    base_url: "@ERP_URL@"
    auth: {bearer: "@ERP_TOKEN@"}
    list:
      path: /api/v1/sale-orders
      params: {modified_since: "{cursor}"}
      records: data.items
      paging: {style: page, param: page, size_param: page_size, size: 100}
    cursor: {field: modified, overlap: 5m, sorted: true}
    errors: {field: code, ok: [0], message: message}
    timezone: Asia/Shanghai
    order_id: {field: bill_no, pattern: 'SO-\d{4}-(\d+)', format: 'SO-{0:0>6}'}
    status:
      dimension: fulfillment
      field: status
      map: {草稿: placed, 已审核: approved, 备货中: preparing, 已发货: shipped, 已签收: delivered,
            已作废: cancelled}
    fields: {record_id: id, external_ref: customer_po, updated: modified, ordered_qty: qty,
             order_amount: amount, currency: currency}
  wms:
    type: rest
    base_url: "@WMS_URL@"
    auth: {api_key: {header: X-Api-Key, value: "@WMS_KEY@"}}
    list:
      path: /v2/outbound-orders
      params: {updated_after: "{cursor}"}
      records: data
      paging: {style: cursor, next: next_cursor, param: cursor, size_param: limit, size: 200}
    cursor: {field: updated_at, overlap: 5m, sorted: true}
    order_id: {field: order_ref, strip_prefix: [XSDD], format: 'SO-{0:0>6}'}
    status:
      dimension: fulfillment
      field: status
      map: {NEW: approved, ALLOCATED: preparing, PICKING: preparing, PACKED: ready_to_ship,
            SHIPPED: shipped, DELIVERED: delivered, CANCELLED: cancelled}
    fields: {record_id: wms_id, updated: updated_at, ordered_qty: qty_ordered, shipped_qty: qty_shipped,
             links: {tracking_number: tracking_no}}
    link_by: [tracking_number]
  finance:
    type: spreadsheet
    path: finance/invoices.csv
    timezone: Asia/Shanghai
    columns: {order: order_no, billing: invoice_status, invoiced: invoiced_amount, paid: paid_amount,
              currency: currency, updated: updated_at}
    order_id: {field: order, pattern: '^(?:#|SO\s*/\s*)(\d+)$', format: 'SO-{0:0>6}'}
    status: {dimension: billing, field: billing, map: {unbilled: unbilled, invoiced: invoiced, paid: paid}}
    fields: {updated: updated, invoiced_amount: invoiced, paid_amount: paid, currency: currency}
reconcile:
  authority: {fulfillment: wms, billing: finance}
  grace: {default: 30m}
  sla: {preparing: [1d, 3d]}
  expect: [{system: wms, after: approved, within: 2h}]
"""


# -- progress ------------------------------------------------------------------------------------------


def say(message: str) -> None:
    print(f"[{time.perf_counter() - START:7.1f}s] {message}", flush=True)


class Ticker:
    """Prints `label: done/total` at most every `every` seconds."""

    def __init__(self, label: str, every: float = 3.0) -> None:
        self.label, self.every, self.last = label, every, time.perf_counter()

    def __call__(self, done: int, total: int | None = None) -> None:
        if time.perf_counter() - self.last >= self.every:
            self.last = time.perf_counter()
            say(f"  {self.label}: {done}" + (f"/{total}" if total else ""))


# -- the data set --------------------------------------------------------------------------------------

ERP_STATUSES = ("草稿", "已审核", "备货中", "已发货", "已签收", "已作废")
ERP_WEIGHTS = (3, 10, 27, 40, 15, 5)
WMS_OF = {
    "已审核": "NEW",
    "备货中": "PICKING",
    "已发货": "SHIPPED",
    "已签收": "DELIVERED",
    "已作废": "CANCELLED",
}
ERP_NEXT = {"已审核": "备货中", "备货中": "已发货", "已发货": "已签收"}
WMS_NEXT = {"NEW": "PICKING", "PICKING": "SHIPPED", "SHIPPED": "DELIVERED"}


@dataclass
class Dataset:
    """N orders as the ERP, the WMS and the finance export see them, with a realistic share of problems:
    WMS ahead of the ERP, unmapped statuses, short shipments, amount mismatches, orders missing from
    the WMS, orders stuck in preparing past their SLA, orphan WMS records."""

    now: datetime
    erp: dict[int, Record]
    wms: dict[int, Record]
    orphans: list[Record]
    finance: list[dict[str, str]]
    movable: list[int]  # orders whose ERP and WMS status can advance one step, shuffled

    def wms_records(self) -> list[Record]:
        return [*self.wms.values(), *self.orphans]

    def advance(self, numbers: Sequence[int], at: datetime) -> tuple[list[tuple[Any, Record]], ...]:
        """Move `numbers` one step on in both systems at `at`; the changes for the simulators."""
        erp_changes: list[tuple[Any, Record]] = []
        wms_changes: list[tuple[Any, Record]] = []
        for number in numbers:
            erp, wms = self.erp[number], self.wms[number]
            erp_update: Record = {"status": ERP_NEXT[erp["status"]], "modified": erp_time(at)}
            wms_status = WMS_NEXT.get(wms["status"], "SHIPPED")
            wms_update: Record = {"status": wms_status, "updated_at": wms_time(at)}
            if wms_status == "SHIPPED":
                wms_update |= {"qty_shipped": wms["qty_ordered"], "tracking_no": f"SF{number:010d}"}
            erp.update(erp_update)
            wms.update(wms_update)
            erp_changes.append((erp["id"], erp_update))
            wms_changes.append((wms["wms_id"], wms_update))
        return erp_changes, wms_changes


def build_dataset(orders: int, now: datetime, orphans: int | None = None, seed: int = 42) -> Dataset:
    rng = random.Random(seed)
    erp: dict[int, Record] = {}
    wms: dict[int, Record] = {}
    finance: list[dict[str, str]] = []
    for number in range(1, orders + 1):
        at = now - timedelta(seconds=rng.randint(3600, 10 * 86400))
        status = rng.choices(ERP_STATUSES, weights=ERP_WEIGHTS)[0]
        qty, price = rng.randint(1, 50), rng.randint(10, 500)
        amount = f"{qty * price}.00"
        erp[number] = {
            "id": ERP_ID_BASE + number,
            "bill_no": f"SO-{now.year}-{number:04d}",
            "status": status,
            "modified": erp_time(at),
            "amount": amount,
            "currency": "CNY",
            "qty": qty,
            "customer_po": f"PO-{number}",
        }
        if status == "草稿" or rng.random() < 0.02:
            continue  # never reached the warehouse: `missing` once its window closes
        wms_status = WMS_OF[status]
        roll = rng.random()
        if roll < 0.02 and status in ("已审核", "备货中"):
            wms_status = "SHIPPED"  # the ERP lags the warehouse
        elif roll < 0.025:
            wms_status = "QC_HOLD"  # unmapped
        shipped = qty if wms_status in ("SHIPPED", "DELIVERED") else 0
        if shipped > 1 and rng.random() < 0.01:
            shipped -= 1  # short shipment
        wms[number] = {
            "wms_id": f"OB-{number}",
            "order_ref": f"XSDD{number:06d}",
            "status": wms_status,
            "updated_at": wms_time(at - timedelta(minutes=rng.randint(0, 120))),
            "qty_ordered": qty,
            "qty_shipped": shipped,
            "tracking_no": f"SF{number:010d}" if shipped else None,
        }
        if status in ("已发货", "已签收") and rng.random() < 0.7:
            invoiced = amount if rng.random() > 0.01 else f"{qty * price + 10}.00"
            paid = rng.random() < 0.5
            finance.append(
                {
                    "order_no": f"#{number}",
                    "invoice_status": "paid" if paid else "invoiced",
                    "invoiced_amount": invoiced,
                    "paid_amount": invoiced if paid else "",
                    "currency": "CNY",
                    "updated_at": (at + timedelta(hours=2))
                    .astimezone(SHANGHAI)
                    .isoformat(timespec="seconds"),
                }
            )
    orphan_records = [
        {
            "wms_id": f"OB-X{i}",
            "order_ref": None,
            "status": "SHIPPED",
            "updated_at": wms_time(now - timedelta(hours=5, minutes=i)),
            "qty_ordered": 1,
            "qty_shipped": 1,
            "tracking_no": f"SFX{i:08d}",
        }
        for i in range(max(1, orders // 500) if orphans is None else orphans)
    ]
    movable = [n for n, r in erp.items() if r["status"] in ERP_NEXT and n in wms]
    rng.shuffle(movable)
    return Dataset(now, erp, wms, orphan_records, finance, movable)


# -- the simulated sources, in a child process ---------------------------------------------------------


class _Timed:
    """Mixin: total seconds spent answering requests, and how many."""

    seconds = 0.0
    served = 0

    def handle(self, method: str, target: str, headers: Mapping[str, str]) -> simulators.Reply:
        started = time.perf_counter()
        try:
            return super().handle(method, target, headers)  # type: ignore[misc, no-any-return]
        finally:
            self.seconds += time.perf_counter() - started
            self.served += 1


class TimedERP(_Timed, SimulatedERP):
    pass


class TimedWMS(_Timed, SimulatedWMS):
    pass


def _serve(pipe: Pipe, raw: bool) -> None:
    if not raw:
        parse = functools.lru_cache(maxsize=None)(
            lambda modified: datetime.strptime(modified, simulators.ERP_TIME_FORMAT).replace(tzinfo=SHANGHAI)
        )
        simulators._erp_modified = lambda record: parse(str(record["modified"]))
    erp, wms = TimedERP().start(), TimedWMS().start()
    pipe.send((erp.url, wms.url))
    while True:
        command, argument = pipe.recv()
        if command == "load":
            erp.set_records(argument[0])
            wms.set_records(argument[1])
            pipe.send(None)
        elif command == "update":
            for record_id, changes in argument[0]:
                erp.update_record(record_id, **changes)
            for record_id, changes in argument[1]:
                wms.update_record(record_id, **changes)
            pipe.send(None)
        elif command == "stats":
            pipe.send({"erp": (erp.seconds, erp.served), "wms": (wms.seconds, wms.served)})
            erp.seconds = wms.seconds = 0.0
            erp.served = wms.served = 0
        else:
            break
    erp.stop()
    wms.stop()
    pipe.send(None)


class Sources:
    """The simulated ERP and WMS, real HTTP servers in a child process."""

    def __init__(self, raw: bool) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, raw), name="bench-sources", daemon=True)
        self.process.start()
        self.erp_url, self.wms_url = self.pipe.recv()

    def call(self, command: str, *argument: Any) -> Any:
        self.pipe.send((command, argument))
        return self.pipe.recv()

    def load(self, data: Dataset) -> None:
        self.call("load", list(data.erp.values()), data.wms_records())

    def stats(self) -> dict[str, tuple[float, int]]:
        result: dict[str, tuple[float, int]] = self.call("stats")
        return result

    def close(self) -> None:
        self.call("stop")
        self.process.join(timeout=10)


# -- instrumentation -----------------------------------------------------------------------------------


class Timers:
    """Seconds spent in named functions of the real pipeline, patched in for the benchmark."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)

    def wrap(self, name: str, fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def timed(*args: P.args, **kwargs: P.kwargs) -> R:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started

        return timed

    def install(self) -> None:
        # sync.py looks these names up at call time, so wrapping them here times the real calls.
        setattr(sync_module, "ingest", self.wrap("ingest", observations.ingest))  # noqa: B010
        setattr(sync_module, "map_batch", self.wrap("map", sync_module.map_batch))  # noqa: B010
        setattr(HttpApi, "send", self.wrap("http", HttpApi.send))  # noqa: B010

    def take(self) -> dict[str, float]:
        taken = dict(self.seconds)
        self.seconds.clear()
        return taken


TIMERS = Timers()
_WRITE = re.compile(r'^\s*(INSERT INTO|UPDATE|DELETE FROM)\s+"?(\w+)', re.IGNORECASE)
_FROM = re.compile(r'\bFROM\s+"?(\w+)', re.IGNORECASE)


@dataclass
class SqlUse:
    """What one measured step asked of the database."""

    total: int = 0
    writes: dict[str, int] = field(default_factory=dict)  # "upsert order_links rows" -> count
    timing: dict[str, tuple[int, float]] = field(default_factory=dict)  # statement kind -> (count, seconds)

    def slowest(self, top: int = 4) -> str:
        ranked = sorted(self.timing.items(), key=lambda item: -item[1][1])[:top]
        return "; ".join(
            f"{kind} ×{n}: {sec:.2f} s ({sec / n * 1000:.2f} ms each)" for kind, (n, sec) in ranked
        )


class Statements:
    """Counts the SQL statements an engine executes and the time each kind takes (statement kind: verb and
    table), and per table the write statements and the rows they affected (the driver's rowcount: an upsert
    that rewrites a row with the same values counts)."""

    def __init__(self, engine: Engine) -> None:
        self.use = SqlUse()
        self._started: dict[int, float] = {}
        self._writes: Counter[str] = Counter()
        self._timing: defaultdict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, _conn: Any, cursor: Any, *_: Any) -> None:
        self._started[id(cursor)] = time.perf_counter()

    def _after(self, _conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        elapsed = time.perf_counter() - self._started.pop(id(cursor), time.perf_counter())
        self.use.total += 1
        match = _WRITE.match(statement)
        if match:
            verb = "upsert" if "ON CONFLICT" in statement.upper() else match.group(1).split()[0].lower()
            kind = f"{verb} {match.group(2)}"
            self._writes[f"{kind} statements"] += 1
            self._writes[f"{kind} rows"] += max(0, cursor.rowcount or 0)
        else:
            source = _FROM.search(statement)
            head = statement.split(None, 1)[0].lower() if statement.strip() else "?"
            kind = f"{head} {source.group(1)}" if source else head
        timing = self._timing[kind]
        timing[0] += 1
        timing[1] += elapsed

    def take(self) -> SqlUse:
        taken = self.use
        taken.writes = dict(sorted(self._writes.items()))
        taken.timing = {kind: (int(n), float(sec)) for kind, (n, sec) in self._timing.items()}
        self.use = SqlUse()
        self._writes.clear()
        self._timing.clear()
        return taken


# -- stores --------------------------------------------------------------------------------------------


class Backend:
    """Fresh stores of one kind: a SQLite file in a scratch folder, or a scratch PostgreSQL database."""

    def __init__(self, kind: str, workdir: Path, pg_url: str) -> None:
        self.kind, self.workdir = kind, workdir
        self.admin_url = make_url(pg_url).set(drivername="postgresql+psycopg")
        self.url = (
            f"sqlite:///{workdir / 'bench.db'}"
            if kind == "sqlite"
            else self.admin_url.set(database=BENCH_DB).render_as_string(hide_password=False)
        )

    def fresh(self) -> Store:
        self.drop()
        if self.kind == "postgres":
            self._admin(f'CREATE DATABASE "{BENCH_DB}"')
        return Store(self.url)

    def drop(self) -> None:
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                (self.workdir / f"bench.db{suffix}").unlink(missing_ok=True)
        else:
            self._admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')

    def _admin(self, statement: str) -> None:
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(statement))
        finally:
            engine.dispose()


def wal_position(store: Store) -> int | None:
    """PostgreSQL's write-ahead log position in bytes (None on SQLite)."""
    if store.dialect != "postgresql":
        return None
    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")).scalar_one())


def table_rows(store: Store) -> dict[str, int]:
    names = ("observations", "status_history", "order_links", "reconcile_queue", "discrepancies")
    with store.engine.connect() as conn:
        return {
            name: int(
                conn.execute(select(func.count()).select_from(tables.metadata.tables[name])).scalar_one()
            )
            for name in names
        }


# -- measurements --------------------------------------------------------------------------------------


@dataclass
class SyncRun:
    system: str
    records: int
    batches: int
    seconds: float
    new: int
    changed: int
    unchanged: int
    parts: dict[str, float] = field(default_factory=dict)
    server: float = 0.0
    sql: SqlUse = field(default_factory=SqlUse)
    wal_bytes: int | None = None  # PostgreSQL only


@dataclass
class PassRun:
    evaluated: int
    seconds: float
    statements: int
    changes: int
    sql: SqlUse = field(default_factory=SqlUse)


@dataclass
class Results:
    kind: str
    ingest: list[list[SyncRun]] = field(default_factory=list)  # per repetition, per system
    first_pass: PassRun | None = None
    full: list[PassRun] = field(default_factory=list)
    idle: list[PassRun] = field(default_factory=list)
    changed_sync: list[list[SyncRun]] = field(default_factory=list)
    incremental: list[PassRun] = field(default_factory=list)
    expired: PassRun | None = None
    repoll: list[list[SyncRun]] = field(default_factory=list)
    rows_before_repoll: dict[str, int] = field(default_factory=dict)
    rows_after_repoll: dict[str, int] = field(default_factory=dict)
    rows_after_ingest: dict[str, int] = field(default_factory=dict)
    open_by_rule: dict[str, int] = field(default_factory=dict)


class Bench:
    def __init__(self, args: argparse.Namespace, data: Dataset, sources: Sources, workdir: Path) -> None:
        self.args, self.data, self.sources, self.workdir = args, data, sources, workdir
        self.now = data.now
        config = (
            CONFIG.replace("@ERP_URL@", sources.erp_url)
            .replace("@WMS_URL@", sources.wms_url)
            .replace("@ERP_TOKEN@", DEMO_CREDENTIALS.erp_token)
            .replace("@WMS_KEY@", DEMO_CREDENTIALS.wms_api_key)
        )
        (workdir / "orderbridge.yaml").write_text(config, encoding="utf-8")
        write_finance_csv(
            Scenario(now=data.now, finance_rows=data.finance), workdir / "finance" / "invoices.csv"
        )
        self.loaded: LoadedConfig = load_config(workdir / "orderbridge.yaml")
        self.context = ConnectorContext(base_dir=self.loaded.base_dir)

    def sync(self, store: Store, statements: Statements, systems: Sequence[str], label: str) -> list[SyncRun]:
        runs = []
        self.sources.stats()
        for name in systems:
            ticker = Ticker(f"{label} {name}")

            def progress(batch: Batch, ticker: Ticker = ticker) -> None:
                ticker(batch.done or 0, batch.total)

            TIMERS.take()
            statements.take()
            wal = wal_position(store)
            started = time.perf_counter()
            result: SyncResult = sync_system(
                store, name, self.loaded.config.systems[name], self.context, on_batch=progress
            )
            seconds = time.perf_counter() - started
            parts = TIMERS.take()
            server = self.sources.stats().get(name, (0.0, 0))[0]
            wal_after = wal_position(store)
            runs.append(
                SyncRun(
                    name,
                    result.records,
                    result.batches,
                    seconds,
                    result.new,
                    result.changed,
                    result.unchanged,
                    parts,
                    server,
                    statements.take(),
                    None if wal is None or wal_after is None else wal_after - wal,
                )
            )
            say(f"  {label} {name}: {result.records} records in {seconds:.2f} s")
        return runs

    def reconcile(
        self, reconciler: Reconciler, statements: Statements, label: str, *, full: bool = False, **kw: Any
    ) -> PassRun:
        statements.take()
        started = time.perf_counter()
        result: PassResult = reconciler.run(kw.get("now"), full=full, progress=Ticker(label))
        seconds = time.perf_counter() - started
        sql = statements.take()
        say(f"  {label}: {result.evaluated} orders evaluated in {seconds:.3f} s, {sql.total} statements")
        return PassRun(result.evaluated, seconds, sql.total, len(result.changes), sql)

    def analyze(self, store: Store) -> None:
        """With --analyze, refresh PostgreSQL's planner statistics, as autovacuum would after a bulk change
        (SQLite has no autovacuum and orderbridge never runs ANALYZE there, so it is left alone)."""
        if self.args.analyze and store.dialect == "postgresql":
            say(f"{store.dialect}: ANALYZE")
            with store.begin() as conn:
                conn.exec_driver_sql("ANALYZE")

    def run(self, backend: Backend) -> Results:
        results = Results(backend.kind)
        repeat = self.args.repeat
        self.data = build_dataset(
            self.args.orders, self.now, self.args.orphans
        )  # the same data for every store
        store: Store | None = None
        statements: Statements | None = None
        # 1. ingest into an empty store, R times; the last store is kept for what follows
        for rep in range(repeat):
            if store is not None:
                store.close()
            store = backend.fresh()
            statements = Statements(store.engine)
            self.sources.load(self.data)
            say(f"{backend.kind}: ingest {rep + 1}/{repeat}")
            results.ingest.append(self.sync(store, statements, SYSTEMS, "ingest"))
        assert store is not None and statements is not None
        self.analyze(store)
        results.rows_after_ingest = table_rows(store)
        config = self.loaded.config
        reconciler = Reconciler(
            store, config.reconcile, tuple(config.systems), {n: s.link_by for n, s in config.systems.items()}
        )
        # 2. reconcile: everything is queued after the first load
        say(f"{backend.kind}: reconcile")
        results.first_pass = self.reconcile(reconciler, statements, "first pass (all queued)")
        with store.engine.connect() as conn:
            rows = conn.execute(
                select(tables.discrepancies.c.rule, func.count())
                .where(tables.discrepancies.c.status == "open")
                .group_by(tables.discrepancies.c.rule)
            )
            results.open_by_rule = {rule: int(count) for rule, count in rows}
        self.analyze(store)  # the first pass filled the discrepancies table
        for rep in range(repeat):
            results.full.append(self.reconcile(reconciler, statements, f"full pass {rep + 1}", full=True))
        for rep in range(repeat):
            results.idle.append(self.reconcile(reconciler, statements, f"idle pass {rep + 1}"))
        changed = max(1, round(len(self.data.erp) * CHANGED_PERCENT / 100))
        for rep in range(repeat):
            numbers = self.data.movable[rep * changed : (rep + 1) * changed]
            erp_changes, wms_changes = self.data.advance(numbers, datetime.now(UTC))
            self.sources.call("update", erp_changes, wms_changes)
            results.changed_sync.append(
                self.sync(store, statements, REST_SYSTEMS, f"sync {len(numbers)} changed")
            )
            results.incremental.append(
                self.reconcile(reconciler, statements, f"incremental pass {rep + 1} ({len(numbers)} changed)")
            )
        # 3. re-poll everything with nothing changed: forget the cursors, read every source again
        say(f"{backend.kind}: re-poll of unchanged data")
        results.rows_before_repoll = table_rows(store)
        for rep in range(repeat):
            with store.begin() as conn:
                conn.execute(delete(tables.cursors))
            results.repoll.append(self.sync(store, statements, SYSTEMS, f"re-poll {rep + 1}"))
        results.rows_after_repoll = table_rows(store)
        # 2b. a day later: the deadlines (grace, SLA tiers, expected arrivals) of many orders expire
        later = datetime.now(UTC) + timedelta(days=1)
        results.expired = self.reconcile(reconciler, statements, "pass one day later", now=later)
        store.close()
        backend.drop()
        return results


# -- the report ----------------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def machine() -> list[str]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as handle:
        kib = int(next(line for line in handle if line.startswith("MemTotal")).split()[1])
    pg = "not used"
    try:
        engine = create_engine(make_url(ARGS_PG_URL[0]).set(drivername="postgresql+psycopg"))
        with engine.connect() as conn:
            pg = str(conn.execute(text("SHOW server_version")).scalar_one())
            pg += f" (autovacuum {conn.execute(text('SHOW autovacuum')).scalar_one()})"
        engine.dispose()
    except Exception as exc:  # the report says why instead of failing at the end
        pg = f"unreachable ({type(exc).__name__})"
    return [
        f"- date: {STARTED_AT:%Y-%m-%d %H:%M} UTC, orderbridge at commit {COMMIT[0]}",
        f"- CPU: {cpu}, {os.cpu_count()} cores; RAM {kib / 1024 / 1024:.1f} GiB",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, PostgreSQL {pg}",
        f"- OS: {platform.platform()}",
    ]


ARGS_PG_URL: list[str] = [DEFAULT_PG_URL]
COMMIT: list[str] = ["unknown"]
STARTED_AT = datetime.now(UTC)


def git_commit() -> str:
    """The commit the package was imported from, and whether orderbridge/ had uncommitted changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "orderbridge"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head or 'unknown'}{' + uncommitted changes' if dirty else ''}"


def ingest_table(all_results: list[Results]) -> list[str]:
    lines = [
        "| store | system | records | pages | seconds | records/s | HTTP wait | of which simulator"
        " | map | ingest (SQL) | other | records/s without HTTP wait |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for results in all_results:
        for index, system in enumerate((*SYSTEMS, "all")):
            runs = [rep[index] for rep in results.ingest] if system != "all" else []
            if system == "all":
                seconds = median([sum(r.seconds for r in rep) for rep in results.ingest])
                http = median([sum(r.parts.get("http", 0.0) for r in rep) for rep in results.ingest])
                records = sum(r.records for r in results.ingest[0])
                lines.append(
                    f"| {results.kind} | **all** | {records} | | {seconds:.2f} | **{records / seconds:,.0f}**"
                    f" | {http:.2f} | | | | | **{records / (seconds - http):,.0f}** |"
                )
                continue
            seconds = median([r.seconds for r in runs])
            part = {k: median([r.parts.get(k, 0.0) for r in runs]) for k in ("http", "map", "ingest")}
            other = seconds - sum(part.values())
            lines.append(
                f"| {results.kind} | {system} | {runs[0].records} | {runs[0].batches} | {seconds:.2f}"
                f" | {runs[0].records / seconds:,.0f} | {part['http']:.2f}"
                f" | {median([r.server for r in runs]):.2f}"
                f" | {part['map']:.2f} | {part['ingest']:.2f} | {other:.2f}"
                f" | {runs[0].records / (seconds - part['http']):,.0f} |"
            )
    return lines


def pass_line(kind: str, label: str, runs: Sequence[PassRun | None]) -> str:
    real = [r for r in runs if r is not None]
    seconds = median([r.seconds for r in real])
    evaluated = median([r.evaluated for r in real])
    statements = median([r.statements for r in real])
    per = f"{seconds / evaluated * 1000:.2f}" if evaluated else "–"
    return f"| {kind} | {label} | {evaluated:.0f} | {seconds:.3f} | {per} | {statements:.0f} |"


def reconcile_table(all_results: list[Results], orders: int) -> list[str]:
    lines = [
        "| store | pass | orders evaluated | seconds | ms per evaluated order | SQL statements |",
        "|---|---|--:|--:|--:|--:|",
    ]
    for r in all_results:
        changed = max(1, round(orders * CHANGED_PERCENT / 100))
        lines += [
            pass_line(r.kind, "first pass after the load (every order queued)", [r.first_pass]),
            pass_line(r.kind, "`--full` pass", r.full),
            pass_line(r.kind, f"incremental, {changed} orders ({CHANGED_PERCENT:g}%) changed", r.incremental),
            pass_line(r.kind, "incremental, nothing changed", r.idle),
            pass_line(r.kind, "incremental, clock one day later (deadlines expired)", [r.expired]),
        ]
    return lines


def changed_sync_table(all_results: list[Results]) -> list[str]:
    lines = [
        "| store | system | records read | new | changed | unchanged (overlap) | seconds |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for r in all_results:
        for index, system in enumerate(REST_SYSTEMS):
            runs = [rep[index] for rep in r.changed_sync]
            lines.append(
                f"| {r.kind} | {system} | {median([x.records for x in runs]):.0f}"
                f" | {median([x.new for x in runs]):.0f}"
                f" | {median([x.changed for x in runs]):.0f} | {median([x.unchanged for x in runs]):.0f}"
                f" | {median([x.seconds for x in runs]):.3f} |"
            )
    return lines


def _kib(size: int | None) -> str:
    return "–" if size is None else f"{size / 1024:,.1f} KiB"


def _writes(writes: dict[str, int]) -> str:
    """ "upsert cursors: 11 statements, 11 rows; ..." from the counters of Statements."""
    targets = sorted({k.rsplit(" ", 1)[0] for k in writes})
    shown = [
        f"{t}: {writes.get(t + ' statements', 0)} stmts, {writes.get(t + ' rows', 0)} rows" for t in targets
    ]
    return "; ".join(shown) or "none"


def repoll_table(all_results: list[Results]) -> list[str]:
    lines = [
        "| store | system | records read | unchanged | new + changed | seconds | records/s | HTTP wait"
        " | ingest (SQL) | PostgreSQL WAL | statements written |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for r in all_results:
        for index, system in enumerate(SYSTEMS):
            runs = [rep[index] for rep in r.repoll]
            seconds = median([x.seconds for x in runs])
            writes = _writes(runs[-1].sql.writes)
            lines.append(
                f"| {r.kind} | {system} | {runs[0].records} | {runs[0].unchanged}"
                f" | {runs[0].new + runs[0].changed}"
                f" | {seconds:.2f} | {runs[0].records / seconds:,.0f}"
                f" | {median([x.parts.get('http', 0.0) for x in runs]):.2f}"
                f" | {median([x.parts.get('ingest', 0.0) for x in runs]):.2f} | {_kib(runs[-1].wal_bytes)}"
                f" | {writes} |"
            )
        same = r.rows_before_repoll == r.rows_after_repoll
        lines.append(
            f"| {r.kind} | table rows before → after | | | | | | | | | {'unchanged' if same else 'CHANGED'}: "
            + ", ".join(
                f"{k} {r.rows_before_repoll[k]}→{r.rows_after_repoll[k]}" for k in r.rows_before_repoll
            )
            + " |"
        )
    return lines


def sql_table(all_results: list[Results]) -> list[str]:
    lines = ["| store | step | slowest statement kinds (count: total time, per statement) |", "|---|---|---|"]
    for r in all_results:
        steps: list[tuple[str, SqlUse | None]] = [
            ("ingest erp (last repetition)", r.ingest[-1][0].sql if r.ingest else None),
            ("ingest wms (last repetition)", r.ingest[-1][1].sql if r.ingest else None),
            ("re-poll erp (last repetition)", r.repoll[-1][0].sql if r.repoll else None),
            ("`--full` pass (last)", r.full[-1].sql if r.full else None),
            ("incremental pass, 1% changed (last)", r.incremental[-1].sql if r.incremental else None),
            ("incremental pass, nothing changed (last)", r.idle[-1].sql if r.idle else None),
        ]
        lines += [f"| {r.kind} | {label} | {use.slowest()} |" for label, use in steps if use is not None]
    return lines


def report(all_results: list[Results], args: argparse.Namespace, data: Dataset) -> str:
    lines = ["## Machine", "", *machine(), ""]
    lines += [
        f"Run: `python bench/run.py --orders {args.orders} --store {args.store} --repeat {args.repeat}"
        + (" --raw-simulator" if args.raw_simulator else "")
        + (" --analyze" if args.analyze else "")
        + (f" --orphans {args.orphans}" if args.orphans is not None else "")
        + f"`; medians of {args.repeat} repetitions.",
        f"Data set: {len(data.erp)} ERP orders, {len(data.wms_records())} WMS records"
        f" ({len(data.orphans)} orphans), {len(data.finance)} finance CSV rows.",
        "",
        "### 1. Ingest into an empty store",
        "",
        *ingest_table(all_results),
        "",
        "### 2. Reconcile",
        "",
        *reconcile_table(all_results, args.orders),
        "",
        "Incremental sync before each incremental pass (1% of orders changed in the ERP and the WMS):",
        "",
        *changed_sync_table(all_results),
        "",
        "Open discrepancies after the first pass: "
        + "; ".join(
            f"{r.kind}: " + ", ".join(f"{k} {v}" for k, v in sorted(r.open_by_rule.items()))
            for r in all_results
        ),
        "",
        "### 3. Re-poll of unchanged data (cursors forgotten, every source read again)",
        "",
        *repoll_table(all_results),
        "",
        "### Where the SQL time goes",
        "",
        *sql_table(all_results),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=20_000, help="orders in the data set (default 20000)")
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per measurement (default 3)")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("ORDERBRIDGE_BENCH_PG_URL", DEFAULT_PG_URL),
        help=f"PostgreSQL server to create the scratch database {BENCH_DB!r} on",
    )
    parser.add_argument(
        "--orphans", type=int, help="WMS records that link to no order (default: 0.2%% of --orders)"
    )
    parser.add_argument("--raw-simulator", action="store_true", help="do not memoise the ERP's time parsing")
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="PostgreSQL: ANALYZE after the load and after the first pass, as autovacuum would",
    )
    parser.add_argument("--report", type=Path, help="also write the results as Markdown to this file")
    args = parser.parse_args()
    ARGS_PG_URL[0] = args.pg_url
    COMMIT[0] = git_commit()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))  # errors only
    TIMERS.install()
    kinds = ("sqlite", "postgres") if args.store == "both" else (args.store,)
    now = datetime.now(UTC).replace(microsecond=0)
    say(f"building a data set of {args.orders} orders")
    data = build_dataset(args.orders, now, args.orphans)
    workdir = Path(tempfile.mkdtemp(prefix="orderbridge-bench-"))
    sources = Sources(args.raw_simulator)
    all_results = []
    try:
        bench = Bench(args, data, sources, workdir)
        for kind in kinds:
            all_results.append(bench.run(Backend(kind, workdir, args.pg_url)))
    finally:
        sources.close()
        shutil.rmtree(workdir, ignore_errors=True)
    text_report = report(all_results, args, data)
    print()
    print(text_report)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(text_report, encoding="utf-8")
        say(f"wrote {args.report}")


if __name__ == "__main__":
    main()
