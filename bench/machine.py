"""What a benchmark ran on and at which commit: cores, memory, Python, SQLite and PostgreSQL versions."""

from __future__ import annotations

import os
import platform
import resource
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = os.environ.get(
    "ORDERBRIDGE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    memory_gib: float
    python: str
    sqlite: str
    postgres: str
    date: str
    commit: str

    def line(self) -> str:
        return (
            f"{self.date}, commit `{self.commit}`: {self.cpu}, {self.cores} cores, "
            f"{self.memory_gib:.1f} GiB RAM, Python {self.python}, SQLite {self.sqlite}, "
            f"PostgreSQL {self.postgres}, load average {os.getloadavg()[0]:.1f} at the start"
        )

    def short(self) -> str:
        return f"{platform.machine()}, {self.cores} cores, {self.python}"


def describe(pg_url: str = DEFAULT_PG_URL) -> Machine:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu)
    with open("/proc/meminfo", encoding="utf-8") as handle:
        kib = int(next(line for line in handle if line.startswith("MemTotal")).split()[1])
    return Machine(
        cpu=cpu,
        cores=os.cpu_count() or 0,
        memory_gib=kib / 1024 / 1024,
        python=platform.python_version(),
        sqlite=sqlite3.sqlite_version,
        postgres=postgres_version(pg_url),
        date=f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        commit=commit(),
    )


def postgres_version(pg_url: str) -> str:
    try:
        import psycopg

        url = pg_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]).split()[0] if row else "unknown"
    except Exception as exc:  # the report says why rather than failing at the end
        return f"unreachable ({type(exc).__name__})"


def commit() -> str:
    """The commit benchmarked, marked when orderbridge/ or bench/ had uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "orderbridge", "bench"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head or 'unknown'}{' + uncommitted changes' if dirty else ''}"


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (ru_maxrss is KiB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
