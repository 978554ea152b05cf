"""full_reconcile: a full reconcile pass over N orders x 3 systems with about 1% of them carrying a
planted problem of every rule: time and peak RSS of the pass, which must find exactly what was planted.

Each size: one process bulk-loads a fresh store (bench/planted.py), another (fresh, so that its peak
RSS is the pass's own) runs the first full pass, which opens the planted discrepancies, and then a
second one, which finds them all again and changes nothing."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import planted, stores
from bench.machine import peak_rss_mib
from bench.results import Outcome, Row
from bench.scenario import Options, Scenario, child, reference

NAME = "full_reconcile"
# The reference: the row-by-row pass (every order through every rule, one statement per discrepancy)
# as it was before the pre-screen, run on a copy of the same store in the same run, up to this size (at
# 1,000,000 orders it takes about a quarter of an hour).
ROW_BY_ROW = "420d281"
ROW_BY_ROW_UP_TO = 100_000
SECOND_PASS_UP_TO = 100_000  # a second full pass (nothing changes) is measured up to this size
TARGET_SECONDS_PER_MILLION = 60.0
FLAT = 1.10  # peak RSS may grow by this much over the smallest size and still be flat


def load(url: str, size: int, cache: str | None = None) -> dict[str, Any]:
    """Generate the store (or copy it from the cache, where the same generator made it before: with
    what was planted in it, beside it)."""
    from orderbridge.storage.db import Store

    kept = Path(cache) / planted.cached_name(size) if cache and url.startswith("sqlite:///") else None
    target = Path(url.removeprefix("sqlite:///"))
    # Another process generating this store into the cache says so with a marker file: wait for it.
    while (
        kept is not None
        and kept.with_suffix(".generating").exists()
        and not kept.with_suffix(".json").exists()
    ):
        time.sleep(10)
    if kept is not None and kept.with_suffix(".json").exists():
        started = time.perf_counter()
        shutil.copyfile(kept, target)
        found: dict[str, Any] = json.loads(kept.with_suffix(".json").read_text())
        return {**found, "copied_s": time.perf_counter() - started}
    store = Store(url)
    started = time.perf_counter()
    made = planted.generate(store, size)
    seconds = time.perf_counter() - started
    if store.engine.dialect.name == "postgresql":
        # What autovacuum does after a load this size; a server run with it off would plan the passes on
        # empty-table statistics (the loader writes rows directly, not through ingest, which analyses).
        with store.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    store.close()
    found = {
        "seconds": seconds,
        "records": made.records,
        "history": made.history,
        "expected": sorted(made.expected()),
    }
    if kept is not None:
        shutil.copyfile(target, kept)
        kept.with_suffix(".json").write_text(json.dumps(found))
    return found


def passes(url: str, count: int = 2) -> dict[str, Any]:
    from orderbridge.reconciler.engine import Reconciler
    from orderbridge.storage.db import Store

    store = Store(url)
    reconciler = Reconciler(store, planted.SETTINGS, planted.SYSTEMS, planted.LINK_BY)
    before = peak_rss_mib()
    timings = []
    changes = []
    for _ in range(count):
        started = time.perf_counter()
        result = reconciler.run(planted.NOW, full=True)
        timings.append(time.perf_counter() - started)
        changes.append(dict(Counter(change.kind for change in result.changes)))
    peak = peak_rss_mib()  # the passes', before the check below reads every discrepancy back
    found = found_discrepancies(store)
    store.close()
    return {
        "first": timings[0],
        "second": timings[1] if count > 1 else None,
        "changes": changes,
        "peak_mib": peak,
        "before_mib": before,
        "found": sorted(found),
    }


def found_discrepancies(store: Any) -> set[tuple[str, str]]:
    from orderbridge.storage import discrepancies

    with store.begin() as conn:
        return {(d.order_key, d.rule) for d in discrepancies.listing(conn, "open")}


def check(expected: Sequence[Sequence[str]], found: Sequence[Sequence[str]]) -> None:
    """The pass must find exactly the planted discrepancies."""
    want, got = {tuple(e) for e in expected}, {tuple(f) for f in found}
    if want != got:
        missed, extra = sorted(want - got)[:10], sorted(got - want)[:10]
        raise SystemExit(
            f"{NAME}: missed {len(want - got)} planted ({missed}), "
            f"found {len(got - want)} not planted ({extra})"
        )


def measure(sizes: Sequence[int], options: Options) -> Outcome:
    runs: dict[tuple[str, int], dict[str, Any]] = {}
    for kind in stores.kinds(options):
        for size in sorted(sizes):
            with stores.scratch(kind, options, f"{NAME}_{size}") as url:
                loaded = child(f"bench.{NAME}", "load", url, str(size), *cache_argument(options))
                print(f"  {kind} {size:,}: loaded in {loaded['seconds']:.0f} s", file=sys.stderr, flush=True)
                old = None
                if kind == "sqlite" and size <= ROW_BY_ROW_UP_TO:
                    path = Path(url.removeprefix("sqlite:///"))
                    copy = path.with_name(f"{path.stem}_row_by_row.db")
                    shutil.copyfile(path, copy)
                count = "2" if size <= SECOND_PASS_UP_TO else "1"
                measured = child(f"bench.{NAME}", "passes", url, count)
                check(loaded["expected"], measured["found"])
                print(
                    f"  {kind} {size:,}: passes {measured['first']:.1f} s, {measured['second']} s",
                    file=sys.stderr,
                    flush=True,
                )
                if kind == "sqlite" and size <= ROW_BY_ROW_UP_TO:
                    old = child(
                        f"bench.{NAME}",
                        "passes",
                        f"sqlite:///{copy}",
                        count,
                        cwd=reference(options, ROW_BY_ROW),
                    )
                    copy.unlink()
                    check(loaded["expected"], old["found"])
                    print(
                        f"  {kind} {size:,}: row by row {old['first']:.1f} s, {old['second']:.1f} s",
                        file=sys.stderr,
                        flush=True,
                    )
                runs[(kind, size)] = {
                    **measured,
                    "load": loaded,
                    "planted": len(loaded["expected"]),
                    "old": old,
                }
                if kind == "sqlite":  # incremental_reconcile goes on from here, without loading again
                    os.replace(url.removeprefix("sqlite:///"), kept_path(options, size))
    return Outcome(rows(runs), body(runs))


def cache_argument(options: Options) -> list[str]:
    return [str(options.cache)] if options.cache is not None else []


def kept_path(options: Options, size: int) -> Path:
    return options.workdir / f"{NAME}_{size}_after_passes.db"


def kept(options: Options, kind: str, size: int) -> Path | None:
    """The SQLite store of `size` orders after this scenario's passes in this run, if it ran."""
    path = kept_path(options, size)
    return path if kind == "sqlite" and path.exists() else None


def rows(runs: dict[tuple[str, int], dict[str, Any]]) -> list[Row]:
    made = []
    for kind in dict.fromkeys(kind for kind, _ in runs):
        sizes = sorted(size for k, size in runs if k == kind)
        smallest = runs[(kind, sizes[0])]
        for size in sizes:
            run = runs[(kind, size)]
            limit = TARGET_SECONDS_PER_MILLION * size / 1_000_000
            old = run["old"]
            made.append(
                Row(
                    scenario=NAME,
                    size=size,
                    figure=f"first full pass ({kind})",
                    value=round(run["first"], 2),
                    unit="s",
                    reference=None if old is None else round(old["first"], 2),
                    reference_name=f"row by row, {ROW_BY_ROW}",
                    target=f"<= {limit:g} s (60 s per 1,000,000 orders)",
                    met=run["first"] <= limit,
                    details={
                        "store": kind,
                        "second_pass_s": None if run["second"] is None else round(run["second"], 2),
                        "row_by_row_second_pass_s": None if old is None else round(old["second"], 2),
                        "planted": run["planted"],
                    },
                )
            )
            if size != sizes[0]:
                made.append(
                    Row(
                        scenario=NAME,
                        size=size,
                        figure=f"peak RSS ({kind})",
                        value=run["peak_mib"],
                        unit="MiB",
                        reference=smallest["peak_mib"],
                        reference_name=f"at {sizes[0]:,} orders",
                        target=f"ratio <= {FLAT} (flat in the order count)",
                        met=run["peak_mib"] <= smallest["peak_mib"] * FLAT,
                        details={"store": kind, "reference_size": sizes[0]},
                    )
                )
    return made


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} s"


def body(runs: dict[tuple[str, int], dict[str, Any]]) -> str:
    lines = [
        "Each store is bulk-loaded by `bench/planted.py` (seed 42): 3 systems per order (ERP, WMS with the",
        "fulfilment authority, finance with the billing authority), 1% of the orders carrying a planted",
        "problem, the rules taking turns, and one orphan WMS record per 2,000 orders. Each pass must find",
        "exactly the planted discrepancies (checked). The passes run in a fresh process: peak RSS is theirs.",
        f"A second full pass (nothing changed) is measured up to {SECOND_PASS_UP_TO:,} orders.",
        "",
        f"The reference is the row-by-row pass of commit `{ROW_BY_ROW}` (every order through every rule, one",
        "statement per discrepancy) on a copy of the same store, in the same run, up to "
        f"{ROW_BY_ROW_UP_TO:,} orders.",
        "",
        "| store | orders | records | history rows | load | first full pass | orders/s | second full pass "
        "| peak RSS | changes (first pass) |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for (kind, size), run in sorted(runs.items()):
        load = run["load"]
        first = ", ".join(f"{kind_} {n:,}" for kind_, n in sorted(run["changes"][0].items()))
        lines.append(
            f"| {kind} | {size:,} | {load['records']:,} | {load['history']:,} | {load['seconds']:.0f} s | "
            f"{run['first']:.2f} s | {size / run['first']:,.0f} | {_seconds(run['second'])} | "
            f"{run['peak_mib']} MiB | {first} |"
        )
        old = run["old"]
        if old is not None:
            lines.append(
                f"| {kind}, row by row | {size:,} | | | | {old['first']:.2f} s | "
                f"{size / old['first']:,.0f} | {old['second']:.2f} s | {old['peak_mib']} MiB | |"
            )
    return "\n".join(lines)


SCENARIO = Scenario(
    name=NAME,
    title="a full pass over a million orders",
    sizes=(100_000, 1_000_000),
    quick=(2_000, 20_000),
    measure=measure,
)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs="+", required=True)
    what, *rest = parser.parse_args(argv).child
    found = load(rest[0], int(rest[1]), *rest[2:]) if what == "load" else passes(rest[0], int(rest[1]))
    print(json.dumps(found))


if __name__ == "__main__":
    main(sys.argv[1:])
