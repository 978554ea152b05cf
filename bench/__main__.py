"""python3 tasks.py bench [--quick] [scenario ...] [--sizes N,N] [--store sqlite|postgres|both]

Runs the named scenarios (all of them when none is named) at their full sizes, or the small ones with
--quick, or at --sizes. A full run writes each scenario's section of docs/benchmarks.md and its rows of
bench/results/latest.json (other scenarios' rows and sections are kept); a --quick run writes nothing
unless --write is given. --json prints the rows on standard output."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path

from bench import results
from bench.machine import DEFAULT_PG_URL, describe
from bench.registry import SCENARIOS
from bench.scenario import Options


def sizes(text: str) -> tuple[int, ...]:
    try:
        found = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"sizes are whole numbers separated by commas, not {text!r}"
        ) from None
    if not found or min(found) <= 0:
        raise argparse.ArgumentTypeError("give at least one size, each above 0")
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tasks.py bench", description=__doc__)
    parser.add_argument("scenarios", nargs="*", metavar="scenario", help=f"one of {', '.join(SCENARIOS)}")
    parser.add_argument(
        "--quick", action="store_true", help="the small sizes; writes nothing without --write"
    )
    parser.add_argument("--sizes", type=sizes, help="sizes to run every named scenario at, comma-separated")
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="server for scratch databases")
    parser.add_argument("--write", action="store_true", help="write the results even after --quick")
    parser.add_argument("--no-write", action="store_true", help="write no results")
    parser.add_argument("--json", action="store_true", help="print the result rows as JSON")
    parser.add_argument(
        "--cache",
        type=Path,
        help="keep generated SQLite stores in this folder and reuse them (they are seeded)",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.scenarios if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; the scenarios are: {', '.join(SCENARIOS)}")
    write = not args.no_write and (args.write or not args.quick)
    machine = describe(args.pg_url)
    printed = []
    with tempfile.TemporaryDirectory(prefix="orderbridge-bench-") as folder:
        if args.cache is not None:
            args.cache.mkdir(parents=True, exist_ok=True)
        options = Options(store=args.store, pg_url=args.pg_url, workdir=Path(folder), cache=args.cache)
        for name in args.scenarios or list(SCENARIOS):
            scenario = SCENARIOS[name]
            chosen = args.sizes or (scenario.quick if args.quick else scenario.sizes)
            print(f"{name}: sizes {', '.join(f'{s:,}' for s in chosen)} ...", file=sys.stderr, flush=True)
            started = time.perf_counter()
            outcome = scenario.measure(chosen, options)
            print(f"{name}: done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
            for row in outcome.rows:
                ratio = "" if row.ratio is None else f", ratio {row.ratio}"
                met = "met" if row.met else "NOT met"
                print(
                    f"  {row.size:>9,} {row.figure}: {row.value} {row.unit}{ratio} ({met})", file=sys.stderr
                )
            printed += [row.as_json(machine) for row in outcome.rows]
            if write:
                command = "python3 tasks.py bench " + shlex.join(
                    [name, "--sizes", ",".join(map(str, chosen))]
                )
                if args.store != "sqlite":
                    command += f" --store {args.store}"
                text = results.section(name, scenario.title, command, outcome, machine)
                results.save(name, text, outcome.rows, machine)
    if args.json:
        print(json.dumps(printed, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
