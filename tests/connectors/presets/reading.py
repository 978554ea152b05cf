"""What the presets' own tests share: a whole poll of a preset's block, its records by id per system
(the orders, or a child listing's), and the canonical statuses a record maps to."""

from __future__ import annotations

import threading
from typing import Any

from orderbridge.connectors import registry
from orderbridge.connectors.base import Batch, ConnectorContext
from orderbridge.connectors.presets.base import DeclarativePreset
from orderbridge.mapping.model import SourceRecord
from orderbridge.mapping.status import map_statuses


def poll_all(system: str, block: DeclarativePreset, cursor: dict[str, Any] | None = None) -> list[Batch]:
    connector = registry.create(system, block, ConnectorContext())
    try:
        return list(connector.poll(cursor, threading.Event()))
    finally:
        connector.close()


def by_id(batches: list[Batch], system: str | None) -> dict[str, SourceRecord]:
    """The records of one system by record id; `system` None: the orders themselves."""
    return {r.record_id: r for b in batches if b.system == system for r in b.records}


def statuses(block: DeclarativePreset, record: SourceRecord, child: str | None = None) -> dict[str, str]:
    """Dimension -> canonical status of a record, mapped by the block's tables (or its child's)."""
    tables = block.rest().child(child).status if child else block.status
    return {str(d): s.status for d, s in map_statuses(tables, record.native_status).items()}
