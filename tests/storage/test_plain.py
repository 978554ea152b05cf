"""The plain columns of observations (storage/plain.py): the database fills them from the JSON of every
row ingest writes, and migration 0005 fills them for the rows a store already held, on both backends."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from conftest import new_pg_database
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from orderbridge.mapping.model import Amounts, CanonicalStatus, Dimension, Observation, Quantities
from orderbridge.storage import observations, plain
from orderbridge.storage.db import MIGRATIONS, Store
from orderbridge.storage.tables import metadata
from orderbridge.storage.tables import observations as table

PLAIN = list(plain.expressions())


def record(record_id: str, now: datetime, **fields: Any) -> Observation:
    return Observation(
        system="finance",
        record_id=record_id,
        order_key=f"SO-{record_id}",
        observed_at=now,
        status_at=now,
        statuses={
            Dimension.fulfillment: CanonicalStatus(status="shipped", native="SHIPPED"),
            Dimension.billing: CanonicalStatus(status="invoiced", native="Invoiced"),
        },
        **fields,
    )


RECORDS = {
    "1": {
        "quantities": Quantities(ordered=Decimal(5), shipped=Decimal("5.0")),
        "amounts": Amounts(order=Decimal("50.00"), invoiced=Decimal("50.00"), currency=" cny "),
    },
    "2": {},
}
# What each plain column holds for RECORDS: the JSON's text, NULL where the record says nothing.
EXPECTED = {
    "1": {
        "status_fulfillment": "shipped",
        "status_shipment": None,
        "status_billing": "invoiced",
        "quantity_ordered": "5",
        "quantity_shipped": "5.0",
        "quantity_invoiced": None,
        "amount_order": "50.00",
        "amount_invoiced": "50.00",
        "amount_paid": None,
        "amount_currency": "CNY",
    },
    "2": {
        "status_fulfillment": "shipped",
        "status_shipment": None,
        "status_billing": "invoiced",
        **{name: None for name in PLAIN if name.startswith(("quantity_", "amount_"))},
    },
}


def ingest(store: Store, now: datetime) -> None:
    with store.begin() as conn:
        items = [(record(rid, now, **fields), {"id": rid}) for rid, fields in RECORDS.items()]
        observations.ingest(conn, items, now)


def plain_values(store: Store) -> dict[str, dict[str, Any]]:
    with store.begin() as conn:
        rows = conn.execute(select(table.c.record_id, *(table.c[name] for name in PLAIN))).mappings()
        return {row["record_id"]: {name: row[name] for name in PLAIN} for row in rows}


def test_every_plain_column_is_declared_and_expected() -> None:
    """The table, the migration's expectations here and storage/plain.py name the same columns."""
    assert set(EXPECTED["1"]) == set(PLAIN) == {c.name for c in table.columns if c.computed is not None}


def test_migration_0005_makes_the_columns_the_table_declares() -> None:
    """The migration spells each generated column's expression out (older code runs it too): the same
    SQL as tables.py declares, on each backend."""
    path = MIGRATIONS / "versions" / "0005_plain_columns.py"
    spec = importlib.util.spec_from_file_location("migration_0005", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        for column in table.columns:
            if column.computed is not None:
                declared = str(column.computed.sqltext.compile(dialect=dialect))
                assert migration._expression(column.name, dialect.name) == declared, column.name


def test_ingest_writes_the_plain_columns(store: Store, now: datetime) -> None:
    """A record's statuses, quantities, amounts and currency are in its plain columns once ingested,
    and follow the record when it changes."""
    ingest(store, now)
    assert plain_values(store) == EXPECTED
    changed = record("2", now, amounts=Amounts(paid=Decimal("7.10"), currency="usd"))
    with store.begin() as conn:
        observations.ingest(conn, [(changed, {"id": "2", "paid": True})], now)
    assert plain_values(store)["2"] == {
        **EXPECTED["2"],
        "amount_paid": "7.10",
        "amount_currency": "USD",
    }


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store URL with nothing in it yet (not even the tables), on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    request.getfixturevalue("pg_database")  # skips (or fails under CI) without a server
    with new_pg_database() as url:
        yield url


def test_migration_0005_fills_the_plain_columns_of_rows_stored_before_it(
    empty_url: str, now: datetime
) -> None:
    """A store at revision 0004 with records in it: opening it migrates, and every existing row has its
    plain columns, with the schema exactly as declared (indexes kept through SQLite's rebuild)."""
    old = Store(empty_url, migrate=False)
    with old.engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = conn
        command.upgrade(config, "0004")
    ingest(old, now)  # what ingest writes is the columns 0004 has
    old.close()
    store = Store(empty_url)
    try:
        assert plain_values(store) == EXPECTED
        with store.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        store.close()
