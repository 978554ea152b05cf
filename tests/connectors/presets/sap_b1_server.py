"""An SAP Business One Service Layer as a real local server, behaving as the reference records: POST
/Login checks company, user and password and sets B1SESSION without a Path (and ROUTEID behind a load
balancer); every other request needs those cookies and is answered 401 code 301 once the session timed
out; listings filter `UpdateDate ge 'yyyy-mm-dd'`, sort by (UpdateDate, DocEntry), honour $select, page
at `Prefer: odata.maxpagesize` (default 20) with a relative next link ($skip), in the OData v3
(odata.metadata / odata.nextLink) or v4 (@odata.context / @odata.nextLink) envelope; numbers are JSON
numbers, an empty NumAtCard is null."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode

from live_http import Seen

COMPANY, USER, PASSWORD = "SBODEMOUS", "manager", "b1-pw-0420"
DATE_FILTER = re.compile(r"^UpdateDate ge '(?P<day>\d{4}-\d{2}-\d{2})'$")
TIME_FILTER = re.compile(
    r"^UpdateDate gt '(?P<day>\d{4}-\d{2}-\d{2})' or \(UpdateDate eq '(?P=day)' and "
    r"UpdateTime ge '(?P<time>\d{2}:\d{2}:\d{2})'\)$"
)
EXPIRED = {
    "error": {
        "code": 301,
        "message": {"lang": "en-us", "value": "Invalid session or session already timeout."},
    }
}


def error(code: int, text: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": {"lang": "en-us", "value": text}}}


class ServiceLayer:
    def __init__(self, *, v4: bool = False, balanced: bool = True) -> None:
        self.v4, self.balanced = v4, balanced
        self.documents: dict[str, dict[int, dict[str, Any]]] = {
            "Orders": {},
            "DeliveryNotes": {},
            "Invoices": {},
        }
        self.sessions: set[str] = set()
        self.logins = 0
        self.asked: list[tuple[str, dict[str, str]]] = []

    @property
    def root(self) -> str:
        return "/b1s/v2" if self.v4 else "/b1s/v1"

    def add(self, kind: str, document: dict[str, Any]) -> None:
        self.documents[kind][document["DocEntry"]] = document

    def time_out(self) -> None:
        self.sessions.clear()

    def handle(self, seen: Seen) -> tuple[Any, ...]:
        name = seen.path.removeprefix(self.root + "/")
        if name == "Login" and seen.method == "POST":
            return self.login(seen.json())
        cookies = dict(p.split("=", 1) for p in seen.headers.get("cookie", "").split("; ") if "=" in p)
        if cookies.get("B1SESSION") not in self.sessions or (
            self.balanced and cookies.get("ROUTEID") != ".node1"
        ):
            return 401, EXPIRED
        if name not in self.documents:
            return 404, error(-2028, "No matching records found (ODBC -2028)")
        return self.listing(name, seen)

    def login(self, body: dict[str, Any]) -> tuple[Any, ...]:
        if body != {"CompanyDB": COMPANY, "UserName": USER, "Password": PASSWORD}:
            return 401, error(-304, "Fail to get DB Credentials from SLD")
        self.logins += 1
        session = f"{self.logins:08x}-a7b1-11ef-8000-0050569e1f1a"
        self.sessions.add(session)
        headers = [("Set-Cookie", f"B1SESSION={session};HttpOnly;")]
        if self.balanced:
            headers.append(("Set-Cookie", "ROUTEID=.node1; path=/b1s"))
        answer = {
            "odata.metadata": f"https://b1{self.root}/$metadata#B1Sessions/@Element",
            "SessionId": session,
            "Version": "1000190",
            "SessionTimeout": 30,
        }
        return 200, answer, headers

    def listing(self, name: str, seen: Seen) -> tuple[Any, ...]:
        query = seen.query
        self.asked.append((name, dict(query)))
        text = query.get("$filter", "")
        found = DATE_FILTER.match(text) or TIME_FILTER.match(text)
        if "$filter" in query and found is None:
            return 400, error(-1000, f"Invalid filter: {text}")
        since = (found["day"], found.groupdict().get("time") or "") if found else ("", "")
        fields = query.get("$select", "").split(",") if "$select" in query else None
        size = int(seen.headers.get("prefer", "").partition("odata.maxpagesize=")[2] or "20")
        skip = int(query.get("$skip", "0"))
        chosen = sorted(
            (d for d in self.documents[name].values() if changed_since(d, *since)),
            key=lambda d: (d["UpdateDate"], d.get("UpdateTime") or "", d["DocEntry"]),
        )
        shown = chosen[skip : skip + size] if size else chosen
        if fields is not None:
            unknown = [f for f in fields if shown and all(f not in d for d in shown)]
            if unknown:
                return 400, error(-1000, f"Property '{unknown[0]}' of 'Document' is invalid")
            shown = [{k: v for k, v in d.items() if k in fields} for d in shown]
        body: dict[str, Any] = {
            ("@odata.context" if self.v4 else "odata.metadata"): f"https://b1{self.root}/$metadata#{name}",
            "value": shown,
        }
        if size and skip + size < len(chosen):
            rest = {k: v for k, v in query.items() if k != "$skip"}
            link = f"{name}?{urlencode({**rest, '$skip': skip + size}, quote_via=quote)}"
            body["@odata.nextLink" if self.v4 else "odata.nextLink"] = link
        return 200, body


def changed_since(document: dict[str, Any], day: str, time: str) -> bool:
    """`UpdateDate ge day`, or with a time: a later date, or that date from that time on."""
    date = document["UpdateDate"][:10]
    if not time:
        return date >= day
    return date > day or (date == day and (document.get("UpdateTime") or "") >= time)
