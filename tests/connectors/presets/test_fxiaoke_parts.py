"""Fxiaoke's corpAccessToken, on answers shaped like its documented ones: fetched once and cached,
written with corpId and currentOpenUserId into every JSON body, fetched again once when an HTTP 200
says errorCode 20016 (expired), and a refusal fails without showing a secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from orderbridge.connectors.auth import TOKENS
from orderbridge.connectors.base import SourceError
from orderbridge.connectors.http import HttpApi
from orderbridge.connectors.rest.settings import RestSettings

BASE = "https://open.fxiaoke.com"
TOKEN = f"{BASE}/cgi/corpAccessToken/get/V2"
QUERY = f"{BASE}/cgi/crm/v2/data/query"
AUTH = {
    "type": "fxiaoke",
    "app_id": "FSAID_131a2b3",
    "app_secret": "fx-secret-9f8e7d6c",
    "permanent_code": "fx-permanent-5b4a3c",
    "open_user_id": "FSUID_8A2B3C4D",
}


@pytest.fixture(autouse=True)
def _fresh_tokens() -> Iterator[None]:
    TOKENS.clear()
    yield
    TOKENS.clear()


def api() -> HttpApi:
    block: dict[str, Any] = {
        "type": "rest",
        "base_url": BASE,
        "auth": AUTH,
        "list": {"path": "/cgi/crm/v2/data/query", "method": "POST", "body": {}},
        "retry": {"attempts": 1},
    }
    return HttpApi.from_settings("crm", RestSettings.model_validate(block))


def granted(token: str) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "errorCode": 0,
            "errorMessage": "success",
            "corpAccessToken": token,
            "corpId": "FSCID_7A1B2C",
            "expiresIn": 7200,
        },
    )


def test_token_goes_inside_the_body_and_is_renewed_once_on_20016() -> None:
    """The query's own body keeps its fields and gains the three credentials; 20016 in a 200 fetches
    a new token and repeats the query with it."""
    with respx.mock(assert_all_called=True) as router:
        token = router.post(TOKEN)
        token.side_effect = [granted("corp-token-first"), granted("corp-token-second")]
        query = router.post(QUERY)
        query.side_effect = [
            httpx.Response(200, json={"errorCode": 0, "data": {"dataList": [], "total": 0}}),
            httpx.Response(200, json={"errorCode": 20016, "errorMessage": "token过期", "traceId": "E-1"}),
            httpx.Response(200, json={"errorCode": 0, "data": {"dataList": [{"_id": "1"}], "total": 1}}),
        ]
        made = api()
        made.fetch("POST", QUERY, json={"data": {"dataObjectApiName": "SalesOrderObj"}})
        answer = made.fetch("POST", QUERY, json={"data": {"dataObjectApiName": "SalesOrderObj"}})
    assert answer["data"]["total"] == 1
    sent = [json.loads(call.request.content) for call in query.calls]
    assert [s["corpAccessToken"] for s in sent] == [
        "corp-token-first",
        "corp-token-first",
        "corp-token-second",
    ]
    assert {s["corpId"] for s in sent} == {"FSCID_7A1B2C"}
    assert {s["currentOpenUserId"] for s in sent} == {"FSUID_8A2B3C4D"}
    assert all(s["data"] == {"dataObjectApiName": "SalesOrderObj"} for s in sent)
    assert json.loads(token.calls[0].request.content) == {
        "appId": "FSAID_131a2b3",
        "appSecret": "fx-secret-9f8e7d6c",
        "permanentCode": "fx-permanent-5b4a3c",
    }


def test_a_refused_token_request_fails_without_the_secrets() -> None:
    """errorCode 10006 (bad appSecret) in an HTTP 200 fails the poll naming what to check, with the
    secrets masked even when echoed."""
    with respx.mock() as router:
        router.post(TOKEN).respond(
            json={"errorCode": 10006, "errorMessage": "appSecret fx-secret-9f8e7d6c 无效"}
        )
        with pytest.raises(SourceError) as caught:
            api().fetch("POST", QUERY, json={"data": {}})
    assert "check app_id, app_secret and permanent_code" in str(caught.value)
    assert "fx-secret-9f8e7d6c" not in str(caught.value)
