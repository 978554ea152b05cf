"""sync_memory: peak memory of one REST sync against the number of records it reads.

    .venv/bin/python bench/sync_memory.py [--sizes 10000,100000,1000000] [--page-size 1000] [--write]

A local HTTP server (its own process) serves N generated orders the way the demo ERP does: page numbers
sorted by (updated_at, id), an inclusive `updated_since` filter, `{"code": 0, "data": {"items": [...]}}`.
Each size is synced by a fresh process (the whole path: REST connector -> mapping -> SQLite store, one
transaction per page with its cursor) that reports its own peak RSS. Memory is flat when the largest
size peaks no higher than the smallest by more than the target ratio.

`--write` puts the results into docs/benchmarks.md (between the sync_memory markers) and updates the
sync_memory rows of bench/results/latest.json, keeping every other row.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import multiprocessing
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latest.json"
REPORT = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- sync_memory:begin -->", "<!-- sync_memory:end -->"
SCENARIO = SCENARIO_NAME = "sync_memory"
TARGET_RATIO = 1.10
BASE = datetime(2026, 1, 1, tzinfo=UTC)
STATUSES = ("NEW", "PICKING", "PACKED", "SHIPPED")

CONFIG = """
store: {{url: "sqlite:///{db}"}}
systems:
  erp:
    type: rest
    base_url: {url}
    list:
      path: /orders
      params: {{updated_since: "{{cursor}}"}}
      records: data.items
      paging: {{style: page, param: page, size_param: per_page, size: {size}}}
    cursor: {{field: updated_at, overlap: 5m, sorted: true, initial: "2025-12-31T00:00:00Z"}}
    errors: {{field: code, ok: [0], message: message}}
    order_id: {{field: order_no, pattern: 'SO-(\\d+)', format: 'SO-{{0:0>7}}'}}
    fields: {{record_id: id, updated: updated_at, ordered_qty: qty}}
    status: {{dimension: fulfillment, field: status,
              map: {{NEW: approved, PICKING: preparing, PACKED: ready_to_ship, SHIPPED: shipped}}}}
"""


# -- the source --------------------------------------------------------------------------------------


def record(index: int) -> dict[str, Any]:
    """Order `index` (1-based); one second apart, so its updated_at says where it is in the listing."""
    moment = BASE + timedelta(seconds=index)
    return {
        "id": index,
        "order_no": f"SO-{index:07d}",
        "status": STATUSES[index % len(STATUSES)],
        "updated_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "qty": index % 7 + 1,
        "warehouse": {"code": "SH-01", "bin": f"A-{index % 97:02d}"},
    }


def serve(count: int, pipe: Pipe) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
            since_text = query.get("updated_since", BASE.isoformat())
            since = datetime.fromisoformat(since_text.replace("Z", "+00:00"))
            first = max(1, math.ceil((since - BASE).total_seconds()))
            size, page = min(int(query.get("per_page", "100")), 1000), int(query.get("page", "1"))
            start = first + (page - 1) * size
            items = [record(i) for i in range(start, min(start + size, count + 1))]
            body = json.dumps({"code": 0, "message": "ok", "data": {"items": items}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    pipe.send(server.server_address[1])
    server.serve_forever()


# -- one measured sync (a process of its own) --------------------------------------------------------


def child(url: str, size: int, page_size: int) -> None:
    from orderbridge.config.loader import parse_config
    from orderbridge.connectors.base import ConnectorContext
    from orderbridge.scheduler import logs
    from orderbridge.scheduler.sync import sync_system
    from orderbridge.storage.db import Store

    logs.configure(level="warning")  # to standard error; standard output carries the result
    with tempfile.TemporaryDirectory() as folder:
        config = parse_config(CONFIG.format(db=Path(folder) / "bench.db", url=url, size=page_size))
        store = Store(config.store.url)
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        result = sync_system(store, "erp", config.systems["erp"], ConnectorContext())
        seconds = time.perf_counter() - started
        store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {
                "size": size,
                "records": result.new,
                "seconds": seconds,
                "peak_kib": peak,
                "before_sync_kib": baseline,
            }
        )
    )


def measure(size: int, page_size: int) -> dict[str, Any]:
    receive, send = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(target=serve, args=(size, send), daemon=True)
    server.start()
    try:
        url = f"http://127.0.0.1:{receive.recv()}"
        done = subprocess.run(
            [sys.executable, __file__, "--child", url, str(size), str(page_size)],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        server.terminate()
        server.join()
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if found["records"] != size:
        raise SystemExit(f"sync of {size} records stored {found['records']}")
    return found


# -- reporting ---------------------------------------------------------------------------------------


def mib(kib: int) -> float:
    return round(kib / 1024, 1)


def rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per size above the smallest: its peak against the peak of the size before it."""
    made = []
    for previous, current in itertools.pairwise(results):
        ratio = round(current["peak_kib"] / previous["peak_kib"], 3)
        made.append(
            {
                "scenario": SCENARIO,
                "size": current["size"],
                "value": mib(current["peak_kib"]),
                "unit": "MiB peak RSS",
                "reference": mib(previous["peak_kib"]),
                "reference_size": previous["size"],
                "ratio": ratio,
                "target": f"ratio <= {TARGET_RATIO} (flat in the record count)",
                "met": ratio <= TARGET_RATIO,
            }
        )
    return made


def machine() -> str:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu)
    with open("/proc/meminfo", encoding="utf-8") as handle:
        kib = int(next(line for line in handle if line.startswith("MemTotal")).split()[1])
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit `{commit or 'unknown'}`, {cpu}, {os.cpu_count()} "
        f"cores, {kib / 1024 / 1024:.1f} GiB RAM, Python {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}"
    )


def markdown(results: list[dict[str, Any]], page_size: int) -> str:
    lines = [
        BEGIN,
        "## sync_memory: one REST sync, peak memory against records read",
        "",
        f"Measured with `bench/sync_memory.py` ({machine()}). A local server in its own process serves",
        f"generated orders like the demo ERP (page numbers of {page_size}, sorted by `(updated_at, id)`,",
        "inclusive `updated_since`); each size is one `sync_system` in a fresh process into an empty SQLite",
        "store, which reports its own peak RSS (`ru_maxrss`).",
        "",
        "| records | peak RSS | of which before the sync started | seconds | records/s |",
        "|--:|--:|--:|--:|--:|",
    ]
    for found in results:
        lines.append(
            f"| {found['size']:,} | {mib(found['peak_kib'])} MiB | {mib(found['before_sync_kib'])} MiB | "
            f"{found['seconds']:.1f} | {found['size'] / found['seconds']:,.0f} |"
        )
    lines += ["", "| records | against | ratio | target | met |", "|--:|--:|--:|---|---|"]
    for row in rows(results):
        lines.append(
            f"| {row['size']:,} | {row['reference_size']:,} ({row['reference']} MiB) | {row['ratio']} | "
            f"{row['target']} | {'yes' if row['met'] else 'no'} |"
        )
    lines.append(END)
    return "\n".join(lines)


def write(results: list[dict[str, Any]], page_size: int) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    kept = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else []
    kept = [row for row in kept if row.get("scenario") != SCENARIO]
    RESULTS.write_text(json.dumps(kept + rows(results), indent=2) + "\n", encoding="utf-8")
    text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else "# Benchmarks\n"
    section = markdown(results, page_size)
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + section + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    REPORT.write_text(text, encoding="utf-8")


def measure_sizes(sizes: Any, _options: Any) -> Any:
    """The scenario as `python3 tasks.py bench sync_memory` runs it (page size 1000)."""
    from bench.results import Outcome, Row

    results = [measure(size, 1000) for size in sorted(sizes)]
    made = [
        Row(
            scenario=SCENARIO_NAME,
            size=row["size"],
            figure="peak RSS of one REST sync",
            value=row["value"],
            unit="MiB",
            reference=row["reference"],
            reference_name=f"at {row['reference_size']:,} records",
            target=row["target"],
            met=row["met"],
            details={"reference_size": row["reference_size"]},
        )
        for row in rows(results)
    ]
    section = markdown(results, 1000).splitlines()
    return Outcome(made, "\n".join(section[3:-1]))  # without the markers and the heading


def scenario() -> Any:
    from bench.scenario import Scenario

    return Scenario(
        name=SCENARIO_NAME,
        title="one REST sync, peak memory against records read",
        sizes=(100_000, 1_000_000),
        quick=(2_000, 20_000),
        measure=measure_sizes,
    )


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="record counts, comma-separated")
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md and latest.json")
    parser.add_argument("--child", nargs=3, metavar=("URL", "SIZE", "PAGE_SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), int(args.child[2]))
        return
    results = []
    for size in sorted(int(s) for s in args.sizes.split(",")):
        print(f"syncing {size:,} records ...", file=sys.stderr, flush=True)
        results.append(measure(size, args.page_size))
        found = results[-1]
        print(f"  peak {mib(found['peak_kib'])} MiB, {found['seconds']:.1f} s", file=sys.stderr, flush=True)
    print(json.dumps(rows(results), indent=2))
    if args.write:
        write(results, args.page_size)


if __name__ == "__main__":
    main()
