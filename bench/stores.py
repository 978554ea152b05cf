"""Scratch stores for a scenario: a SQLite file in the run's folder, or a PostgreSQL database created on
the benchmark server and dropped afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.scenario import Options


def kinds(options: Options) -> list[str]:
    return ["sqlite", "postgres"] if options.store == "both" else [options.store]


@contextmanager
def scratch(kind: str, options: Options, name: str) -> Iterator[str]:
    """The URL of an empty store named `name` on `kind`, removed when the block ends."""
    if kind == "sqlite":
        path = options.workdir / f"{name}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for leftover in path.parent.glob(f"{name}.db*"):
                leftover.unlink()
        return
    admin_url = make_url(options.pg_url).set(drivername="postgresql+psycopg")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    database = f"orderbridge_bench_{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    try:
        yield admin_url.set(database=database).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
