"""A NetSuite account as a real local server: SuiteQL (POST /services/rest/query/v1/suiteql) behaving
as the reference records. Each request's OAuth 1.0a signature is checked as NetSuite does (realm not
signed, the query's limit/offset signed, a JSON body not); `Prefer: transient` is required; the query's
transaction type and TO_TIMESTAMP lower bound are honoured; rows are sorted by (lastmodified, id) and
paged by limit/offset (offset a multiple of limit); the envelope is {links, count, hasMore, items,
offset, totalResults}, every value text, each item with its own empty links and null columns left
out; errors are RFC 9110 problem details with o:errorDetails."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any
from urllib.parse import unquote

import httpx
from live_http import Seen

from orderbridge.connectors.auth import oauth_base_string, oauth_quote

PATH = "/services/rest/query/v1/suiteql"
REALM = "1234567_SB1"
CONSUMER_KEY, CONSUMER_SECRET = "ck-7f3a0d", "cs-91d0-5e2b"
TOKEN_ID, TOKEN_SECRET = "tk-22be41", "ts-5c47-a0f9"
QUERY = re.compile(r"t\.type\s*=\s*'(?P<type>\w+)'.*TO_TIMESTAMP\('(?P<since>[^']*)'", re.S)


def problem(status: int, code: str, detail: str) -> dict[str, Any]:
    titles = {400: "Bad Request", 401: "Unauthorized", 429: "Too Many Requests"}
    return {
        "type": f"https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.{status - 399}",
        "title": titles.get(status, "Error"),
        "status": status,
        "o:errorDetails": [{"detail": detail, "o:errorCode": code}],
    }


def signed_correctly(seen: Seen) -> bool:
    header = seen.headers.get("authorization", "")
    if not header.startswith("OAuth "):
        return False
    fields = {}
    for part in header.removeprefix("OAuth ").split(", "):
        name, _, quoted = part.partition("=")
        fields[name] = unquote(quoted.strip('"'))
    signature = fields.pop("oauth_signature", "")
    if fields.pop("realm", None) != REALM or fields.get("oauth_signature_method") != "HMAC-SHA256":
        return False
    if (fields.get("oauth_consumer_key"), fields.get("oauth_token")) != (CONSUMER_KEY, TOKEN_ID):
        return False
    url = httpx.URL(f"http://{seen.headers['host']}{seen.path}")
    text = oauth_base_string(seen.method, url, [*seen.query.items(), *fields.items()])
    key = f"{oauth_quote(CONSUMER_SECRET)}&{oauth_quote(TOKEN_SECRET)}"
    expected = base64.b64encode(hmac.new(key.encode(), text.encode(), hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature)


class NetSuiteAccount:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, dict[str, Any]]] = {"SalesOrd": {}, "ItemShip": {}, "CustInvc": {}}
        self.queries: list[tuple[str, str, dict[str, str]]] = []  # (type, since, query string)

    def add(self, kind: str, row: dict[str, Any]) -> None:
        self.rows[kind][row["id"]] = row

    def handle(self, seen: Seen) -> tuple[Any, ...]:
        if seen.path != PATH:
            return 404, problem(400, "NONEXISTENT_ID", f"Record type {seen.path} does not exist.")
        if not signed_correctly(seen):
            return 401, problem(
                401, "INVALID_LOGIN", "Invalid login attempt. For more details, see the Login Audit Trail."
            )
        if seen.headers.get("prefer") != "transient":
            return 400, problem(400, "INVALID_HEADER", "Prefer: transient is required for SuiteQL.")
        found = QUERY.search(seen.json()["q"])
        if found is None:
            return 400, problem(
                400, "INVALID_PARAMETER", "Invalid search query. Detailed unprocessed description follows."
            )
        self.queries.append((found["type"], found["since"], dict(seen.query)))
        limit, offset = int(seen.query.get("limit", "1000")), int(seen.query.get("offset", "0"))
        if limit > 1000 or offset % limit:
            return 400, problem(400, "INVALID_PARAMETER", "The offset must be a multiple of the limit.")
        chosen = sorted(
            (r for r in self.rows[found["type"]].values() if r["lastmodified"] >= found["since"]),
            key=lambda r: (r["lastmodified"], int(r["id"])),
        )
        items = [
            {"links": [], **{k: str(v) for k, v in row.items() if v is not None}}
            for row in chosen[offset : offset + limit]
        ]
        more = offset + limit < len(chosen)
        here = f"http://{seen.headers['host']}{PATH}"
        links = [{"rel": "self", "href": f"{here}?limit={limit}&offset={offset}"}]
        if more:
            links.insert(0, {"rel": "next", "href": f"{here}?limit={limit}&offset={offset + limit}"})
        body = {
            "links": links,
            "count": len(items),
            "hasMore": more,
            "items": items,
            "offset": offset,
            "totalResults": len(chosen),
        }
        return 200, body
