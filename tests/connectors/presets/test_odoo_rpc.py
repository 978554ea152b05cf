"""Odoo's JSON-RPC endpoint as the `odoo_jsonrpc` auth style: one login (`common.authenticate`) per
credential, each JSON-2 shaped call sent as the `execute_kw` that means the same, a refused login
reported without the key, and a session whose user id went stale logged in again once. Also the REST
listing's `empty` values, for Odoo's `false` in every empty field."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx
from connectors.presets.odoo_server import API_KEY, DATABASE, LOGIN, FakeOdoo, fixture

from orderbridge.connectors.base import ConnectorContext, SourceError
from orderbridge.connectors.http import HttpApi
from orderbridge.connectors.rest.connector import RestConnector
from orderbridge.connectors.rest.settings import RestSettings

ODOO = "https://acme.odoo.example"
RPC_AUTH = {"type": "odoo_jsonrpc", "database": DATABASE, "username": LOGIN, "api_key": API_KEY}
RPC_ERRORS = [{"type": "body", "field": "error.code", "ok": [], "message": "error.data.message"}]


def settings(auth: dict[str, Any], **listing: Any) -> RestSettings:
    return RestSettings.model_validate(
        {
            "type": "rest",
            "base_url": ODOO,
            "auth": auth,
            "errors": RPC_ERRORS,
            "retry": {"attempts": 1},
            "list": {
                "path": "/json/2/sale.order/search_read",
                "method": "POST",
                "body": {"domain": [["state", "=", "sale"]], "fields": ["name", "state", "client_order_ref"]},
                "records": "result",
                **listing,
            },
            "order_id": {"field": "name"},
            "status": {"dimension": "fulfillment", "field": "state", "map": {"sale": "approved"}},
        }
    )


def api(block: RestSettings) -> HttpApi:
    return HttpApi.from_settings("erp", block)


def test_a_json2_call_goes_out_as_execute_kw_after_one_login() -> None:
    """The listing is written as JSON-2 (`/json/2/sale.order/search_read`, named parameters); the style
    logs in once and sends `execute_kw(db, uid, key, 'sale.order', 'search_read', [], {...})` to
    /jsonrpc. A second call reuses the user id."""
    odoo = FakeOdoo(uid=7)
    odoo.put("sale.order", *fixture("sale_orders.json"))
    sent: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return odoo.jsonrpc(request)

    with respx.mock(assert_all_called=True) as router:
        router.post(f"{ODOO}/jsonrpc").mock(side_effect=answer)
        made = api(settings(RPC_AUTH))
        body = {"domain": [["state", "=", "sale"]], "fields": ["name"], "limit": 2, "offset": 1}
        first = made.fetch("POST", "/json/2/sale.order/search_read", json=body)
        made.fetch("POST", "/json/2/sale.order/search_read", json=body)
    assert [r["name"] for r in first["result"]] == ["S00044", "S00047"]  # 42 skipped by the offset
    assert odoo.logins == 1
    login, call = sent[0]["params"], sent[1]["params"]
    assert (login["service"], login["method"], login["args"]) == (
        "common",
        "authenticate",
        [DATABASE, LOGIN, API_KEY, {}],
    )
    assert (call["service"], call["method"]) == ("object", "execute_kw")
    assert call["args"] == [DATABASE, 7, API_KEY, "sale.order", "search_read", [], body]


def test_ids_in_a_call_become_its_positional_argument() -> None:
    """`{"ids": [...], "fields": [...]}` (a JSON-2 `read`) is execute_kw's `[[ids]]` plus the named
    fields, as Odoo's methods on records take them."""
    calls: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        call = json.loads(request.content)
        if call["params"]["service"] == "common":
            return httpx.Response(200, json={"jsonrpc": "2.0", "id": call["id"], "result": 2})
        calls.append(call)
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": call["id"], "result": []})

    with respx.mock() as router:
        router.post(f"{ODOO}/jsonrpc").mock(side_effect=answer)
        api(settings(RPC_AUTH)).fetch(
            "POST", "/json/2/stock.picking/read", json={"ids": [12, 13], "fields": ["state"]}
        )
    assert calls[0]["params"]["args"][3:] == ["stock.picking", "read", [[12, 13]], {"fields": ["state"]}]


def test_a_refused_login_says_whose_and_where_never_the_key() -> None:
    """`authenticate` answers `false` for a wrong user or key (Odoo does not say which); the poll fails
    naming user and database, and the key appears nowhere."""
    with respx.mock() as router:
        router.post(f"{ODOO}/jsonrpc").mock(side_effect=FakeOdoo().jsonrpc)
        wrong = {**RPC_AUTH, "username": "someone@acme.example"}
        with pytest.raises(SourceError) as failure:
            api(settings(wrong)).fetch("POST", "/json/2/sale.order/search_read", json={})
    message = str(failure.value)
    assert "refused for user 'someone@acme.example' on database 'acme-prod'" in message
    assert "check database, username and api_key" in message and API_KEY not in message


def test_an_unknown_database_is_reported_with_odoos_own_words() -> None:
    """A login to a database that does not exist answers a JSON-RPC error in a 200: its message, not
    a vague refusal."""
    with respx.mock() as router:
        router.post(f"{ODOO}/jsonrpc").mock(side_effect=FakeOdoo().jsonrpc)
        with pytest.raises(SourceError, match='OperationalError: database "acme" does not exist'):
            api(settings({**RPC_AUTH, "database": "acme"})).fetch(
                "POST", "/json/2/sale.order/search_read", json={}
            )


def test_a_stale_user_id_logs_in_again_once() -> None:
    """A cached user id Odoo no longer accepts (the user was re-created: AccessDenied inside a 200) is
    dropped, the login repeated and the call sent again with the new id."""
    odoo = FakeOdoo(uid=2)
    with respx.mock() as router:
        router.post(f"{ODOO}/jsonrpc").mock(side_effect=odoo.jsonrpc)
        made = api(settings(RPC_AUTH))
        made.fetch("POST", "/json/2/sale.order/search_read", json={})
        odoo.uid = 9
        answer = made.fetch("POST", "/json/2/sale.order/search_read", json={})
    assert answer["result"] == [] and odoo.logins == 2


def test_an_error_inside_a_200_fails_the_call_with_its_message_and_no_key() -> None:
    """execute_kw errors come as HTTP 200 with `error`; the preset's body check turns them into the
    poll's failure, quoting Odoo's message (an unknown field) with the key masked in what it echoes."""
    odoo = FakeOdoo()
    odoo.put("stock.picking", *fixture("pickings.json"))
    with respx.mock() as router:
        router.post(f"{ODOO}/jsonrpc").mock(side_effect=odoo.jsonrpc)
        odoo.fail_next = f"key {API_KEY} has no access to stock.picking"
        with pytest.raises(SourceError) as failure:
            api(settings(RPC_AUTH)).fetch(
                "POST", "/json/2/stock.picking/search_read", json={"fields": ["state"]}
            )
    message = str(failure.value)
    assert "reported an error: error.code=200: key *** has no access" in message and API_KEY not in message


def test_a_path_that_is_no_odoo_call_is_refused_before_anything_is_sent() -> None:
    """Only `/json/2/<model>/<method>` has an execute_kw meaning; any other path is the preset's
    mistake, said plainly."""
    with respx.mock() as router:
        route = router.post(f"{ODOO}/jsonrpc").mock(
            return_value=httpx.Response(200, json={"jsonrpc": "2.0", "id": 1, "result": 2})
        )
        with pytest.raises(
            SourceError, match=r"/api/orders: an Odoo call is written as /json/2/<model>/<method>"
        ):
            api(settings(RPC_AUTH)).fetch("POST", "/api/orders", json={})
    assert route.call_count == 1  # the login only


def test_false_in_an_empty_field_is_read_as_absent_and_stored_as_sent() -> None:
    """With `list.empty: [false]`, Odoo's `false` in an empty text field is no value (no external
    reference "False"), a blank delivery status is blank; the stored raw record keeps `false`."""
    odoo = FakeOdoo()
    odoo.put("sale.order", *fixture("sale_orders.json"))
    block = settings(RPC_AUTH, empty=[False]).model_copy(
        update={"fields": settings(RPC_AUTH).fields.model_copy(update={"external_ref": "client_order_ref"})}
    )
    plain = block.model_copy(update={"list": block.list.model_copy(update={"empty": []})})
    with respx.mock() as router:
        router.post(f"{ODOO}/jsonrpc").mock(side_effect=odoo.jsonrpc)
        read = {
            which: {
                r.record_id: r
                for batch in RestConnector("erp", made, ConnectorContext()).poll(None, _stop())
                for r in batch.records
            }
            for which, made in (("empty", block), ("plain", plain))
        }
    assert read["empty"]["S00044"].external_ref is None and read["plain"]["S00044"].external_ref == "False"
    assert read["empty"]["S00042"].external_ref == "PO-7781"
    assert read["empty"]["S00044"].raw["client_order_ref"] is False


def _stop() -> Any:
    import threading

    return threading.Event()
