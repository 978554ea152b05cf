"""A fake Odoo for connector tests, answering JSON-2 (`POST /json/2/<model>/search_read`) and JSON-RPC
(`POST /jsonrpc`: common.authenticate, object.execute_kw) as Odoo does: records projected on the
fields asked for (with `id`), `false` for empty fields, datetimes in UTC without a zone, errors as
real HTTP statuses on JSON-2 and inside a 200 answer on JSON-RPC. Fixtures: tests/fixtures/odoo/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).parents[2] / "fixtures" / "odoo"
API_KEY = "8f2c6a1e4b7d9f0a3c5e7b9d1f3a5c7e9b1d3f5a"
DATABASE = "acme-prod"
LOGIN = "orderbridge@acme.example"


def fixture(name: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return records


def _error(name: str, message: str) -> dict[str, Any]:
    return {
        "name": name,
        "message": message,
        "arguments": [message],
        "context": {},
        "debug": f'Traceback (most recent call last):\n  File "/opt/odoo/odoo/http.py"\n{name}: {message}\n',
    }


class FakeOdoo:
    def __init__(self, *, uid: int = 2) -> None:
        self.uid = uid
        self.models: dict[str, list[dict[str, Any]]] = {
            "sale.order": [],
            "stock.picking": [],
            "account.move": [],
        }
        self.calls: list[tuple[str, dict[str, Any]]] = []  # (model, named parameters) of each search_read
        self.logins = 0
        self.fail_next: str | None = None  # an error message the next call answers with

    def put(self, model: str, *records: dict[str, Any]) -> None:
        for record in records:
            rows = self.models[model]
            rows[:] = [r for r in rows if r["id"] != record["id"]] + [dict(record)]

    # -- the ORM ---------------------------------------------------------------------------------

    def search_read(self, model: str, named: dict[str, Any]) -> list[dict[str, Any]]:
        self.calls.append((model, named))
        rows = [r for r in self.models[model] if all(_holds(r, leaf) for leaf in named.get("domain", []))]
        if named.get("order") == "write_date asc, id asc":
            rows.sort(key=lambda r: (r["write_date"], r["id"]))
        else:
            rows.sort(key=lambda r: r["id"])
        offset, limit = int(named.get("offset", 0)), named.get("limit")
        rows = rows[offset : offset + limit if limit else None]
        fields = named.get("fields")
        for name in fields or []:
            if rows and name not in rows[0]:
                raise ValueError(f"Invalid field {name!r} on model {model!r}")
        return [{"id": r["id"], **{f: r[f] for f in fields}} if fields else dict(r) for r in rows]

    # -- JSON-2 ----------------------------------------------------------------------------------

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        """(status, JSON body) for a request to `path` (headers by lower-case name)."""
        if path == "/jsonrpc":
            return self._jsonrpc(json.loads(body))
        return self._json2(path, headers, json.loads(body or b"{}"))

    def respx(self, request: httpx.Request) -> httpx.Response:
        status, body = self.handle(request.url.path, dict(request.headers), request.content)
        return httpx.Response(status, json=body)

    def jsonrpc(self, request: httpx.Request) -> httpx.Response:
        return self.respx(request)

    def _json2(self, path: str, headers: dict[str, str], named: dict[str, Any]) -> tuple[int, Any]:
        if headers.get("authorization") != f"bearer {API_KEY}":
            return 401, _error("werkzeug.exceptions.Unauthorized", "Invalid apikey")
        _, _, model, method = path.strip("/").split("/")
        assert method == "search_read"
        if self.fail_next is not None:
            message, self.fail_next = self.fail_next, None
            return 422, _error("odoo.exceptions.UserError", message)
        try:
            return 200, self.search_read(model, named)
        except ValueError as exc:
            return 422, _error("builtins.ValueError", str(exc))

    # -- JSON-RPC --------------------------------------------------------------------------------

    def _jsonrpc(self, call: dict[str, Any]) -> tuple[int, Any]:
        assert (call["jsonrpc"], call["method"]) == ("2.0", "call")
        params, number = call["params"], call["id"]
        if (params["service"], params["method"]) == ("common", "authenticate"):
            self.logins += 1
            db, login, key, env = params["args"]
            assert env == {}
            if db != DATABASE:
                message = f'database "{db}" does not exist'
                return _rpc_error(number, "psycopg2.OperationalError", message)
            ok = (login, key) == (LOGIN, API_KEY)
            return 200, {"jsonrpc": "2.0", "id": number, "result": self.uid if ok else False}
        assert (params["service"], params["method"]) == ("object", "execute_kw")
        db, uid, key, model, method, args, named = params["args"]
        if (db, uid, key) != (DATABASE, self.uid, API_KEY):
            return _rpc_error(number, "odoo.exceptions.AccessDenied", "Access Denied")
        assert method == "search_read" and args == []
        if self.fail_next is not None:
            message, self.fail_next = self.fail_next, None
            return _rpc_error(number, "odoo.exceptions.UserError", message)
        try:
            records = self.search_read(model, named)
        except ValueError as exc:
            return _rpc_error(number, "builtins.ValueError", str(exc))
        return 200, {"jsonrpc": "2.0", "id": number, "result": records}


def _rpc_error(number: int, name: str, message: str) -> tuple[int, Any]:
    error = {"code": 200, "message": "Odoo Server Error", "data": _error(name, message)}
    return 200, {"jsonrpc": "2.0", "id": number, "error": error}


def _holds(record: dict[str, Any], leaf: list[Any]) -> bool:
    field, op, value = leaf
    have = record.get(field)
    if isinstance(have, list) and len(have) == 2 and isinstance(have[0], int):
        have = have[0]  # a many2one compares by id
    if op == "=":
        return bool(have == value)
    if op == "!=":
        return bool(have != value)
    if op == ">":
        return have is not False and bool(have > value)  # false (SQL NULL) compares to nothing
    if op == "in":
        return have in value
    raise AssertionError(f"the fake does not know the operator {op!r}")
