"""A fake ERPNext site for connector tests, answering GET /api/resource/<DocType> as Frappe does:
`fields` and `filters` as JSON in the query, `order_by`, `limit_start`/`limit_page_length` (20 rows by
default), `{"data": [...]}` with no total and no next link, a child table's field
("`tabDelivery Note Item`.against_sales_order") as one row per item under the field's own name,
`modified` in the site's time without a zone (microseconds left out when zero), API keys as `token
key:secret` or basic auth, errors as real statuses with {exc_type, exception, _server_messages}."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

FIXTURES = Path(__file__).parents[2] / "fixtures" / "erpnext"
API_KEY, API_SECRET = "3f9a1c2b7d4e5f6", "a8b7c6d5e4f3a2b"


def fixture(name: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))["data"]
    return rows


def frappe_error(kind: str, message: str) -> dict[str, Any]:
    messages = json.dumps([json.dumps({"message": message, "title": "Message", "indicator": "red"})])
    return {
        "exc_type": kind,
        "exception": f"frappe.exceptions.{kind}: {message}",
        "exc": json.dumps([f"Traceback (most recent call last):\nfrappe.exceptions.{kind}: {message}\n"]),
        "_server_messages": messages,
    }


class FakeErpNext:
    def __init__(self) -> None:
        self.doctypes: dict[str, list[dict[str, Any]]] = {
            "Sales Order": [],
            "Delivery Note": [],
            "Sales Invoice": [],
        }
        self.asked: list[tuple[str, dict[str, str]]] = []
        self.schemes: list[str] = []  # the Authorization scheme of each request

    def put(self, doctype: str, *rows: dict[str, Any]) -> None:
        """Rows replace every row of the documents they name (a document with two items is two rows)."""
        names = {row["name"] for row in rows}
        kept = self.doctypes[doctype]
        kept[:] = [r for r in kept if r["name"] not in names] + [dict(row) for row in rows]

    def authorised(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "basic":
            token = base64.b64decode(token).decode()
        return scheme.lower() in ("basic", "token") and token == f"{API_KEY}:{API_SECRET}"

    def handle(self, path: str, query: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
        self.schemes.append(headers.get("authorization", "").partition(" ")[0])
        if not self.authorised(headers.get("authorization", "")):
            return 401, frappe_error("AuthenticationError", "Invalid API key or secret")
        doctype = unquote(path.removeprefix("/api/resource/"))
        if doctype not in self.doctypes:
            return 404, frappe_error("DoesNotExistError", f"DocType {doctype} not found")
        self.asked.append((doctype, dict(query)))
        fields = [f.rpartition(".")[2].strip("`") for f in json.loads(query.get("fields", '["name"]'))]
        rows = [
            r
            for r in self.doctypes[doctype]
            if all(_holds(r, f) for f in json.loads(query.get("filters", "[]")))
        ]
        if query.get("order_by") == "modified asc, name asc":
            rows.sort(key=lambda r: (_moment(r["modified"]), r["name"]))
        else:
            rows.sort(key=lambda r: _moment(r["modified"]), reverse=True)  # Frappe's default: modified desc
        for name in fields:
            if rows and name not in rows[0]:
                return 417, frappe_error("DataError", f"Field not permitted in query: {name}")
        start, length = int(query.get("limit_start", 0)), int(query.get("limit_page_length", 20))
        rows = rows[start : start + length] if length else rows[start:]
        return 200, {"data": [{f: r[f] for f in fields} for r in rows]}


def _moment(text: str) -> str:
    return text if "." in text else f"{text}.000000"  # str(datetime) leaves out zero microseconds


def _holds(row: dict[str, Any], condition: list[Any]) -> bool:
    field, op, value = condition[-3:]
    have = row.get(field)
    if op == ">":
        return _moment(str(have)) > _moment(str(value))
    if op == "is":
        return (have not in (None, "")) == (value == "set")
    if op == "=":
        return bool(have == value)
    raise AssertionError(f"the fake does not know the operator {op!r}")
