"""POST /webhooks/<system>: size limit (413), media type (415), the sender's address, path token and
signature (403/401), then the raw body and the headers that matter written durably to the inbox, and
only then the acknowledgement the provider expects. A signed body that cannot be read is kept as
rejected and answered 400; an unknown system is 404; a store that cannot take the write is 503, so
the provider retries. A delivery seen before is acknowledged again and changes nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import structlog
from prometheus_client import Counter, Histogram
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from orderbridge.connectors.base import SystemSettings
from orderbridge.connectors.push.base import PushRequest, Receiver, Reply, body_key, stored_body
from orderbridge.connectors.push.request import Malformed, Rejected
from orderbridge.scheduler.http import Metrics
from orderbridge.scheduler.processing import InboxProcessor, receivers
from orderbridge.storage import inbox
from orderbridge.storage.db import Store
from orderbridge.storage.groupcommit import GroupCommitWriter, StoreUnavailable

log = structlog.get_logger("orderbridge.webhooks")
WRITE_TIMEOUT = 10.0  # seconds a request waits for its commit before it answers 503
RETRY_AFTER = "30"


class Webhooks:
    """The webhook side of the daemon: intake (the endpoint and its group-commit writer) and the
    processing thread that turns stored events into observations after they were acknowledged."""

    def __init__(
        self,
        store: Store,
        systems: Mapping[str, SystemSettings],
        metrics: Metrics,
        after_processing: Callable[[], None] | None = None,
    ) -> None:
        self.receivers = receivers(systems)
        self.writer = GroupCommitWriter(store)
        self.processor = InboxProcessor(
            store, systems, self.receivers, after=after_processing, quiet=self.writer.quiet
        )
        self.writer.on_commit = self.processor.notify
        self.events = metrics.webhook_events
        self.requests = Counter(
            "orderbridge_webhook_requests",
            "Webhook requests by outcome (stored, duplicate, rejected, unauthorized, ...)",
            ["system", "outcome"],
            registry=metrics.registry,
        )
        self.latency = Histogram(
            "orderbridge_webhook_ack_seconds",
            "Time from a webhook request to its acknowledgement",
            ["system"],
            registry=metrics.registry,
            buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
        )

    def routes(self) -> list[Route]:
        return [
            Route("/webhooks/{system}", self.receive, methods=["POST"]),
            Route("/webhooks/{system}/{token}", self.receive, methods=["POST"]),
        ]

    def start(self) -> None:
        if self.receivers:
            self.writer.start()
            self.processor.start()

    def stop(self) -> None:
        self.writer.stop()  # what was queued is written first
        self.processor.stop()

    async def receive(self, request: Request) -> Response:
        name = request.path_params["system"]
        receiver = self.receivers.get(name)
        if receiver is None:
            return _json(404, {"error": f"no system {name!r} receives webhooks here"})
        started = asyncio.get_running_loop().time()
        reply, outcome = await self._handle(receiver, request)
        self.requests.labels(name, outcome).inc()
        self.latency.labels(name).observe(asyncio.get_running_loop().time() - started)
        headers = {"Retry-After": RETRY_AFTER} if reply.status == 503 else None
        return Response(reply.body, status_code=reply.status, media_type=reply.media_type, headers=headers)

    async def _handle(self, receiver: Receiver, request: Request) -> tuple[Reply, str]:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > receiver.max_body:
            return receiver.refuse(413, f"the body is larger than {receiver.max_body} bytes"), "too_large"
        body = await _read(request, receiver.max_body)
        if body is None:
            return receiver.refuse(413, f"the body is larger than {receiver.max_body} bytes"), "too_large"
        media_type, charset = _media_type(request.headers.get("content-type", ""))
        if media_type not in receiver.media_types:
            wanted = " or ".join(receiver.media_types)
            return receiver.refuse(
                415, f"expected Content-Type {wanted}, got {media_type or 'none'}"
            ), "media_type"
        push = PushRequest(
            body=body,
            headers={k.lower(): v for k, v in request.headers.items()},
            query=dict(request.query_params),
            media_type=media_type,
            charset=charset,
            client=request.client.host if request.client else None,
            token=request.path_params.get("token"),
        )
        try:
            receiver.authenticate(push)
        except Rejected as exc:
            log.warning("webhook refused", system=receiver.name, status=exc.status, reason=exc.reason)
            return receiver.refuse(exc.status, exc.reason), "unauthorized"
        try:
            delivery = receiver.accept(push)
        except Malformed as exc:
            text, extra = stored_body(body)
            row = _row(
                receiver.name, "rejected:" + body_key(body), {**extra}, text, inbox.REJECTED, exc.reason
            )
            if await self._store(row) is _UNAVAILABLE:
                return receiver.refuse(503, "the store is unavailable; retry later"), "unavailable"
            log.warning("webhook body rejected", system=receiver.name, reason=exc.reason)
            return receiver.refuse(400, exc.reason), "rejected"
        text, extra = stored_body(body)
        stored = await self._store(
            _row(receiver.name, delivery.dedupe_key, {**delivery.headers, **extra}, text, inbox.PENDING, None)
        )
        if stored is _UNAVAILABLE:
            return receiver.refuse(503, "the store is unavailable; retry later"), "unavailable"
        if stored is False:
            return receiver.acknowledge(push), "duplicate"
        self.events.labels(receiver.name).inc()
        return receiver.acknowledge(push), "stored"

    async def _store(self, row: dict[str, Any]) -> object:
        try:
            return await asyncio.wait_for(asyncio.wrap_future(self.writer.submit(row)), WRITE_TIMEOUT)
        except (StoreUnavailable, TimeoutError):
            return _UNAVAILABLE


_UNAVAILABLE = object()


def _row(
    system: str, key: str, headers: dict[str, Any], body: str, state: str, error: str | None
) -> dict[str, Any]:
    return {
        "system": system,
        "dedupe_key": key[:255],
        "received_at": datetime.now(UTC),
        "headers": headers,
        "body": body,
        "state": state,
        "error": error,
    }


async def _read(request: Request, limit: int) -> bytes | None:
    parts, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                return None
            parts.append(chunk)
    except ClientDisconnect:
        return b""
    return b"".join(parts)


def _media_type(header: str) -> tuple[str, str | None]:
    kind, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value.strip().strip('"').lower()
    return kind.strip().lower(), charset


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status_code=status, media_type="application/json")
