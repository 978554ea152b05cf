"""incremental_reconcile: the pass after 1,000 orders changed at their sources, on stores of N orders
(the planted store of full_reconcile, its discrepancies opened by a first full pass). Flat means the
pass costs the same whatever the size of the store.

Each size: a fresh process loads the store (or copies full_reconcile's, when that ran first in the same
run at that size) and runs the first full pass; then, three times, 1,000 orders chosen by a seeded draw
move one step on in the ERP and the WMS (2,000 records through `observations.ingest`, as a poll writes
them; not timed) and the incremental pass that follows is timed. The median is the figure."""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import full_reconcile, planted, stores
from bench.results import Outcome, Row
from bench.scenario import Options, Scenario, child

NAME = "incremental_reconcile"
CHANGED = 1000
ROUNDS = 3
TARGET_MS = 200.0
FLAT = 1.5  # the largest store's pass may take this much longer than the smallest's and still be flat
NEXT = {"approved": "preparing", "preparing": "shipped", "shipped": "delivered"}


def rounds(url: str, size: int, passed: bool) -> dict[str, Any]:
    from orderbridge.mapping.model import CanonicalStatus, Dimension
    from orderbridge.reconciler.engine import Reconciler
    from orderbridge.scheduler import logs
    from orderbridge.storage import observations
    from orderbridge.storage.db import Store

    logs.configure(level="warning")
    store = Store(url)
    reconciler = Reconciler(store, planted.SETTINGS, planted.SYSTEMS, planted.LINK_BY)
    if not passed:
        reconciler.run(planted.NOW, full=True)
    rng = random.Random(7)
    timings, evaluated, candidates, ingest = [], [], [], []
    for number in range(ROUNDS):
        at = planted.NOW + timedelta(minutes=10 * (number + 1))
        drawn = [f"SO-{n:07d}" for n in rng.sample(range(1, size + 1), min(3 * CHANGED, size))]
        started = time.perf_counter()
        with store.begin() as conn:
            found, _ = observations.load_orders(conn, drawn)
            # The first 1,000 drawn whose ERP record can move on (delivered and cancelled ones cannot).
            movable = [
                key for key in drawn if any(_movable(obs) for obs in found[key] if obs.system == "erp")
            ]
            keys = sorted(movable[:CHANGED])
            for system in ("erp", "wms"):
                moved = []
                for key in keys:
                    for obs in found[key]:
                        said = obs.status(Dimension.fulfillment)
                        if obs.system != system or said not in NEXT:
                            continue
                        status = {
                            Dimension.fulfillment: CanonicalStatus(status=NEXT[said], native=NEXT[said])
                        }
                        changed = obs.model_copy(
                            update={"statuses": status, "status_at": at, "observed_at": at}
                        )
                        moved.append((changed, {"id": obs.record_id, "status": NEXT[said]}))
                observations.ingest(conn, moved, at, planted.LINK_BY.get(system, []))
        ingest.append(time.perf_counter() - started)
        started = time.perf_counter()
        result = reconciler.run(at + timedelta(minutes=1))
        timings.append(time.perf_counter() - started)
        evaluated.append(result.evaluated)
        candidates.append(result.candidates)
    store.close()
    return {
        "ms": [round(t * 1000, 1) for t in timings],
        "median_ms": round(statistics.median(timings) * 1000, 1),
        "evaluated": evaluated,
        "candidates": candidates,
        "ingest_s": [round(t, 2) for t in ingest],
    }


def _movable(obs: Any) -> bool:
    from orderbridge.mapping.model import Dimension

    return obs.status(Dimension.fulfillment) in NEXT


def measure(sizes: Sequence[int], options: Options) -> Outcome:
    runs: dict[tuple[str, int], dict[str, Any]] = {}
    for kind in stores.kinds(options):
        for size in sorted(sizes):
            with stores.scratch(kind, options, f"{NAME}_{size}") as url:
                kept = full_reconcile.kept(options, kind, size)
                if kept is not None:
                    os.replace(kept, Path(url.removeprefix("sqlite:///")))
                    loaded = None
                else:
                    arguments = full_reconcile.cache_argument(options)
                    loaded = child(f"bench.{full_reconcile.NAME}", "load", url, str(size), *arguments)
                measured = child(f"bench.{NAME}", url, str(size), "passed" if kept else "fresh")
                runs[(kind, size)] = {**measured, "copied": loaded is None}
                print(f"  {kind} {size:,}: {measured['ms']} ms", file=sys.stderr, flush=True)
    return Outcome(rows(runs), body(runs))


def rows(runs: dict[tuple[str, int], dict[str, Any]]) -> list[Row]:
    made = []
    for kind in dict.fromkeys(kind for kind, _ in runs):
        sizes = sorted(size for k, size in runs if k == kind)
        smallest = runs[(kind, sizes[0])]
        for size in sizes:
            run = runs[(kind, size)]
            first = size == sizes[0]
            made.append(
                Row(
                    scenario=NAME,
                    size=size,
                    figure=f"incremental pass, {CHANGED:,} changed ({kind})",
                    value=run["median_ms"],
                    unit="ms",
                    reference=None if first else smallest["median_ms"],
                    reference_name="" if first else f"at {sizes[0]:,} orders",
                    target=f"<= {TARGET_MS:g} ms" + ("" if first else f", ratio <= {FLAT} (flat)"),
                    met=run["median_ms"] <= TARGET_MS
                    and (first or run["median_ms"] <= smallest["median_ms"] * FLAT),
                    details={"store": kind, "rounds_ms": run["ms"], "reference_size": sizes[0]},
                )
            )
    return made


def body(runs: dict[tuple[str, int], dict[str, Any]]) -> str:
    lines = [
        f"{ROUNDS} rounds per store: {CHANGED:,} orders (a seeded draw) move one step on in the ERP and",
        "the WMS, ingested as a poll writes them (not timed), then the incremental pass is timed; the figure",
        "is the median. The store is full_reconcile's planted store after its first full pass.",
        "",
        "| store | orders | pass (ms, each round) | orders evaluated | shown to the rules "
        "| ingest of the changes (s) |",
        "|---|--:|---|---|---|---|",
    ]
    for (kind, size), run in sorted(runs.items()):
        lines.append(
            f"| {kind} | {size:,} | {', '.join(map(str, run['ms']))} | {run['evaluated']} | "
            f"{run['candidates']} | {run['ingest_s']} |"
        )
    return "\n".join(lines)


SCENARIO = Scenario(
    name=NAME,
    title="1,000 changed orders on stores of 100,000 and 1,000,000",
    sizes=(100_000, 1_000_000),
    quick=(5_000, 20_000),
    measure=measure,
)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=3, required=True, metavar=("URL", "SIZE", "STATE"))
    url, size, state = parser.parse_args(argv).child
    print(json.dumps(rounds(url, int(size), state == "passed")))


if __name__ == "__main__":
    main(sys.argv[1:])
