"""The conformance suite (conformance.py) applied to the connector types that are not presets, and the
check that every polling type in the registry has a Source somewhere in the connector tests.

To add a connector type: write a Source for it (a settings block and a real or respx-faked source it
reads) and a test class applying `ConnectorSuite` (or `ApiSuite` for an HTTP API) with it."""

from __future__ import annotations

import base64
import csv
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx
import openpyxl
import respx
from connectors.conformance import ConnectorSuite, Order, Source, StartServer

from orderbridge.connectors import registry
from orderbridge.connectors.base import ConnectorContext
from orderbridge.connectors.presets.base import PresetSettings

TESTS = Path(__file__).parent
SOURCE_TYPE = re.compile(r"^\s+connector_type = \"([\w-]+)\"", re.MULTILINE)


class RestSource(Source):
    """A WMS-like JSON API faked with respx: API key header, `{code, msg, data: {list, next_cursor}}`
    envelope, oldest-first listing filtered by `updated_after` (exclusive), opaque cursor tokens."""

    connector_type = "rest"
    base = "https://wms.example.com/api/v2"
    key = "k-55d0e1b2c3"
    minimal: ClassVar[dict[str, Any]] = {
        "type": "rest",
        "base_url": "https://wms.example.com/api/v2",
        "list": {"path": "/orders"},
    }
    misspelled = ("base_ur", "base_url")

    def __init__(self, router: respx.MockRouter) -> None:
        self.records: list[dict[str, Any]] = []
        router.get(f"{self.base}/orders").mock(side_effect=self.answer)

    def block(self) -> dict[str, Any]:
        return {
            "type": "rest",
            "base_url": self.base,
            "auth": {"api_key": {"header": "X-Api-Key", "value": self.key}},
            "list": {
                "path": "/orders",
                "params": {"updated_after": "{cursor}"},
                "records": "data.list",
                "paging": {
                    "style": "cursor",
                    "param": "cursor",
                    "next": "data.next_cursor",
                    "size_param": "limit",
                    "size": 2,
                },
            },
            # overlap 0s: a nonzero overlap deliberately re-reads its window (the store drops those)
            "cursor": {"field": "updated_at", "overlap": "0s", "sorted": True, "initial": "2026-11-01"},
            "errors": {"field": "code", "message": "msg"},
            "timezone": "Asia/Shanghai",
            "order_id": {"field": "order_no"},
            "fields": {"record_id": "id", "updated": "updated_at", "ordered_qty": "quantity"},
            "status": {
                "dimension": "fulfillment",
                "field": "state",
                "map": {"PICKING": "preparing", "SHIPPED": "shipped"},
            },
        }

    def publish(self, new: list[Order]) -> None:
        for order in new:
            self.records.append(
                {
                    "id": 880000 + len(self.records),
                    "order_no": order.number,
                    "state": order.status,
                    "updated_at": order.updated.isoformat(),
                    "quantity": order.quantity,
                    "warehouse": {"code": "SH-01"},
                }
            )

    def answer(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("X-Api-Key") != self.key:
            return httpx.Response(200, json={"code": 40101, "msg": "invalid api key", "data": None})
        params = request.url.params
        since = datetime.fromisoformat(params["updated_after"])
        changed = sorted(
            (r for r in self.records if datetime.fromisoformat(r["updated_at"]) > since),
            key=lambda r: r["updated_at"],
        )
        offset = int(base64.urlsafe_b64decode(params["cursor"])) if "cursor" in params else 0
        limit = int(params["limit"])
        end = offset + limit
        token = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(changed) else None
        data = {"list": changed[offset:end], "next_cursor": token, "total": len(changed)}
        return httpx.Response(200, json={"code": 0, "msg": "success", "data": data})

    @classmethod
    def serve(cls, folder: Path, server: StartServer) -> Iterator[Source]:
        with respx.mock(assert_all_called=True) as router:
            yield cls(router)


class SpreadsheetSource(Source):
    """Monthly purchasing exports in a folder, alternately XLSX and CSV, with Chinese headers."""

    connector_type = "spreadsheet"
    headers: ClassVar[list[str]] = ["订单号", "状态", "更新时间", "数量"]
    minimal: ClassVar[dict[str, Any]] = {"type": "spreadsheet", "path": "orders.xlsx"}
    misspelled = ("pth", "path")

    def __init__(self, folder: Path) -> None:
        self.folder, self.files = folder, 0
        (folder / "exports").mkdir()

    def block(self) -> dict[str, Any]:
        return {
            "type": "spreadsheet",
            "path": "exports/*",
            "columns": {"order": "订单号", "status": "状态", "updated": "更新时间", "ordered_qty": "数量"},
            "timezone": "Asia/Shanghai",
            "status": {"dimension": "fulfillment", "map": {"备货中": "preparing", "已发货": "shipped"}},
        }

    def publish(self, new: list[Order]) -> None:
        words = {"PICKING": "备货中", "SHIPPED": "已发货"}
        rows = [[o.number, words[o.status], o.updated.strftime("%Y/%m/%d %H:%M"), o.quantity] for o in new]
        self.files += 1
        if self.files % 2:
            book = openpyxl.Workbook()
            for row in [self.headers, *rows]:
                book.active.append(row)
            book.save(self.folder / "exports" / f"export-{self.files}.xlsx")
        else:
            with (self.folder / "exports" / f"export-{self.files}.csv").open("w", newline="") as handle:
                csv.writer(handle).writerows([self.headers, *rows])

    def context(self) -> ConnectorContext:
        return ConnectorContext(base_dir=self.folder)

    @classmethod
    def serve(cls, folder: Path, server: StartServer) -> Iterator[Source]:
        yield cls(folder)


class TestRest(ConnectorSuite):
    source_class = RestSource


class TestSpreadsheet(ConnectorSuite):
    source_class = SpreadsheetSource


def polling_types() -> set[str]:
    """Types read by polling whose records are orders: all but the tracking aggregators, whose safety-net
    polling has its own suite (test_push_providers.py, test_tracking_safety_net.py)."""
    return {
        name
        for name, entry in registry.REGISTRY.items()
        if entry.implementation is not None
        and (entry.receiver is None or issubclass(entry.settings, PresetSettings))
    }


def test_every_polling_type_has_a_conformance_source() -> None:
    """A polling connector type (a preset included) added to the registry without a Source applying the
    suite somewhere in the connector tests fails the build."""
    covered = {m for path in TESTS.rglob("test_*.py") for m in SOURCE_TYPE.findall(path.read_text("utf-8"))}
    assert polling_types() - covered == set()
