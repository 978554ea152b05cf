"""side_by_side: the two-system status-equality subset of a reconciliation (an ERP and a WMS, one
fulfilment status each) exported and compared by datacompy (pandas and polars) and a plain polars join,
against orderbridge's full pass over the same store doing all its status-aware rules. Every tool must
find exactly the planted mismatches (checked); each runs in a fresh process (time and peak RSS).

The reference tools are the `bench` extra (datacompy, pandas, polars); a tool that is not installed is
left out and said so."""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import random
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench import planted, stores
from bench.machine import peak_rss_mib
from bench.results import Outcome, Row
from bench.scenario import Options, Scenario, child

NAME = "side_by_side"
SYSTEMS = ("erp", "wms")
TARGET_RATIO = 3.0
STAGES = ("approved", "preparing", "shipped", "delivered")
TOOLS = {  # name -> the packages it needs
    "datacompy (polars)": ("datacompy", "polars"),
    "datacompy (pandas)": ("datacompy", "pandas"),
    "polars join": ("polars",),
}
REFERENCE = "datacompy (polars)"


def two_systems(
    count: int, found: planted.Planted, share: float, seed: int
) -> Iterator[list[planted.Record]]:
    """Orders in the ERP and the WMS; every `1/share`-th one with the ERP saying another stage."""
    rng = random.Random(seed)
    stride = max(1, min(round(1 / share), count // 20))
    batch: list[planted.Record] = []
    for number in range(1, count + 1):
        order = planted.clean(number, rng, planted.F(rng.choice(STAGES)))
        erp, wms = order.records["erp"], order.records["wms"]
        if number % stride == stride // 2:
            other = STAGES[(STAGES.index(order.stage) + 1 + rng.randrange(len(STAGES) - 1)) % len(STAGES)]
            erp.history = erp.history[:1]
            planted.restate(erp, other, order.at - planted.HOUR)
            found.rules[order.key] = "status"
        batch += [erp, wms]
        if len(batch) >= planted.BATCH * 2:
            yield batch
            batch = []
    if batch:
        yield batch


def settings() -> Any:
    from orderbridge.reconciler.settings import ReconcileSettings

    return ReconcileSettings.model_validate(
        {"authority": {"fulfillment": "wms"}, "grace": {"default": "30m"}}
    )


# -- the children --------------------------------------------------------------------------------------


def load(url: str, size: int, folder: str) -> dict[str, Any]:
    """Load the store, export each system's (order key, status) to CSV."""
    from sqlalchemy import select

    from orderbridge.storage.db import Store
    from orderbridge.storage.tables import observations

    store = Store(url)
    started = time.perf_counter()
    found = planted.generate(store, size, make=two_systems)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    status = observations.c.statuses[("fulfillment", "status")].as_string()
    with store.begin() as conn:
        for system in SYSTEMS:
            query = (
                select(observations.c.order_key, status)
                .where(observations.c.system == system)
                .order_by(observations.c.order_key)
            )
            with open(Path(folder) / f"{system}.csv", "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["order_key", "status"])
                writer.writerows(conn.execute(query))
    exported = time.perf_counter() - started
    store.close()
    return {"load_s": loaded, "export_s": exported, "planted": sorted(found.rules)}


def orderbridge_pass(url: str) -> dict[str, Any]:
    from orderbridge.reconciler.engine import Reconciler
    from orderbridge.scheduler import logs
    from orderbridge.storage import discrepancies
    from orderbridge.storage.db import Store

    logs.configure(level="warning")
    store = Store(url)
    started = time.perf_counter()
    Reconciler(store, settings(), SYSTEMS).run(planted.NOW, full=True)
    seconds = time.perf_counter() - started
    with store.begin() as conn:
        found = sorted({d.order_key for d in discrepancies.listing(conn, "open")})
    store.close()
    return {"seconds": seconds, "peak_mib": peak_rss_mib(), "found": found}


def tool(name: str, folder: str) -> dict[str, Any]:
    """One tool reads the two exports and names the orders whose status differs (imports not timed)."""
    erp, wms = Path(folder) / "erp.csv", Path(folder) / "wms.csv"
    found: list[str]
    modules: dict[str, Any] = {package: importlib.import_module(package) for package in TOOLS[name]}
    started = time.perf_counter()
    if name == "datacompy (pandas)":
        pandas, datacompy = modules["pandas"], modules["datacompy"]
        compare = datacompy.PandasCompare(
            pandas.read_csv(erp), pandas.read_csv(wms), join_columns="order_key"
        )
        found = sorted(compare.all_mismatch()["order_key"])
    elif name == "datacompy (polars)":
        polars, datacompy = modules["polars"], modules["datacompy"]
        compare = datacompy.PolarsCompare(
            polars.read_csv(erp), polars.read_csv(wms), join_columns="order_key"
        )
        found = sorted(compare.all_mismatch()["order_key"].to_list())
    else:
        polars = modules["polars"]
        joined = polars.read_csv(erp).join(polars.read_csv(wms), on="order_key", suffix="_wms")
        found = sorted(joined.filter(polars.col("status") != polars.col("status_wms"))["order_key"].to_list())
    return {"seconds": time.perf_counter() - started, "peak_mib": peak_rss_mib(), "found": found}


# -- the scenario --------------------------------------------------------------------------------------


def installed(name: str) -> bool:
    return all(importlib.util.find_spec(package) is not None for package in TOOLS[name])


def measure(sizes: Sequence[int], options: Options) -> Outcome:
    runs: dict[tuple[str, int], dict[str, Any]] = {}
    tools = [name for name in TOOLS if installed(name)]
    for kind in stores.kinds(options):
        for size in sorted(sizes):
            folder = options.workdir / f"{NAME}_{kind}_{size}"
            folder.mkdir(exist_ok=True)
            with stores.scratch(kind, options, f"{NAME}_{size}") as url:
                loaded = child(f"bench.{NAME}", "load", url, str(size), str(folder))
                measured = {"orderbridge": child(f"bench.{NAME}", "orderbridge", url)}
                for name in tools:
                    measured[name] = child(f"bench.{NAME}", "tool", name, str(folder))
            for name, found in measured.items():
                if found["found"] != loaded["planted"]:
                    raise SystemExit(
                        f"{NAME}: {name} found {len(found['found'])} mismatches at {size:,}, "
                        f"{len(loaded['planted'])} were planted"
                    )
            runs[(kind, size)] = {
                "loaded": loaded,
                "measured": measured,
                "missing": sorted(set(TOOLS) - set(tools)),
            }
            print(
                f"  {kind} {size:,}: " + ", ".join(f"{n} {m['seconds']:.2f} s" for n, m in measured.items()),
                file=sys.stderr,
                flush=True,
            )
    return Outcome(rows(runs), body(runs))


def rows(runs: dict[tuple[str, int], dict[str, Any]]) -> list[Row]:
    made = []
    for (kind, size), run in runs.items():
        measured = run["measured"]
        reference = measured.get(REFERENCE)
        ours = measured["orderbridge"]
        made.append(
            Row(
                scenario=NAME,
                size=size,
                figure=f"orderbridge full pass, all status-aware rules ({kind})",
                value=round(ours["seconds"], 3),
                unit="s",
                reference=None if reference is None else round(reference["seconds"], 3),
                reference_name=REFERENCE,
                target=f"ratio <= {TARGET_RATIO:g}",
                met=reference is not None and ours["seconds"] <= TARGET_RATIO * reference["seconds"],
                details={
                    "store": kind,
                    "peak_mib": ours["peak_mib"],
                    "planted": len(run["loaded"]["planted"]),
                },
            )
        )
        for name, found in measured.items():
            if name in ("orderbridge", REFERENCE) or reference is None:
                continue
            made.append(
                Row(
                    scenario=NAME,
                    size=size,
                    figure=name,
                    value=round(found["seconds"], 3),
                    unit="s",
                    reference=round(reference["seconds"], 3),
                    reference_name=REFERENCE,
                    target="finds exactly the planted mismatches",
                    met=True,
                    details={"store": kind, "peak_mib": found["peak_mib"]},
                )
            )
    return made


def body(runs: dict[tuple[str, int], dict[str, Any]]) -> str:
    lines = [
        "An ERP and a WMS, one fulfilment status each, 1% of the orders with the ERP at another stage",
        "(seeded). The store is bulk-loaded, each system's `(order_key, status)` exported to CSV, and every",
        "tool reads the two files and reports the mismatching orders; orderbridge's full pass reads the",
        "store and runs every rule (status_lag, ahead_of_authority, still_open, status_conflict, ...), with",
        "the WMS as fulfilment authority. Every tool found exactly the planted orders (checked).",
        "",
        "| store | orders | tool | seconds | peak RSS | ratio to datacompy (polars) |",
        "|---|--:|---|--:|--:|--:|",
    ]
    for (kind, size), run in sorted(runs.items()):
        measured = run["measured"]
        reference = measured.get(REFERENCE)
        for name, found in measured.items():
            ratio = f"{found['seconds'] / reference['seconds']:.2f}" if reference else "–"
            lines.append(
                f"| {kind} | {size:,} | {name} | {found['seconds']:.3f} | {found['peak_mib']} MiB | {ratio} |"
            )
        loaded = run["loaded"]
        lines.append(f"| {kind} | {size:,} | (export of both tables to CSV) | {loaded['export_s']:.3f} | | |")
        if run["missing"]:
            lines.append(f"\nNot installed, left out: {', '.join(run['missing'])}.")
    return "\n".join(lines)


SCENARIO = Scenario(
    name=NAME,
    title="the status-equality subset against datacompy and polars",
    sizes=(100_000, 1_000_000),
    quick=(5_000, 20_000),
    measure=measure,
)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs="+", required=True)
    what, *rest = parser.parse_args(argv).child
    if what == "load":
        found = load(rest[0], int(rest[1]), rest[2])
    elif what == "orderbridge":
        found = orderbridge_pass(rest[0])
    else:
        found = tool(rest[0], rest[1])
    print(json.dumps(found))


if __name__ == "__main__":
    main(sys.argv[1:])
