"""Opening the store: engine set-up for SQLite (WAL, immediate transactions) and PostgreSQL, and
schema migration to the latest Alembic revision on open."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

MIGRATIONS = Path(__file__).parent / "migrations"


class StoreError(RuntimeError):
    """The store cannot be opened or reached; the message never carries the URL's password."""


def safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable store URL>"


def resolve_url(url: str, base_dir: Path | None) -> str:
    """SQLite paths relative to the config file's folder; `postgresql://` means psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        parsed = parsed.set(database=str(path))
    return parsed.render_as_string(hide_password=False)


class Store:
    def __init__(self, url: str, base_dir: Path | None = None, *, migrate: bool = True) -> None:
        self.url = resolve_url(url, base_dir)
        self.display_url = safe_url(self.url)
        self.engine = _create_engine(self.url)
        if migrate:
            self.migrate()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def sqlite_path(self) -> Path | None:
        database = make_url(self.url).database
        return Path(database) if self.dialect == "sqlite" and database else None

    def migrate(self) -> None:
        try:
            with self.engine.begin() as conn:
                config = AlembicConfig()
                config.set_main_option("script_location", str(MIGRATIONS))
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
        except OperationalError as exc:
            raise StoreError(f"cannot open the store {self.display_url}: {exc.orig}") from None

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back on an exception."""
        with self.engine.begin() as conn:
            yield conn

    def refresh_statistics(self) -> None:
        """Let PostgreSQL's planner see how large the tables a load fills have grown. Autovacuum does
        this too, but only after its naptime and thresholds (or never, where it is off): during a first
        load of many thousand records, lookups by key would otherwise be planned as table scans."""
        if self.dialect != "postgresql":
            return  # SQLite plans these lookups on the primary key without statistics
        with self.engine.begin() as conn:
            conn.execute(text("ANALYZE observations, status_history, order_links, reconcile_queue"))

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def close(self) -> None:
        self.engine.dispose()


def _create_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"not a database URL: {safe_url(url)}") from None
    if parsed.get_backend_name() != "sqlite":
        try:
            return create_engine(url, pool_pre_ping=True, future=True)
        except ImportError as exc:  # the driver is an optional dependency
            raise StoreError(
                f"cannot open the store {safe_url(url)}: its database driver is not installed ({exc.name}); "
                "install orderbridge[postgres]"
            ) from None
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # The driver keeps 128 prepared statements by default; statements with IN lists of every length
    # make that many distinct ones over a long pass (about 10 MiB more at 1,000,000 orders than at
    # 100,000). 32 hold every statement a pass repeats.
    engine = create_engine(url, connect_args={"timeout": 30, "cached_statements": 32})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy issue BEGIN itself, as BEGIN IMMEDIATE, so two writers never deadlock
        # upgrading read locks; WAL lets readers (the HTTP API, the CLI) run beside a writer.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
