"""The fake tenants of tests/connectors/presets answer httpx requests (for respx); served by a real
local server (live_http), a request it received is turned into one and the answer back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from live_http import Seen


def answer(handler: Callable[[httpx.Request], httpx.Response], seen: Seen) -> tuple[Any, ...]:
    request = httpx.Request(seen.method, f"http://tenant{seen.path}", headers=seen.headers, content=seen.body)
    response = handler(request)
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = response.text
    kept = [
        (k, v)
        for k, v in response.headers.multi_items()
        if k.lower() not in ("content-length", "content-type")
    ]
    return (response.status_code, body, kept)
