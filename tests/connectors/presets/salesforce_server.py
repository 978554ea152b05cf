"""A Salesforce org as a real local server: the OAuth token endpoint and the REST query resource,
behaving as the reference records (SOQL with an unquoted UTC literal, batches of batchSize followed by
nextRecordsUrl until done, which is absent on the last batch; no expires_in in the token answer; errors
as a JSON array; 401 INVALID_SESSION_ID for an ended session; 403 REQUEST_LIMIT_EXCEEDED as throttle)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from live_http import Seen

TOKEN_PATH = "/services/oauth2/token"
QUERY_PATH = "/services/data/v60.0/query"
CLIENT_ID = "3MVG9fe4g9fhX0E5AyQ8.Tqx2bWz"
CLIENT_SECRET = "E6A1F0B2C4D8917356AB"
REFRESH_TOKEN = "5Aep861TSESvWeug_xvFHRBTTbf_YrTWgEyjBJvxJkh"
SOQL = re.compile(
    r"SELECT (?P<fields>[\w, ]+) FROM (?P<object>\w+) "
    r"WHERE SystemModstamp > (?P<since>\S+)(?P<more> AND \(.+\))? ORDER BY SystemModstamp, Id"
)
LITERAL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def errors(code: str, message: str) -> list[dict[str, Any]]:
    return [{"message": message, "errorCode": code}]


class SalesforceOrg:
    def __init__(self, *, token_uses: int = 1000, throttle_every: int = 0, largest_batch: int = 2000) -> None:
        self.orders: dict[str, dict[str, Any]] = {}  # by Id
        self.issued: list[str] = []
        self.uses: dict[str, int] = {}
        self.token_uses, self.throttle_every, self.largest_batch = token_uses, throttle_every, largest_batch
        self.requests = self.throttled = 0
        self.locators: dict[str, list[dict[str, Any]]] = {}
        self.queries: list[str] = []

    def handle(self, seen: Seen) -> tuple[Any, ...]:
        if seen.path == TOKEN_PATH:
            return self.token(seen)
        token = seen.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.uses or self.uses[token] >= self.token_uses:
            return 401, errors("INVALID_SESSION_ID", "Session expired or invalid")
        self.uses[token] += 1
        self.requests += 1
        if self.throttle_every and self.requests % self.throttle_every == 0:
            self.throttled += 1
            return 403, errors("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        if seen.path == QUERY_PATH:
            return self.query(seen)
        if seen.path.startswith(QUERY_PATH + "/"):
            locator, _, offset = seen.path.removeprefix(QUERY_PATH + "/").rpartition("-")
            if locator not in self.locators:
                return 400, errors("INVALID_QUERY_LOCATOR", "invalid query locator")
            return 200, self.batch(locator, int(offset), seen)
        return 404, errors("NOT_FOUND", "The requested resource does not exist")

    def token(self, seen: Seen) -> tuple[Any, ...]:
        form = dict(parse_qsl(seen.body.decode()))
        credentials = (form.get("client_id"), form.get("client_secret"), form.get("refresh_token"))
        if form.get("grant_type") != "refresh_token" or credentials != (
            CLIENT_ID,
            CLIENT_SECRET,
            REFRESH_TOKEN,
        ):
            return 400, {"error": "invalid_grant", "error_description": "expired access/refresh token"}
        token = f"00D5g000004XyZa!AQ4AQ{len(self.issued) + 1:04d}"
        self.issued.append(token)
        self.uses[token] = 0
        return 200, {
            "access_token": token,
            "signature": "c2lnbmF0dXJl",
            "scope": "refresh_token api",
            "instance_url": "https://acme.my.salesforce.com",
            "id": "https://login.salesforce.com/id/00D5g000004XyZaEAK/0055g00000A1b2CAAR",
            "token_type": "Bearer",
            "issued_at": "1763625600000",
        }

    def query(self, seen: Seen) -> tuple[Any, ...]:
        soql = seen.query.get("q", "")
        self.queries.append(soql)
        match = SOQL.fullmatch(soql)
        if match is None:
            return 400, errors("MALFORMED_QUERY", f"unexpected token: {soql[:40]!r}")
        if not LITERAL.fullmatch(match["since"]):
            return 400, errors(
                "INVALID_FIELD",
                "value of filter criterion for field 'SystemModstamp' must be of type dateTime and should "
                f"not be enclosed in quotes: {match['since']}",
            )
        since = datetime.fromisoformat(match["since"].replace("Z", "+00:00"))
        wanted = [f.strip() for f in match["fields"].split(",")]
        rows = sorted(
            (r for r in self.orders.values() if _moment(r["SystemModstamp"]) > since),
            key=lambda r: (_moment(r["SystemModstamp"]), r["Id"]),
        )
        locator = f"01gD0000002HU6K{len(self.locators):03d}"
        self.locators[locator] = [
            {"attributes": r["attributes"], **{f: r.get(f) for f in wanted}} for r in rows
        ]
        return 200, self.batch(locator, 0, seen)

    def batch(self, locator: str, offset: int, seen: Seen) -> dict[str, Any]:
        rows = self.locators[locator]
        options = dict(
            p.split("=", 1) for p in seen.headers.get("sforce-query-options", "").split(",") if "=" in p
        )
        size = min(int(options.get("batchSize", 2000)), self.largest_batch)
        end = offset + size
        body: dict[str, Any] = {"totalSize": len(rows), "done": end >= len(rows), "records": rows[offset:end]}
        if end < len(rows):
            body["nextRecordsUrl"] = f"{QUERY_PATH}/{locator}-{end}"
        return body


def order(number: str, status: str, modified: datetime, serial: int) -> dict[str, Any]:
    """One Order as the REST API writes it: an 18-character Id, `attributes`, money as a number, times
    in UTC with milliseconds and `+0000`, and null for an empty field."""
    record_id = f"801{serial:012d}AAA"
    stamp = modified.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    return {
        "attributes": {"type": "Order", "url": f"/services/data/v60.0/sobjects/Order/{record_id}"},
        "Id": record_id,
        "OrderNumber": number,
        "Status": status,
        "StatusCode": "Draft" if status == "Draft" else "Activated",
        "PoNumber": None,
        "TotalAmount": 1250.5,
        "EffectiveDate": modified.date().isoformat(),
        "LastModifiedDate": stamp,
        "SystemModstamp": stamp,
    }


def _moment(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
