"""What the HTTP endpoint answers when a request or the store is not as it should be: a value no
store could hold is simply not found, a store that cannot be reached is a 503 saying so; nothing
else answers 5xx, and no request logs a traceback."""

from __future__ import annotations

import structlog
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError, SQLAlchemyError, TimeoutError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from orderbridge.storage.limits import usable_key

log = structlog.get_logger("orderbridge.http")
UNAVAILABLE = {"error": "the store is not available; try again later", "status": 503}


def bad_key(key: str) -> Response | None:
    """A 404 for an order key that no store could hold (a NUL, over 255 characters): it cannot exist."""
    if usable_key(key):
        return None
    return JSONResponse({"error": "no such order: not a possible order key"}, status_code=404)


async def store_failed(request: Request, exc: Exception) -> Response:
    """A store error while answering: 503 when the store cannot be reached (connection refused,
    lost, timed out, locked), 500 (logged, without the request's values) for anything else."""
    if isinstance(exc, OperationalError | DisconnectionError | TimeoutError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        log.warning("store unavailable", path=request.url.path, error=type(exc).__name__)
        return JSONResponse(UNAVAILABLE, status_code=503, headers={"Retry-After": "30"})
    log.error("store error while answering", path=request.url.path, error=type(exc).__name__)
    return JSONResponse({"error": "internal error"}, status_code=500)


HANDLERS = {SQLAlchemyError: store_failed}
