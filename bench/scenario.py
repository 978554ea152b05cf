"""What a scenario is: a name, the sizes it runs at (full and --quick), and a function measuring them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.machine import ROOT
from bench.results import Outcome


@dataclass(frozen=True)
class Options:
    store: str  # sqlite, postgres or both
    pg_url: str  # server on which scratch databases are created and dropped
    workdir: Path  # a temporary folder of this run (SQLite files, exports)
    cache: Path | None = None  # where generated SQLite stores are kept and reused (generation is seeded)


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str  # the heading of its section in docs/benchmarks.md
    sizes: tuple[int, ...]  # what a full run measures
    quick: tuple[int, ...]  # what --quick measures
    measure: Callable[[Sequence[int], Options], Outcome]


def child(module: str, *arguments: str, timeout: float | None = None, cwd: Path = ROOT) -> dict[str, Any]:
    """Run `python -m <module> --child <arguments>` in a fresh process (its own peak RSS) and return the
    JSON object its last line of standard output holds. From `cwd` (see `reference`), `orderbridge` is
    that folder's."""
    done = subprocess.run(
        [sys.executable, "-m", module, "--child", *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{module} {' '.join(arguments)} failed ({done.returncode}):\n{done.stderr[-4000:]}"
        )
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def reference(options: Options, commit: str) -> Path:
    """A folder holding orderbridge as it was at `commit` beside today's bench/: children run from it
    measure that orderbridge on the same data, in the same run."""
    folder = options.workdir / f"orderbridge-{commit}"
    if not folder.exists():
        folder.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", commit, "orderbridge"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
        # Today's migrations, so that it opens stores made today (tables it does not know it ignores).
        migrations = folder / "orderbridge" / "storage" / "migrations"
        shutil.rmtree(migrations)
        shutil.copytree(ROOT / "orderbridge" / "storage" / "migrations", migrations)
        (folder / "bench").symlink_to(ROOT / "bench")
    return folder
