"""Shared fixtures: a store on each backend (SQLite file and a real PostgreSQL database made for this
test session), a fixed clock, and an ASGI app served by uvicorn on a real socket (loopback, port 0).

PostgreSQL comes from ORDERBRIDGE_TEST_PG_URL (default: the local server, database `test`). When it is
unreachable its tests skip with the reason, except under CI=true, where that is a failure."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import structlog
from serving import served
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from orderbridge.storage.db import Store
from orderbridge.storage.tables import metadata

PG_URL = os.environ.get("ORDERBRIDGE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_SKIP_REASON = "PostgreSQL not reachable at {url} ({error}); set ORDERBRIDGE_TEST_PG_URL to run these tests"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this session, dropped afterwards; yields its URL."""
    admin_url = make_url(PG_URL).set(drivername="postgresql+psycopg")
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        reason = PG_SKIP_REASON.format(
            url=admin_url.render_as_string(hide_password=True), error=type(exc).__name__
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI requires PostgreSQL: {reason}")
        pytest.skip(reason)
    admin.dispose()
    with new_pg_database() as url:
        yield url


@contextmanager
def new_pg_database() -> Iterator[str]:
    """An empty PostgreSQL database on the test server, dropped when the block ends; yields its URL."""
    admin_url = make_url(PG_URL).set(drivername="postgresql+psycopg")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"orderbridge_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL on each backend; the PostgreSQL database is emptied before each test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'orderbridge.db'}"
    url: str = request.getfixturevalue("pg_database")
    Store(url).close()  # migrate once (no-op after the first time)
    engine = create_engine(url)
    with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store(store_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def serve() -> Callable[[Any], AbstractContextManager[str]]:
    """`with serve(app) as base_url:` runs the app on uvicorn in a thread until the block ends."""
    return served


@pytest.fixture
def command_logging() -> Iterator[None]:
    """For a test that runs a command: the command configures logging onto the runner's streams, which
    close after it; later tests must not write to them."""
    yield
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_orderbridge", False)]:
        root.removeHandler(handler)
