"""What an answer means: errors inside 2xx bodies (absent means fine unless configured), provider
throttles retried like a 429 (Salesforce, Jiandaoyun, Shopify GraphQL, configured ones), 204/304 handed
to the listing code, and other 4xx fatal with host, path and masked body."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx

from orderbridge.connectors.base import SourceError
from orderbridge.connectors.http import HttpApi
from orderbridge.connectors.rest.settings import RestSettings

BASE = "https://api.example.com"


def api(**more: Any) -> tuple[HttpApi, list[float]]:
    block = {
        "type": "rest",
        "base_url": BASE,
        "auth": {"type": "bearer", "token": "tok-4471-secret"},
        "list": {"path": "/orders"},
        "retry": {"attempts": 3, "initial_wait": "1s", "max_wait": "30s"},
        **more,
    }
    waits: list[float] = []
    made = HttpApi.from_settings("src", RestSettings.model_validate(block))
    made.sleep = waits.append
    return made, waits


def test_an_errors_field_absent_from_a_normal_page_is_not_an_error() -> None:
    """`errors: {field: success, ok: [true]}` against pages that carry no `success` at all: every page
    is read (before, every normal page was rejected and nothing was stored)."""
    made, _ = api(errors={"field": "success", "ok": [True], "message": "errorMessage"})
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{BASE}/orders").respond(json={"data": [{"id": 1}], "next": None})
        assert made.fetch("GET", "/orders") == {"data": [{"id": 1}], "next": None}
        router.get(f"{BASE}/bad").respond(json={"success": False, "errorMessage": "no such form"})
        with pytest.raises(SourceError, match="reported an error: success=False: no such form"):
            made.fetch("GET", "/bad")


def test_an_absent_errors_field_can_be_configured_as_an_error() -> None:
    """`absent: error` for an API that always sends its code: a body without it fails, quoting it."""
    made, _ = api(errors={"field": "code", "ok": [0], "absent": "error"})
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{BASE}/orders").respond(json={"data": []})
        with pytest.raises(
            SourceError, match=r"reported no 'code' \(errors.absent: error\): body \{\"data\":\[\]\}"
        ):
            made.fetch("GET", "/orders")


def test_a_null_errors_field_is_present_and_judged() -> None:
    """`"code": null` is there (not absent) and is not a success value: the page fails, so a source
    that nulls its code on failure is not taken for fine."""
    made, _ = api(errors={"field": "code", "ok": [0]})
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{BASE}/orders").respond(json={"code": None, "data": []})
        with pytest.raises(SourceError, match="code=None"):
            made.fetch("GET", "/orders")


def test_retry_codes_inside_a_200_body_are_retried() -> None:
    """A YonSuite-style quota code in a 200 body listed under `retry` waits and tries again."""
    made, waits = api(errors={"field": "code", "ok": ["200"], "retry": ["310046"], "message": "message"})
    with respx.mock(assert_all_called=True) as router:
        route = router.post(f"{BASE}/yonbip/sd/voucherorder/list")
        route.side_effect = [
            httpx.Response(200, json={"code": "310046", "message": "调用频率超出限制"}),
            httpx.Response(200, json={"code": "200", "message": "操作成功", "data": {"recordList": []}}),
        ]
        body = made.fetch("POST", "/yonbip/sd/voucherorder/list", json={"pageIndex": 1})
    assert body["code"] == "200" and route.call_count == 2 and len(waits) == 1


SALESFORCE_LIMIT = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]


def test_salesforce_request_limit_is_a_throttle_not_a_credentials_problem() -> None:
    """Salesforce's 403 REQUEST_LIMIT_EXCEEDED is retried with backoff; when it does not clear, the
    error says throttled, not 'check the credentials'."""
    made, waits = api()
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{BASE}/services/data/v60.0/query")
        route.side_effect = [
            httpx.Response(403, json=SALESFORCE_LIMIT),
            httpx.Response(200, json={"done": True, "records": []}),
        ]
        assert made.fetch("GET", "/services/data/v60.0/query")["done"] is True
        assert len(waits) == 1 and 1.0 <= waits[0] <= 2.0
        route.side_effect = None
        route.respond(403, json=SALESFORCE_LIMIT)
        with pytest.raises(SourceError) as failure:
            made.fetch("GET", "/services/data/v60.0/query")
    message = str(failure.value)
    assert "failed after 3 attempts: HTTP 403 Forbidden" in message and "(throttled)" in message
    assert "credentials" not in message


def test_known_throttles_can_be_switched_off() -> None:
    """With `retry.known_throttles: false` a 403 REQUEST_LIMIT_EXCEEDED is an ordinary 403: fatal at once."""
    made, waits = api(retry={"attempts": 3, "known_throttles": False})
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{BASE}/q").respond(403, json=SALESFORCE_LIMIT)
        with pytest.raises(SourceError, match="lack a permission"):
            made.fetch("GET", "/q")
    assert route.call_count == 1 and waits == []


def test_jiandaoyun_400_code_8303_is_retried() -> None:
    """Jiandaoyun says 'too many requests' as HTTP 400 {"code": 8303}: retried, then the page is read."""
    made, waits = api()
    with respx.mock(assert_all_called=True) as router:
        route = router.post(f"{BASE}/api/v5/app/entry/data/list")
        route.side_effect = [
            httpx.Response(400, json={"code": 8303, "msg": "超出请求频率限制"}),
            httpx.Response(200, json={"data": [{"_id": "6818417bca66cb3cc212a022"}]}),
        ]
        body = made.fetch(
            "POST", "/api/v5/app/entry/data/list", json={"app_id": "a", "entry_id": "e", "limit": 100}
        )
    assert body["data"][0]["_id"] == "6818417bca66cb3cc212a022" and len(waits) == 1


def test_jiandaoyun_other_400_codes_stay_fatal() -> None:
    """A 400 with another code (a bad filter) is the request's fault: not retried, the code shown."""
    made, waits = api()
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{BASE}/api/v5/app/entry/data/list").respond(
            400, json={"code": 3005, "msg": "字段不存在"}
        )
        with pytest.raises(SourceError, match=r"HTTP 400 Bad Request: .*3005"):
            made.fetch("POST", "/api/v5/app/entry/data/list", json={})
    assert waits == []


def test_shopify_graphql_throttle_inside_a_200_is_retried() -> None:
    """Shopify GraphQL answers a throttle as HTTP 200 with errors[].extensions.code THROTTLED."""
    throttled = {
        "errors": [
            {
                "message": "Throttled",
                "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/rate-limits",
                },
            }
        ],
        "extensions": {
            "cost": {
                "requestedQueryCost": 752,
                "actualQueryCost": None,
                "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 1, "restoreRate": 50.0},
            }
        },
    }
    made, waits = api()
    with respx.mock(assert_all_called=True) as router:
        route = router.post(f"{BASE}/admin/api/2025-10/graphql.json")
        route.side_effect = [
            httpx.Response(200, json=throttled),
            httpx.Response(200, json={"data": {"orders": {"nodes": []}}}),
        ]
        assert made.fetch(
            "POST",
            "/admin/api/2025-10/graphql.json",
            json={"query": "{ orders(first: 250) { nodes { id } } }"},
        ) == {"data": {"orders": {"nodes": []}}}
    assert len(waits) == 1


def test_a_configured_throttle_honours_retry_after() -> None:
    """A throttle the user describes (a 503-less gateway saying BUSY in a 200) waits as Retry-After says."""
    made, waits = api(errors=[{"type": "throttle", "status": [200], "field": "status", "values": ["BUSY"]}])
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{BASE}/orders")
        route.side_effect = [
            httpx.Response(200, json={"status": "BUSY"}, headers={"Retry-After": "4"}),
            httpx.Response(200, json={"status": "OK", "data": []}),
        ]
        made.fetch("GET", "/orders")
    assert waits == [4.0]


@pytest.mark.parametrize("status", [204, 304])
def test_no_content_and_not_modified_are_handed_to_the_listing(status: int) -> None:
    """Zoho's 204 (nothing) and 304 (nothing newer than If-Modified-Since) are not errors: the whole
    answer is returned, and its JSON body reads as None."""
    made, waits = api()
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{BASE}/crm/v8/Sales_Orders").respond(status)
        response = made.send(
            "GET", "/crm/v8/Sales_Orders", headers={"If-Modified-Since": "2024-05-01T10:00:00+08:00"}
        )
    assert response.status_code == status and made.read_json(response) is None and waits == []


def test_a_fatal_4xx_names_host_path_and_the_masked_body() -> None:
    """A 422 is fatal at once: the message has the host, the path and the source's body, with the
    token masked wherever the source quoted it."""
    made, _ = api()
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{BASE}/v2/orders").respond(
            422, json={"errors": {"updated_at_min": ["is invalid"]}, "auth": "Bearer tok-4471-secret"}
        )
        with pytest.raises(SourceError) as failure:
            made.fetch("GET", "/v2/orders", params={"updated_at_min": "yesterday"})
    assert str(failure.value) == (
        "src: GET api.example.com/v2/orders?updated_at_min=yesterday failed: HTTP 422 Unprocessable Entity: "
        '{"errors":{"updated_at_min":["is invalid"]},"auth":"Bearer ***"}'
    )


def test_a_secret_across_the_excerpt_cut_is_still_masked() -> None:
    """The body excerpt is cut at 200 characters after masking: a token that straddles the cut does
    not show its first half."""
    made, _ = api()
    body = "x" * 190 + "tok-4471-secret" + "y" * 50
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{BASE}/orders").respond(400, text=body)
        with pytest.raises(SourceError) as failure:
            made.fetch("GET", "/orders")
    assert "tok-4" not in str(failure.value) and "***" in str(failure.value)


def test_timeout_is_reported_with_the_host_and_the_timeout() -> None:
    """A source that never answers is named with its host and the configured timeout."""
    made, _ = api(timeout="7s", retry={"attempts": 2})
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{BASE}/orders").side_effect = httpx.ReadTimeout("timed out")
        with pytest.raises(SourceError) as failure:
            made.fetch("GET", "/orders")
    assert str(failure.value) == (
        "src: GET api.example.com/orders failed after 2 attempts: "
        "api.example.com:443 did not answer within 7 s (timeout)"
    )
    assert made.client.timeout.read == timedelta(seconds=7).total_seconds()
