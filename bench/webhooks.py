"""Webhook intake benchmark, run on demand (not part of the test suite).

    .venv/bin/python bench/webhooks.py [--store sqlite|postgres] [--seconds 15] [--rate 1000]

Side by side in the same run, each on a fresh store and its own process:

  orderbridge  the daemon's real app: POST /webhooks/carrier (AfterShip events, HMAC verified), the body
               written by the group-commit writer (synchronous=FULL), acknowledged, and processed by the
               inbox processor in the same process, as the daemon does;
  reference    a minimal Starlette app doing only the same durable insert into the same inbox table:
               read the body, one transaction per request (synchronous=FULL), answer 200.

Load comes from wrk (Debian package `wrk`; `apt-get install wrk`) over loopback, each request a distinct
signed event: first as fast as 32 connections go (sustained events/s), then paced near --rate events/s
(wrk's delay hook on 20 connections) for the p50/p99 acknowledgement latency. Without wrk, `--generator
python` uses an httpx client instead (slower: it measures less). Results: bench/results/latest.json
(rows of these scenarios replaced, others kept) and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latest.json"
SECRET = "bench-webhook-secret"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

LUA = r"""
local lines, index, paced = {}, 0, os.getenv("BENCH_PACE")
init = function(args)
  for line in io.lines(args[1]) do lines[#lines + 1] = line end
  index = tonumber(args[2] or "0") % #lines
end
request = function()
  index = index + 1
  if index > #lines then index = 1 end
  local sig, body = lines[index]:match("^([^\t]+)\t(.*)$")
  return wrk.format("POST", "/webhooks/carrier",
    {["Content-Type"] = "application/json", ["aftership-hmac-sha256"] = sig}, body)
end
if paced then delay = function() return tonumber(paced) end end
"""


def event(number: int) -> bytes:
    body = {
        "event": "tracking_update",
        "event_id": f"bench-{number:09d}",
        "is_tracking_first_tag": False,
        "msg": {
            "id": f"{number:032d}",
            "tracking_number": f"BT{number:010d}",
            "slug": "sf-express",
            "tag": "InTransit",
            "subtag": "InTransit_001",
            "subtag_message": "In Transit",
            "order_number": f"SO-2026-{number % 50000:05d}",
            "updated_at": "2026-11-20T02:05:00+00:00",
            "checkpoints": [
                {
                    "checkpoint_time": "2026-11-20T10:00:00+08:00",
                    "message": "Departed facility",
                    "tag": "InTransit",
                    "subtag": "InTransit_001",
                    "location": "Shenzhen",
                }
            ],
        },
        "ts": 1763604300,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def write_events(path: Path, count: int, offset: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for number in range(offset, offset + count):
            body = event(number)
            sig = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
            out.write(f"{sig}\t{body.decode()}\n")


# -- the two apps, each run as `python bench/webhooks.py serve APP URL PORT` ------------------------------


def serve(app_name: str, url: str, port: int) -> None:
    import uvicorn

    from orderbridge.config.loader import parse_config
    from orderbridge.scheduler.http import Metrics, create_app
    from orderbridge.scheduler.webhooks import Webhooks
    from orderbridge.storage.db import Store

    store = Store(url)
    if app_name == "orderbridge":
        config = parse_config(
            json.dumps(
                {
                    "systems": {
                        "carrier": {
                            "type": "aftership",
                            "webhook": {"secret": SECRET},
                            "order_id": {"pattern": r"SO-\d{4}-(\d+)"},
                        }
                    }
                }
            )
        )
        webhooks = Webhooks(store, config.systems, Metrics())
        app = create_app(store, Metrics(), lambda: {"store": True}, mounted=webhooks.routes())
        webhooks.start()
    else:
        app = reference_app(store)
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off")


def reference_app(store: Any) -> Any:
    """Only the durable insert: the body into the same inbox table, a transaction per request."""
    from datetime import UTC, datetime

    from sqlalchemy import event as sa_event
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from orderbridge.storage.tables import inbox

    if store.dialect == "sqlite":

        @sa_event.listens_for(store.engine, "connect")
        def _durable(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA synchronous=FULL")

    def insert(body: bytes) -> None:
        with store.engine.begin() as conn:
            conn.execute(
                inbox.insert().values(
                    system="carrier",
                    dedupe_key=hashlib.sha256(body).hexdigest(),
                    received_at=datetime.now(UTC),
                    headers={},
                    body=body.decode(),
                    state="pending",
                )
            )

    async def receive(request: Request) -> Response:
        await run_in_threadpool(insert, await request.body())
        return Response(b'{"ok":true}', media_type="application/json")

    return Starlette(routes=[Route("/webhooks/carrier", receive, methods=["POST"])])


# -- running ------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fresh_store(kind: str, folder: Path, name: str, pg_url: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder / (name + '.db')}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    database = f"orderbridge_bench_{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    return make_url(pg_url).set(database=database).render_as_string(hide_password=False)


def start_app(app_name: str, url: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, "serve", app_name, url, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.post(f"http://127.0.0.1:{port}/webhooks/carrier", content=b"{}", timeout=2)
            return process, port
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{app_name} did not start")


def run_wrk(
    port: int, events: Path, seconds: int, connections: int, pace_ms: int | None, offset: int
) -> dict[str, float]:
    script = events.parent / "events.lua"
    script.write_text(LUA, encoding="utf-8")
    env = {**os.environ, **({"BENCH_PACE": str(pace_ms)} if pace_ms else {})}
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}",
        "--",
        str(events),
        str(offset),
    ]
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    latency = {p: _ms(re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)) for p in ("50", "99")}
    return {
        "rate": rate,
        "p50": latency["50"],
        "p99": latency["99"],
        "errors": float(errors.group(1)) if errors else 0,
    }


def _ms(match: re.Match[str] | None) -> float:
    if match is None:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def run_python(
    port: int, events: Path, seconds: int, connections: int, pace_ms: int | None, offset: int
) -> dict[str, float]:
    """A fallback load generator (httpx, asyncio); it saturates sooner than wrk."""
    import asyncio

    import httpx

    lines = events.read_text(encoding="utf-8").splitlines()
    latencies: list[float] = []
    errors = 0

    async def client(start: int) -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            index, stop = start, time.monotonic() + seconds
            while time.monotonic() < stop:
                sig, body = lines[(offset + index) % len(lines)].split("\t", 1)
                began = time.perf_counter()
                answer = await http.post(
                    "/webhooks/carrier",
                    content=body,
                    headers={"Content-Type": "application/json", "aftership-hmac-sha256": sig},
                )
                latencies.append((time.perf_counter() - began) * 1000)
                errors += answer.status_code != 200
                index += connections
                if pace_ms:
                    await asyncio.sleep(pace_ms / 1000)

    async def everyone() -> None:
        await asyncio.wait_for(asyncio.gather(*(client(i) for i in range(connections))), seconds + 60)

    began = time.monotonic()
    asyncio.run(everyone())
    elapsed = time.monotonic() - began
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    return {"rate": len(latencies) / elapsed, "p50": pick(0.5), "p99": pick(0.99), "errors": float(errors)}


def measure(
    kind: str, seconds: int, rate: int, generator: str, pg_url: str
) -> dict[str, dict[str, dict[str, float]]]:
    runner = run_wrk if generator == "wrk" else run_python
    folder = Path(tempfile.mkdtemp(prefix="orderbridge-bench-"))
    events = folder / "events.tsv"
    total = max(60_000, seconds * 8000)
    write_events(events, total, 0)
    results: dict[str, dict[str, dict[str, float]]] = {}
    try:
        for app_name in ("reference", "orderbridge"):
            url = fresh_store(kind, folder, app_name, pg_url)
            process, port = start_app(app_name, url)
            try:
                sustained = runner(port, events, seconds, 32, None, 0)
                paced_connections = 20
                paced = runner(
                    port,
                    events,
                    seconds,
                    paced_connections,
                    max(1, 1000 * paced_connections // rate),
                    total // 2,
                )
            finally:
                process.terminate()
                process.wait(timeout=30)
            results[app_name] = {"sustained": sustained, "paced": paced}
            print(
                f"{app_name:12} sustained {sustained['rate']:8.0f} events/s (p99 {sustained['p99']:.1f} ms); "
                f"paced {paced['rate']:6.0f}/s p50 {paced['p50']:.2f} ms p99 {paced['p99']:.2f} ms "
                f"errors {int(sustained['errors'] + paced['errors'])}",
                flush=True,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return results


def rows(kind: str, results: dict[str, dict[str, dict[str, float]]], rate: int) -> list[dict[str, Any]]:
    ours, ref = results["orderbridge"], results["reference"]
    ratio = ours["sustained"]["rate"] / ref["sustained"]["rate"]
    when = datetime.now(UTC).isoformat(timespec="seconds")
    machine = (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}"
    )
    base = {"store": kind, "measured_at": when, "machine": machine, "commit": _commit()}
    return [
        {
            **base,
            "scenario": f"webhook intake, sustained ({kind})",
            "size": "32 connections",
            "value": round(ours["sustained"]["rate"]),
            "unit": "events/s",
            "reference": round(ref["sustained"]["rate"]),
            "ratio": round(ratio, 3),
            "target": 0.7,
            "met": ratio >= 0.7,
        },
        {
            **base,
            "scenario": f"webhook intake, p99 ack latency at {rate} events/s ({kind})",
            "size": f"{round(ours['paced']['rate'])} events/s",
            "value": round(ours["paced"]["p99"], 2),
            "unit": "ms",
            "reference": round(ref["paced"]["p99"], 2),
            "ratio": round(ours["paced"]["p99"] / ref["paced"]["p99"], 3),
            "target": 50,
            "met": ours["paced"]["p99"] < 50,
            "p50": round(ours["paced"]["p50"], 2),
        },
    ]


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()
    except OSError:
        return "unknown"


def save(new_rows: list[dict[str, Any]]) -> None:
    existing = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else []
    replaced = {row["scenario"] for row in new_rows}
    kept = [row for row in existing if row.get("scenario") not in replaced]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(kept + new_rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--generator", choices=("wrk", "python"), default="wrk")
    parser.add_argument("--pg-url", default=os.environ.get("ORDERBRIDGE_BENCH_PG_URL", DEFAULT_PG))
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/latest.json")
    args = parser.parse_args()
    if args.generator == "wrk" and shutil.which("wrk") is None:
        print(
            "this benchmark drives load with wrk: install it (apt-get install wrk), or use --generator python"
        )
        return 2
    kinds = ("sqlite", "postgres") if args.store == "both" else (args.store,)
    all_rows = []
    for kind in kinds:
        all_rows += rows(kind, measure(kind, args.seconds, args.rate, args.generator, args.pg_url), args.rate)
    print("\n| scenario | value | reference | ratio | target | met |\n|---|--:|--:|--:|--:|---|")
    for row in all_rows:
        print(
            f"| {row['scenario']} | {row['value']} {row['unit']} | {row['reference']} | {row['ratio']} | "
            f"{row['target']} | {row['met']} |"
        )
    if not args.no_save:
        save(all_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
