"""A sync in which most records lack the order field or every status field (a typo in a field path)
is not silent: a warning in the log, in `sync`'s output and on /metrics."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import respx
import structlog
from prometheus_client import generate_latest
from structlog.testing import capture_logs
from typer.testing import CliRunner

from orderbridge.config.loader import load_config
from orderbridge.connectors.base import ConnectorContext
from orderbridge.scheduler.cli import app
from orderbridge.scheduler.daemon import Daemon
from orderbridge.scheduler.sync import sync_system
from orderbridge.storage.db import Store

ORDERS = {
    "data": [
        {"id": 1, "order_no": "SO-000001", "state": "PICKING"},
        {"id": 2, "order_no": "SO-000002", "state": "PICKING"},
        {"id": 3, "order_ref": "SO-000003", "status": "PICKING"},
    ]
}


@pytest.fixture(autouse=True)
def _logging_back_to_default() -> Iterator[None]:
    """The command configures logging onto the runner's streams, closed after it: undo that."""
    yield
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_orderbridge", False)]:
        root.removeHandler(handler)


def config(
    tmp_path: Path, store_url: str, order_field: str = "order_ref", status_field: str = "status"
) -> Path:
    path = tmp_path / "orderbridge.yaml"
    path.write_text(
        f"""
store: {{url: "{store_url}"}}
systems:
  wms:
    type: rest
    base_url: https://wms.example.com/api
    list: {{path: /orders, records: data}}
    order_id: {{field: {order_field}}}
    fields: {{record_id: id}}
    status: {{dimension: fulfillment, field: {status_field}, map: {{PICKING: preparing}}}}
""",
        encoding="utf-8",
    )
    return path


def test_most_records_without_the_order_field_or_a_status_warn_in_the_log(
    tmp_path: Path, store: Store
) -> None:
    """Two of three records lack `order_ref` and `status` (the source says order_no/state): the sync
    stores what it can and returns, and logs, a warning for each, naming the setting to check."""
    settings = load_config(config(tmp_path, "sqlite:///unused.db")).config.systems["wms"]
    with respx.mock(assert_all_called=True) as router, capture_logs() as logs:
        router.get("https://wms.example.com/api/orders").respond(json=ORDERS)
        result = sync_system(store, "wms", settings, ConnectorContext())
    assert result.records == 3
    assert result.warnings == [
        "wms: 2 of 3 records have no order number at 'order_ref' (order_id.field); "
        "see what the records hold with: orderbridge probe wms",
        "wms: 2 of 3 records have none of the status fields 'status'; "
        "see what the records hold with: orderbridge probe wms",
    ]
    assert [e["detail"] for e in logs if e["event"] == "records lack configured fields"] == result.warnings


def test_a_sync_with_the_fields_present_warns_nothing(tmp_path: Path, store: Store) -> None:
    """With the right paths (order_no, state) the same answer gives no warning: the check is about
    the paths, not about the records."""
    settings = load_config(config(tmp_path, "sqlite:///unused.db", "order_no", "state")).config.systems["wms"]
    answer: dict[str, Any] = {"data": ORDERS["data"][:2]}
    with respx.mock(assert_all_called=True) as router:
        router.get("https://wms.example.com/api/orders").respond(json=answer)
        result = sync_system(store, "wms", settings, ConnectorContext())
    assert result.records == 2 and result.warnings == []


def test_sync_prints_the_warning_and_metrics_show_the_share(tmp_path: Path) -> None:
    """`orderbridge sync` prints the warning; the daemon's /metrics show the share of records lacking
    each, so an alert can watch it."""
    path = config(tmp_path, f"sqlite:///{tmp_path / 'ob.db'}")
    with respx.mock(assert_all_called=True) as router:
        router.get("https://wms.example.com/api/orders").respond(json=ORDERS)
        daemon = Daemon(load_config(path))
        try:
            daemon.poll("wms")
            metrics = generate_latest(daemon.metrics.registry).decode()
        finally:
            daemon.store.close()
        result = CliRunner().invoke(app, ["sync", "wms", "-c", str(path)])
    assert result.exit_code == 0, result.output
    assert "warning: wms: 2 of 3 records have no order number at 'order_ref'" in result.output
    assert 'orderbridge_last_poll_missing_ratio{field="order",system="wms"} 0.6666666666666666' in metrics
    assert 'orderbridge_last_poll_missing_ratio{field="status",system="wms"} 0.6666666666666666' in metrics
