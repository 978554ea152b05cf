"""Generated hostile HTTP requests, shared by the fuzz tests of the daemon's endpoint and of the web
pages: any method, percent-encoded bytes (NUL, invalid UTF-8, overlong forms) in path and query, long
keys, odd headers and bodies, sent raw over a real socket."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FUZZ = settings(
    max_examples=int(os.environ.get("ORDERBRIDGE_FUZZ_EXAMPLES", "150")),
    deadline=None,
    derandomize=not os.environ.get("ORDERBRIDGE_FUZZ_RANDOM"),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
NASTY = ["%00", "%ff", "%ed%a0%80", "%c0%af", "..%2f", "%25", "%2e%2e", "\u00e9", "%0d%0a", "%u0000", "%"]

fragments = st.one_of(
    st.sampled_from(NASTY),
    st.text(st.sampled_from("abzAZ09-_.~!$&'()*+,;=:@/?#[] \t"), max_size=6),
    st.binary(max_size=6).map(lambda b: "".join(f"%{c:02x}" for c in b)),
    st.just("x" * 300),
    st.just("SO-000001"),
)


def requests_to(
    routes: Sequence[str], names: Sequence[str], bodies: st.SearchStrategy[bytes] | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """Requests to `routes` (with generated path fragments after them) and query parameters named
    among `names` (and odd names)."""
    return st.fixed_dictionaries(
        {
            "method": st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]),
            "route": st.sampled_from(list(routes)),
            "path": st.lists(fragments, max_size=4).map("".join),
            "query": st.lists(
                st.tuples(st.sampled_from([*names, "x", "%00", ""]), st.lists(fragments, max_size=3)),
                max_size=3,
            ),
            "headers": st.dictionaries(
                st.sampled_from(["Content-Type", "Accept", "X-Forwarded-For", "Content-Encoding"]),
                st.sampled_from(
                    [
                        "application/json",
                        "application/x-www-form-urlencoded",
                        "text/plain; charset=nope",
                        "gzip",
                        "*/*",
                        "\u00e9",
                    ]
                ),
                max_size=2,
            ),
            "body": bodies if bodies is not None else st.binary(max_size=64),
        }
    )


def send(client: httpx.Client, base: str, request: dict[str, Any]) -> httpx.Response:
    query = "&".join(f"{key}={''.join(value)}" for key, value in request["query"])
    target = request["route"] + request["path"] + (f"?{query}" if query else "")
    headers = {k.encode(): v.encode() for k, v in request["headers"].items()}
    # Built by the client, so that it carries the client's cookies (a logged-in session).
    raw = client.build_request(request["method"], base, headers=headers, content=request["body"])
    raw.url = raw.url.copy_with(raw_path=quote(target, safe="/?&=%:@!$'()*+,;[]~-._").encode())
    return client.send(raw)


def no_tracebacks(records: list[logging.LogRecord]) -> None:
    problems = [r for r in records if r.exc_info or "Exception in ASGI application" in r.getMessage()]
    assert not problems, [r.getMessage() for r in problems]
