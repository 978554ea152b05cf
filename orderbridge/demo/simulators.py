"""Simulated third-party systems for the demo and the tests: a Chinese-market ERP and a WMS, each a real
HTTP server on 127.0.0.1 serving an in-memory list of records that tests may change between polls."""

from __future__ import annotations

import base64
import binascii
import copy
import json
import math
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Self, cast
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx

from orderbridge.demo.config import DEMO_CREDENTIALS

SHANGHAI = ZoneInfo("Asia/Shanghai")
ERP_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

Record = dict[str, Any]


def erp_time(moment: datetime) -> str:
    """How the ERP writes a time: Asia/Shanghai wall-clock time, no zone."""
    return moment.astimezone(SHANGHAI).strftime(ERP_TIME_FORMAT)


def wms_time(moment: datetime) -> str:
    """How the WMS writes a time: UTC, ISO 8601 with a trailing Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RequestLog:
    method: str
    path: str
    query: dict[str, str]


class SimulatedAPI:
    """The shared machinery: server lifecycle, the record list behind a lock, injected failures."""

    key_field: ClassVar[str]
    name: ClassVar[str]

    def __init__(self, records: Iterable[Record] = ()) -> None:
        self._lock = threading.Lock()
        self._records: list[Record] = [copy.deepcopy(r) for r in records]
        self._failures: list[tuple[int, float | None]] = []
        self._requests: list[RequestLog] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.latency = 0.0  # seconds each request takes, to simulate a slow source

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Self:
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", 0), _Handler)
        server.simulator = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"simulated-{self.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"the simulated {self.name} is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def transport(self) -> httpx.MockTransport:
        """The same API without a socket, for tests that inject an httpx transport."""

        def handler(request: httpx.Request) -> httpx.Response:
            reply = self.handle(request.method, request.url.raw_path.decode("ascii"), request.headers)
            return httpx.Response(reply.status, json=reply.body, headers=reply.headers)

        return httpx.MockTransport(handler)

    # -- records ---------------------------------------------------------------------------------

    @property
    def records(self) -> list[Record]:
        """A copy of the records as they are now."""
        with self._lock:
            return copy.deepcopy(self._records)

    def set_records(self, records: Iterable[Record]) -> None:
        with self._lock:
            self._records = [copy.deepcopy(r) for r in records]

    def add_record(self, record: Record) -> None:
        with self._lock:
            self._records.append(copy.deepcopy(record))

    def update_record(self, record_id: Any, **changes: Any) -> Record:
        """Change fields of the record whose key field equals `record_id`; returns the new record."""
        with self._lock:
            for record in self._records:
                if record.get(self.key_field) == record_id:
                    record.update(copy.deepcopy(changes))
                    return copy.deepcopy(record)
        raise KeyError(f"the simulated {self.name} has no record with {self.key_field} {record_id!r}")

    def remove_record(self, record_id: Any) -> None:
        with self._lock:
            kept = [r for r in self._records if r.get(self.key_field) != record_id]
            if len(kept) == len(self._records):
                raise KeyError(f"the simulated {self.name} has no record with {self.key_field} {record_id!r}")
            self._records = kept

    # -- test switches ---------------------------------------------------------------------------

    def fail_next(self, count: int = 1, status: int = 503, retry_after: float | None = None) -> None:
        """Answer the next `count` requests with HTTP `status` (with Retry-After when given)."""
        with self._lock:
            self._failures.extend([(status, retry_after)] * count)

    @property
    def requests(self) -> list[RequestLog]:
        """Every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    # -- serving ---------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Mapping[str, str]) -> Reply:
        parts = urlsplit(target)
        query = {name: values[-1] for name, values in parse_qs(parts.query, keep_blank_values=True).items()}
        lowered = {name.lower(): value for name, value in headers.items()}
        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            self._requests.append(RequestLog(method, parts.path, query))
            if self._failures:
                status, retry_after = self._failures.pop(0)
                extra = {"Retry-After": _seconds(retry_after)} if retry_after is not None else {}
                return Reply(status, {"error": HTTPStatus(status).phrase}, extra)
            if not self._authorised(lowered):
                return self._unauthorised()
            return self._route(method, parts.path, query)

    def _authorised(self, headers: Mapping[str, str]) -> bool:
        raise NotImplementedError

    def _unauthorised(self) -> Reply:
        raise NotImplementedError

    def _route(self, method: str, path: str, query: dict[str, str]) -> Reply:
        raise NotImplementedError


class SimulatedERP(SimulatedAPI):
    """A Chinese-market ERP's sale-order list: bearer token, page numbers, errors inside a 200 body.

    Records look like {"id": 5001, "bill_no": "SO-2026-0042", "status": "备货中",
    "modified": "2026-11-22 08:00:00", "amount": "1200.00", "currency": "CNY", "qty": 10,
    "customer_po": "PO-7788"}; `modified` is Asia/Shanghai wall-clock time without a zone.
    """

    key_field = "id"
    name = "ERP"
    path = "/api/v1/sale-orders"
    default_page_size = 20
    max_page_size = 100

    def __init__(self, records: Iterable[Record] = (), *, token: str = DEMO_CREDENTIALS.erp_token) -> None:
        super().__init__(records)
        self.token = token
        self._body_errors: list[tuple[int, str]] = []

    def body_error_next(self, code: int = 40001, message: str = "session expired", count: int = 1) -> None:
        """Answer the next `count` authorised requests with HTTP 200 and {"code": code, "message": ...}."""
        with self._lock:
            self._body_errors.extend([(code, message)] * count)

    def _authorised(self, headers: Mapping[str, str]) -> bool:
        return headers.get("authorization") == f"Bearer {self.token}"

    def _unauthorised(self) -> Reply:
        return Reply(401, {"code": 40100, "message": "invalid or missing access token"})

    def _route(self, method: str, path: str, query: dict[str, str]) -> Reply:
        if path.rstrip("/") != self.path:
            return Reply(404, {"code": 40400, "message": f"no such endpoint: {path}"})
        if method != "GET":
            return Reply(405, {"code": 40500, "message": f"{method} is not allowed here"})
        if self._body_errors:
            code, message = self._body_errors.pop(0)
            return Reply(200, {"code": code, "message": message})
        try:
            since = _parse_since(query.get("modified_since"), SHANGHAI, "modified_since")
            page = _int_param(query, "page", 1, 1, 1_000_000)
            size = _int_param(query, "page_size", self.default_page_size, 1, self.max_page_size)
        except ValueError as exc:
            return Reply(200, {"code": 40002, "message": f"invalid parameter: {exc}"})
        selected = sorted(
            (r for r in self._records if since is None or _erp_modified(r) >= since),
            key=lambda r: (_erp_modified(r), r["id"]),
        )
        items = selected[(page - 1) * size : page * size]
        return Reply(
            200,
            {"code": 0, "message": "ok", "data": {"items": items, "page": page, "total": len(selected)}},
        )


class SimulatedWMS(SimulatedAPI):
    """A warehouse system's outbound orders: API key header, opaque keyset cursor, UTC timestamps.

    Records look like {"wms_id": "OB-88001", "order_ref": "XSDD000042", "status": "SHIPPED",
    "updated_at": "2026-11-22T02:00:00Z", "qty_ordered": 10, "qty_shipped": 8,
    "tracking_no": "SF1400000042"}.
    """

    key_field = "wms_id"
    name = "WMS"
    path = "/v2/outbound-orders"
    default_limit = 50
    max_limit = 200

    def __init__(
        self, records: Iterable[Record] = (), *, api_key: str = DEMO_CREDENTIALS.wms_api_key
    ) -> None:
        super().__init__(records)
        self.api_key = api_key

    def _authorised(self, headers: Mapping[str, str]) -> bool:
        return headers.get("x-api-key") == self.api_key

    def _unauthorised(self) -> Reply:
        return Reply(401, {"error": "unauthorized", "message": "missing or invalid X-Api-Key"})

    def _route(self, method: str, path: str, query: dict[str, str]) -> Reply:
        if path.rstrip("/") != self.path:
            return Reply(404, {"error": "not_found", "message": f"no such endpoint: {path}"})
        if method != "GET":
            return Reply(405, {"error": "method_not_allowed", "message": f"{method} is not allowed here"})
        try:
            after = _parse_since(query.get("updated_after"), UTC, "updated_after")
            limit = _int_param(query, "limit", self.default_limit, 1, self.max_limit)
            position = _decode_cursor(query["cursor"]) if query.get("cursor") else None
        except ValueError as exc:
            return Reply(400, {"error": "bad_request", "message": str(exc)})
        # Keyset order: a record updated while a client pages moves behind the cursor, so the client
        # sees it once more at the end instead of skipping another one.
        ordered = sorted(
            (r for r in self._records if after is None or _wms_updated(r) > after),
            key=_wms_key,
        )
        if position is not None:
            ordered = [r for r in ordered if _wms_key(r) > position]
        page = ordered[:limit]
        next_cursor = _encode_cursor(_wms_key(page[-1])) if len(ordered) > limit else None
        return Reply(200, {"data": page, "next_cursor": next_cursor})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    simulator: SimulatedAPI

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up mid-answer is no reason for a traceback on stderr."""


class _Handler(BaseHTTPRequestHandler):
    server_version = "simulated/1.0"

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        simulator = cast(_Server, self.server).simulator
        headers = {name: value for name, value in self.headers.items()}
        try:
            reply = simulator.handle(self.command, self.path, headers)
        except Exception as exc:  # a broken test record must show up as a 500, not a hung client
            reply = Reply(500, {"error": "internal", "message": f"{type(exc).__name__}: {exc}"})
        body = json.dumps(reply.body, ensure_ascii=False).encode("utf-8")
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the simulators run inside the demo and the tests, whose output is for people."""


def _parse_since(value: str | None, naive_zone: Any, name: str) -> datetime | None:
    if value is None or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        hint = " (a '+' in a query string must be sent as %2B)" if " " in value else ""
        raise ValueError(f"{name}: {value!r} is not an ISO 8601 time{hint}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=naive_zone)


def _int_param(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    text = query.get(name)
    if text is None or text == "":
        return default
    try:
        number = int(text)
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a whole number") from None
    if not low <= number <= high:
        raise ValueError(f"{name}: must be between {low} and {high}, got {number}")
    return number


def _erp_modified(record: Record) -> datetime:
    return datetime.strptime(str(record["modified"]), ERP_TIME_FORMAT).replace(tzinfo=SHANGHAI)


def _wms_updated(record: Record) -> datetime:
    return datetime.fromisoformat(str(record["updated_at"]))


def _wms_key(record: Record) -> tuple[datetime, str]:
    return (_wms_updated(record), str(record["wms_id"]))


def _encode_cursor(key: tuple[datetime, str]) -> str:
    text = json.dumps([key[0].isoformat(), key[1]])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode_cursor(token: str) -> tuple[datetime, str]:
    try:
        padded = token + "=" * (-len(token) % 4)
        moment, wms_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return (datetime.fromisoformat(moment), str(wms_id))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise ValueError(f"cursor: {token!r} is not a cursor this server issued") from None


def _seconds(value: float) -> str:
    return str(math.ceil(value))  # HTTP allows whole seconds only
