"""ingest: records/s of orderbridge's ingest (native record -> SourceRecord -> Observation -> store,
one transaction per page with its cursor, as a sync commits it) against plain batched upserts of the
same rows, precomputed, through the database driver alone, into the same schema, in the same run.

    python3 tasks.py bench ingest --store both                   # the scenario: 200,000 records
    .venv/bin/python -m bench.ingest --size 20000 --store sqlite [--profile bench/profiles/ingest-sqlite.txt]

The reference writes every row orderbridge writes for a page (the observations, their status history,
their order links, the reconcile queue entries and the cursor), with `executemany` of
`INSERT ... ON CONFLICT DO UPDATE`, one transaction per page; its rows are built before the clock
starts, with no orderbridge code.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import io
import json
import os
import pstats
import random
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from bench.machine import DEFAULT_PG_URL, commit
from bench.results import Outcome, Row
from bench.scenario import Options, Scenario
from bench.stores import kinds, scratch

PAGE = 1000
SEED = 12
BASE = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)
STATUSES = {"NEW": "approved", "PICKING": "preparing", "PACKED": "ready_to_ship", "SHIPPED": "shipped"}
SYSTEM = "erp"

CONFIG = """
store: {url: "sqlite:///unused.db"}
systems:
  erp:
    type: rest
    base_url: http://127.0.0.1:9
    list: {path: /orders, records: data.items}
    timezone: Asia/Shanghai
    order_id: {field: order_no, pattern: 'SO-(\\d+)', format: 'SO-{0:0>7}'}
    fields: {record_id: id, updated: updated_at, ordered_qty: qty, order_amount: amount,
             currency: currency, external_ref: customer_po, links: {tracking_number: tracking_no}}
    status: {dimension: fulfillment, field: status, map: {NEW: approved, PICKING: preparing,
             PACKED: ready_to_ship, SHIPPED: shipped}}
"""


# -- the data ----------------------------------------------------------------------------------------


def native(index: int, rng: random.Random) -> dict[str, Any]:
    """One ERP order as its API lists it: local time without a zone, money as text, a tracking number
    once shipped, a few lines."""
    status = rng.choice(list(STATUSES))
    moment = BASE + timedelta(seconds=index)
    lines = [
        {
            "sku": f"SKU-{rng.randrange(10_000):05d}",
            "qty": rng.randrange(1, 20),
            "price": f"{rng.randrange(100, 99_999) / 100:.2f}",
        }
        for _ in range(rng.randrange(1, 4))
    ]
    return {
        "id": index,
        "order_no": f"SO-{index:07d}",
        "status": status,
        "updated_at": moment.strftime("%Y-%m-%d %H:%M:%S"),
        "qty": sum(line["qty"] for line in lines),
        "amount": f"{rng.randrange(1_000, 9_999_999) / 100:.2f}",
        "currency": "CNY",
        "customer_po": f"PO{rng.randrange(10**8):08d}" if rng.random() < 0.5 else None,
        "tracking_no": f"SF{rng.randrange(10**12):012d}" if status == "SHIPPED" else "",
        "customer": {
            "name": rng.choice(["上海贸易有限公司", "Acme GmbH", "Nordic AB"]),
            "code": f"C{rng.randrange(999):03d}",
        },
        "lines": lines,
    }


def pages(size: int, seed: int = SEED) -> list[list[dict[str, Any]]]:
    rng = random.Random(seed)
    records = [native(i, rng) for i in range(1, size + 1)]
    return [records[start : start + PAGE] for start in range(0, size, PAGE)]


# -- orderbridge -------------------------------------------------------------------------------------


def run_orderbridge(url: str, data: list[list[dict[str, Any]]]) -> tuple[float, float]:
    """Seconds (wall clock, CPU of this process) for orderbridge to ingest `data` page by page into the
    store at `url`."""
    from orderbridge.config.loader import parse_config
    from orderbridge.connectors.base import Batch, build_record
    from orderbridge.connectors.intake import map_batch
    from orderbridge.scheduler.sync import BatchWriter
    from orderbridge.storage.db import Store

    settings = parse_config(CONFIG).systems[SYSTEM]
    store = Store(url)
    writer = BatchWriter(store, SYSTEM, settings)
    started, cpu = time.perf_counter(), time.process_time()
    for number, page in enumerate(data, 1):
        records = [build_record(SYSTEM, item, settings) for item in page]
        batch = Batch(f"page {number}", records, cursor={"value": page[-1]["updated_at"], "page": number})
        items, problems = map_batch(batch, settings, NOW)
        written, _ = writer.commit(batch, items, problems, NOW)
        assert written.new == len(page), written
    seconds = time.perf_counter() - started, time.process_time() - cpu
    store.close()
    return seconds


# -- the reference: the same rows, through the driver ------------------------------------------------


@dataclass
class Rows:
    observations: list[tuple[Any, ...]]
    history: list[tuple[Any, ...]]
    links: list[tuple[Any, ...]]
    queue: list[tuple[Any, ...]]
    cursor: tuple[Any, ...]


SHANGHAI = timedelta(hours=8)


def reference_rows(data: list[list[dict[str, Any]]], dialect: str) -> list[Rows]:
    """Per page, the rows orderbridge writes for it, ready for the driver: JSON as text (compact, as
    orderbridge writes it), times as the store keeps them (SQLite: naive UTC text)."""

    def dump(value: Any) -> str:
        return orjson.dumps(value).decode()

    def when(moment: datetime) -> Any:
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect == "sqlite" else moment

    made = []
    now = when(NOW)
    for number, page in enumerate(data, 1):
        obs, history, links, queue = [], [], [], []
        for item in page:
            key = f"SO-{item['id']:07d}"
            at = when(datetime.fromisoformat(item["updated_at"]).replace(tzinfo=UTC) - SHANGHAI)
            status = STATUSES[item["status"]]
            statuses = {"fulfillment": {"status": status, "native": item["status"], "implied": False}}
            link = {"tracking_number": item["tracking_no"]} if item["tracking_no"] else {}
            raw = dump(item)
            digest = hashlib.sha256(raw.encode()).hexdigest()
            obs.append(
                (
                    SYSTEM, str(item["id"]), key, item["order_no"], item["customer_po"], dump(statuses),
                    dump({"status": item["status"]}), at, now, now,
                    dump({"ordered": str(item["qty"]), "shipped": None, "invoiced": None}),
                    dump({"order": item["amount"], "invoiced": None, "paid": None, "currency": "CNY"}),
                    dump(link), None, digest, raw, None, None,
                )
            )  # fmt: skip
            history.append((key, SYSTEM, str(item["id"]), "fulfillment", status, item["status"], at, now))
            links += [("tracking_number", v, key, SYSTEM, now) for v in link.values()]
            if item["customer_po"]:
                links.append(("external_ref", item["customer_po"], key, SYSTEM, now))
            queue.append((key, now, uuid.uuid4().hex))
        cursor = (SYSTEM, dump({"value": page[-1]["updated_at"], "page": number}), now)
        made.append(Rows(obs, history, links, queue, cursor))
    return made


OBSERVATION_COLUMNS = (
    "system, record_id, order_key, order_ref, external_ref, statuses, native_status, status_at, "
    "observed_at, changed_at, quantities, amounts, links, reason, content_hash, raw, scope, retired_at"
)
UPDATED = [c.strip() for c in OBSERVATION_COLUMNS.split(",")][2:]


def reference_statements(mark: str, json_cast: str) -> list[tuple[str, str]]:
    """(rows attribute, statement) per table, with the driver's parameter mark."""

    def marks(n: int, json_at: tuple[int, ...] = ()) -> str:
        return ", ".join(mark + (json_cast if i in json_at else "") for i in range(n))

    excluded = ", ".join(f"{c} = excluded.{c}" for c in UPDATED)
    return [
        (
            "observations",
            f"INSERT INTO observations ({OBSERVATION_COLUMNS}) VALUES ({marks(18, (5, 6, 10, 11, 12, 15))}) "
            f"ON CONFLICT (system, record_id) DO UPDATE SET {excluded}",
        ),
        (
            "history",
            "INSERT INTO status_history (order_key, system, record_id, dimension, status, native, status_at, "
            f"observed_at) VALUES ({marks(8)})",
        ),
        (
            "links",
            f"INSERT INTO order_links (link_type, value, order_key, system, updated_at) VALUES ({marks(5)}) "
            "ON CONFLICT (link_type, value) DO UPDATE SET order_key = excluded.order_key, "
            "system = excluded.system, updated_at = excluded.updated_at",
        ),
        (
            "queue",
            f"INSERT INTO reconcile_queue (order_key, due_at, token) VALUES ({marks(3)}) "
            "ON CONFLICT (order_key) DO UPDATE SET due_at = excluded.due_at, token = excluded.token",
        ),
    ]


CURSOR_SQL = (
    "INSERT INTO cursors (system, value, updated_at) VALUES ({m}, {m}{cast}, {m}) ON CONFLICT (system) "
    "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
)


def run_reference(url: str, rows: list[Rows]) -> tuple[float, float]:
    """Seconds (wall clock, CPU of this process) for plain driver `executemany` upserts of `rows`, one
    transaction per page."""
    from orderbridge.storage.db import Store

    Store(url).close()  # the schema, by orderbridge's migrations (not timed)
    conn: Any
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        statements, cursor_sql = reference_statements("?", ""), CURSOR_SQL.format(m="?", cast="")
    else:
        import psycopg

        conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)
        statements = reference_statements("%s", "::jsonb")
        cursor_sql = CURSOR_SQL.format(m="%s", cast="::jsonb")
    cur = conn.cursor()
    started, cpu = time.perf_counter(), time.process_time()
    for page in rows:
        cur.execute("BEGIN IMMEDIATE" if isinstance(conn, sqlite3.Connection) else "BEGIN")
        for attribute, sql in statements:
            values = getattr(page, attribute)
            if values:
                cur.executemany(sql, values)
        cur.execute(cursor_sql, page.cursor)
        cur.execute("COMMIT")
    seconds = time.perf_counter() - started, time.process_time() - cpu
    conn.close()
    return seconds


# -- the scenario ------------------------------------------------------------------------------------

TARGET_RATIO = 1 / 3
TARGET_SQLITE = 50_000  # records/s


def measure_one(kind: str, size: int, options: Options, profile: Path | None = None) -> dict[str, float]:
    """records/s of orderbridge and of the reference on fresh stores of `kind`; the reference runs
    before and after orderbridge and counts as the mean of both (the machine's load drifts)."""
    data = pages(size)
    rows = reference_rows(data, kind)
    # The daemon sets the collector before it syncs (orderbridge.scheduler.heap): its start-up heap
    # frozen (the modules a sync runs and the store's migrations, loaded here first by opening a store
    # as the daemon does), the young threshold raised. A sync holds one page at a time, so the
    # generated data held here must not make every garbage collection walk it either.
    import orderbridge.config.loader
    import orderbridge.scheduler.sync  # noqa: F401
    from orderbridge.scheduler.heap import prepare_collector
    from orderbridge.storage.db import Store

    with scratch(kind, options, f"ingest_startup_{os.getpid()}") as url:
        Store(url).close()
    threshold = gc.get_threshold()
    prepare_collector()
    timings = []
    for run in ("reference", "orderbridge", "reference"):
        # Named by process: a smoke run beside a full one must not drop the full one's database.
        with scratch(kind, options, f"ingest_{run}_{os.getpid()}") as url:
            if run == "reference":
                timings.append(run_reference(url, rows))
            else:
                ours = _profiled(profile, lambda: run_orderbridge(url, data))
    gc.unfreeze()
    gc.set_threshold(*threshold)
    reference = sum(wall for wall, _ in timings) / len(timings)
    return {
        "orderbridge": size / ours[0],
        "reference": size / reference,
        "seconds": ours[0],
        "cpu_seconds": ours[1],
        "reference_cpu_seconds": sum(cpu for _, cpu in timings) / len(timings),
    }


def measure(sizes: Sequence[int], options: Options) -> Outcome:
    made, lines = [], []
    for kind in kinds(options):
        for size in sizes:
            found = measure_one(kind, size, options)
            ratio = found["orderbridge"] / found["reference"]
            met = ratio >= TARGET_RATIO and (kind != "sqlite" or found["orderbridge"] >= TARGET_SQLITE)
            target = ">= 1/3 of the reference" + (", >= 50,000 records/s" if kind == "sqlite" else "")
            made.append(
                Row(
                    SCENARIO_NAME,
                    size,
                    f"ingest records/s ({kind})",
                    round(found["orderbridge"]),
                    "records/s",
                    round(found["reference"]),
                    "driver executemany upserts of the same rows",
                    target,
                    met,
                    {
                        "store": kind,
                        **{
                            k: round(found[k], 1) for k in ("seconds", "cpu_seconds", "reference_cpu_seconds")
                        },
                    },
                )
            )
            lines.append(
                f"| {kind} | {size:,} | {found['orderbridge']:,.0f} | {found['reference']:,.0f} "
                f"| {ratio:.3f} |"
            )
    body = "\n".join(
        [HOW, "", "| store | records | orderbridge | reference | ratio |", "|---|--:|--:|--:|--:|", *lines]
    )
    return Outcome(made, body)


SCENARIO_NAME = "ingest"
HOW = """\
Each size is a seeded set of ERP orders as a REST API lists them (local time without a zone, money as
text, a tracking number once shipped, nested lines), in pages of 1,000. **orderbridge** runs what a sync
does with each page after the HTTP response: `build_record` per record, `map_batch` (order key, statuses,
the storable check) and `BatchWriter.commit` (fingerprint, observations, status history, order links,
reconcile queue, cursor; one transaction per page). **The reference** writes the same rows — built
beforehand by the benchmark itself, no orderbridge code — with the driver's `executemany` of
`INSERT ... ON CONFLICT DO UPDATE` per table, one transaction per page, into the same schema; it runs
before and after orderbridge on fresh stores and counts as the mean of both runs. Profiles:
`bench/profiles/`."""

SCENARIO = Scenario(
    name=SCENARIO_NAME,
    title="records/s of ingest against plain batched upserts of the same rows",
    sizes=(200_000,),
    quick=(2_000,),
    measure=measure,
)


def _profiled(profile: Path | None, run: Callable[[], tuple[float, float]]) -> tuple[float, float]:
    if profile is None:
        return run()
    profiler = cProfile.Profile(time.process_time)  # CPU time: the machine is shared
    seconds = profiler.runcall(run)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(30)
    profile.parent.mkdir(parents=True, exist_ok=True)
    profile.write_text(
        f"cProfile (CPU time) of orderbridge's side of the ingest benchmark, commit {commit()}\n\n"
        + out.getvalue()
    )
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--profile", type=Path, help="write a text profile of orderbridge's run here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        options = Options(args.store, args.pg_url, Path(folder))
        found = measure_one(args.store, args.size, options, args.profile)
    ratio = found["orderbridge"] / found["reference"]
    print(json.dumps({**{k: round(v) for k, v in found.items()}, "ratio": round(ratio, 3)}))


if __name__ == "__main__":
    main()
