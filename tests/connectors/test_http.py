"""Outgoing HTTP: auth styles, retries and Retry-After, errors in 200 bodies, secret-free messages."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx

from orderbridge import __version__
from orderbridge.connectors.auth import AuthStyle, HeaderToken, api_key
from orderbridge.connectors.base import PollStopped, SourceError
from orderbridge.connectors.http import HttpApi, build_client, retry_after
from orderbridge.connectors.http_settings import RetrySettings
from orderbridge.connectors.responses import BodyErrorSettings, build_checks

BASE = "https://wms.example.com/api"
TOKEN = "wms-bearer-7f3a9c"
KEY = "k3y-55d0e1b2"
ORDERS = {"data": [{"id": 1, "order_ref": "SO-000042", "status": "PICKING"}], "next_cursor": None}


def make_api(
    auth: AuthStyle | None = None, *, attempts: int = 3, errors: dict[str, object] | None = None
) -> tuple[HttpApi, list[float]]:
    waits: list[float] = []
    client = build_client(BASE, timeout=timedelta(seconds=5), auth=auth)
    retry = RetrySettings.model_validate({"attempts": attempts, "initial_wait": "1s", "max_wait": "30s"})
    checks = build_checks([BodyErrorSettings.model_validate(errors)] if errors else [])
    return HttpApi("wms", client, retry=retry, checks=checks, sleep=waits.append), waits


def test_bearer_token_and_user_agent_are_sent() -> None:
    """A bearer-auth system receives `Authorization: Bearer <token>` and our User-Agent."""
    api, _ = make_api(HeaderToken(TOKEN))
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{BASE}/orders").respond(json=ORDERS)
        assert api.fetch("GET", "/orders") == ORDERS
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["User-Agent"] == f"orderbridge/{__version__}"


def test_api_key_in_header_with_prefix() -> None:
    """An API key configured for a header is sent there with its prefix, and not in the URL."""
    api, _ = make_api(api_key(KEY, header="Authorization", prefix="token "))
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{BASE}/orders").respond(json=ORDERS)
        api.fetch("GET", "/orders", params={"page": 1})
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"token {KEY}"
    assert KEY not in str(request.url)


def test_api_key_in_query_keeps_other_params() -> None:
    """An API key configured for a query parameter is added next to the listing's own parameters."""
    api, _ = make_api(api_key(KEY, query="key"))
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{BASE}/orders").respond(json=ORDERS)
        api.fetch("GET", "/orders", params={"page": 2})
    params = route.calls.last.request.url.params
    assert params["key"] == KEY
    assert params["page"] == "2"
    assert "Authorization" not in route.calls.last.request.headers


def test_429_waits_as_retry_after_says_then_succeeds() -> None:
    """A 429 with `Retry-After: 7` is retried after exactly 7 s, not after our own backoff."""
    api, waits = make_api()
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{BASE}/orders")
        route.side_effect = [
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(200, json=ORDERS),
        ]
        assert api.fetch("GET", "/orders") == ORDERS
    assert route.call_count == 2
    assert waits == [7.0]


def test_retry_after_longer_than_max_wait_gives_the_poll_up_at_once() -> None:
    """A `Retry-After` date an hour ahead, beyond retry.max_wait (30 s here): no retry that the server
    would refuse again, but a SourceError carrying how long the source asked to wait."""
    api, waits = make_api()
    later = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{BASE}/orders")
        route.side_effect = [httpx.Response(503, headers={"Retry-After": later})]
        with pytest.raises(SourceError) as failure:
            api.fetch("GET", "/orders")
    assert route.call_count == 1 and waits == []
    assert failure.value.retry_after is not None and 3500 < failure.value.retry_after <= 3600
    assert "asks to wait" in str(failure.value)


def test_retry_after_within_max_wait_as_http_date_is_honoured() -> None:
    """A `Retry-After` date 20 s ahead is waited for (about 20 s), then the request succeeds."""
    api, waits = make_api()
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=21), usegmt=True)
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{BASE}/orders").side_effect = [
            httpx.Response(503, headers={"Retry-After": later}),
            httpx.Response(200, json=ORDERS),
        ]
        assert api.fetch("GET", "/orders") == ORDERS
    assert len(waits) == 1 and 15 <= waits[0] <= 21


@pytest.mark.parametrize("status", [408, 429, 502, 503])
def test_transient_statuses_are_retried_with_backoff(status: int) -> None:
    """408, 429 (without Retry-After) and 5xx are retried; the wait lies between initial and max wait."""
    api, waits = make_api()
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{BASE}/orders")
        route.side_effect = [httpx.Response(status), httpx.Response(200, json=ORDERS)]
        assert api.fetch("GET", "/orders") == ORDERS
    assert route.call_count == 2
    assert len(waits) == 1 and 1.0 <= waits[0] <= 30.0


def test_timeouts_are_retried() -> None:
    """A connect timeout is a transient failure: the call is repeated and its answer used."""
    api, waits = make_api()
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{BASE}/orders")
        route.side_effect = [httpx.ConnectTimeout("timed out"), httpx.Response(200, json=ORDERS)]
        assert api.fetch("GET", "/orders") == ORDERS
    assert route.call_count == 2 and len(waits) == 1


def test_server_error_forever_gives_up_after_the_configured_attempts() -> None:
    """A source that keeps answering 500 is tried `attempts` times, then fails with a clear SourceError."""
    api, waits = make_api(attempts=4)
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{BASE}/orders").respond(
            500, text="<html><body>Internal   Server Error</body></html>"
        )
        with pytest.raises(SourceError) as failure:
            api.fetch("GET", "/orders", params={"page": 3})
    assert route.call_count == 4 and len(waits) == 3
    assert waits == sorted(waits)  # backoff grows
    message = str(failure.value)
    assert message.startswith("wms: GET wms.example.com/api/orders?page=3 failed after 4 attempts: HTTP 500")
    assert "Internal Server Error" in message


def test_not_found_is_not_retried_and_says_what_failed() -> None:
    """A 404 is a configuration mistake, not a hiccup: one call, a message naming system, status and path."""
    api, waits = make_api()
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{BASE}/order").respond(404, json={"error": "no route /order"})
        with pytest.raises(SourceError) as failure:
            api.send("GET", "/order")
    assert route.call_count == 1 and waits == []
    assert str(failure.value) == (
        'wms: GET wms.example.com/api/order failed: HTTP 404 Not Found: {"error":"no route /order"}'
        " (check base_url and the path)"
    )


def test_unauthorized_is_not_retried_and_never_shows_the_token() -> None:
    """A 401 fails at once; the message hints at credentials and contains no trace of the bearer token."""
    api, waits = make_api(HeaderToken(TOKEN))
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{BASE}/orders").respond(401, json={"error": f"token {TOKEN} expired"})
        with pytest.raises(SourceError) as failure:
            api.fetch("GET", "/orders")
    assert route.call_count == 1 and waits == []
    message = str(failure.value)
    assert "HTTP 401" in message and "check the credentials" in message
    assert TOKEN not in message and "Bearer" not in message


def test_api_key_in_query_is_redacted_from_failure_messages() -> None:
    """When a call with a query API key fails, the message shows `key=***`, never the key itself."""
    api, _ = make_api(api_key(KEY, query="key"), attempts=2)
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{BASE}/orders").respond(502, text=f"bad gateway for /api/orders?key={KEY}")
        with pytest.raises(SourceError) as failure:
            api.fetch("GET", "/orders", params={"since": "2024-05-01", "access_token": "t0ken-in-params"})
    message = str(failure.value)
    assert "since=2024-05-01" in message and "access_token=***" in message
    assert KEY not in message and "t0ken-in-params" not in message
    assert "key=***" in message


def test_error_code_inside_a_200_body_is_a_source_error() -> None:
    """`{"code": 40001, "msg": ...}` with HTTP 200 is a failure carrying the API's own message."""
    api, _ = make_api(api_key(KEY, query="key"), errors={"field": "code", "message": "msg"})
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{BASE}/orders").respond(json={"code": 40001, "msg": f"invalid key {KEY}", "data": None})
        with pytest.raises(SourceError) as failure:
            api.fetch("GET", "/orders")
    assert str(failure.value) == (
        "wms: GET wms.example.com/api/orders?key=*** reported an error: code=40001: invalid key ***"
    )


def test_ok_code_inside_a_200_body_passes() -> None:
    """`{"code": 0, "data": ...}` is the success shape and is returned as is."""
    api, _ = make_api(errors={"field": "code", "message": "msg"})
    body = {"code": 0, "msg": "success", "data": {"items": []}}
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{BASE}/orders").respond(json=body)
        assert api.fetch("GET", "/orders") == body


def test_false_success_flag_is_not_mistaken_for_ok_code_zero() -> None:
    """`success: false` must fail although the default ok values include 0 (and `False == 0` in Python)."""
    api, _ = make_api(errors={"field": "success"})
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{BASE}/orders").respond(json={"success": False, "errorMessage": "rate limited"})
        with pytest.raises(SourceError, match="success=False"):
            api.fetch("GET", "/orders")


def test_non_json_body_is_a_source_error() -> None:
    """An HTML login page where JSON was expected fails with an excerpt of what came back."""
    api, _ = make_api()
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{BASE}/orders").respond(200, text="<html><title>Please sign in</title></html>")
        with pytest.raises(SourceError, match="not JSON: <html><title>Please sign in"):
            api.fetch("GET", "/orders")


def test_json_nested_too_deeply_to_parse_is_a_source_error() -> None:
    """An answer nested deeper than the parser recurses fails like any body that is not JSON."""
    api, _ = make_api()
    deep = "[" * 100_000 + "]" * 100_000
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{BASE}/orders").respond(200, text=deep, headers={"Content-Type": "application/json"})
        with pytest.raises(SourceError, match="not JSON"):
            api.fetch("GET", "/orders")


def test_stop_event_aborts_the_wait_between_retries() -> None:
    """On shutdown the retry wait ends at once (no sleeping out a long backoff) with a SourceError."""
    waits: list[float] = []
    stop = threading.Event()
    client = build_client(BASE, timeout=timedelta(seconds=5))
    retry = RetrySettings.model_validate({"attempts": 5, "initial_wait": "10m", "max_wait": "1h"})
    api = HttpApi("wms", client, retry=retry, sleep=lambda seconds: (waits.append(seconds), stop.set()))
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{BASE}/orders").respond(503)
        with pytest.raises(SourceError, match="stopped while waiting to retry"):
            api.fetch("GET", "/orders", stop=stop)
    assert route.call_count == 1 and len(waits) == 1


def test_a_stop_already_set_sends_nothing() -> None:
    """With the poll's stop event already set, no request goes out: the call gives way at once with
    PollStopped (not a failure of the source)."""
    client = build_client(BASE, timeout=timedelta(seconds=5))
    retry = RetrySettings.model_validate({"attempts": 5, "initial_wait": "1h", "max_wait": "1h"})
    api = HttpApi("wms", client, retry=retry)
    stop = threading.Event()
    stop.set()
    with respx.mock(assert_all_called=False) as router:
        route = router.get(f"{BASE}/orders").respond(503)
        with pytest.raises(PollStopped, match="stopped"):
            api.fetch("GET", "/orders", stop=stop)
    assert route.call_count == 0


@pytest.mark.parametrize("status", [400, 403, 409, 422])
def test_client_errors_other_than_408_and_429_are_not_retried(status: int) -> None:
    """A 4xx other than 408/429 means the request itself is wrong: it is sent once, never repeated."""
    api, waits = make_api()
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{BASE}/orders").respond(status, json={"error": "rejected"})
        with pytest.raises(SourceError, match=f"HTTP {status}"):
            api.fetch("GET", "/orders")
    assert route.call_count == 1 and waits == []


def test_credentials_in_configured_headers_are_masked_when_echoed_back() -> None:
    """A key configured under `headers` (not `auth`) that the server repeats in its error body does not
    reach the message; neither does an `Authorization` header's token; harmless headers stay readable."""
    secret, app_id = "appsecret-91c2e7", "store-4471"
    client = build_client(
        BASE,
        timeout=timedelta(seconds=5),
        headers={"X-App-Id": app_id, "X-App-Secret": secret, "Authorization": "token gh-77aa01"},
    )
    retry = RetrySettings.model_validate({"attempts": 1})
    api = HttpApi("wms", client, retry=retry)
    body = {"error": f"app {app_id} with secret {secret} and token gh-77aa01 is not allowed"}
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{BASE}/orders").respond(403, json=body)
        with pytest.raises(SourceError) as failure:
            api.fetch("GET", "/orders")
    message = str(failure.value)
    assert secret not in message and "gh-77aa01" not in message
    assert f"app {app_id} with secret *** and *** is not allowed" in message


def test_secret_query_parameter_echoed_in_a_200_error_body_is_masked() -> None:
    """A credential passed as a listing parameter (`access_token`) and quoted back in an error envelope
    is masked in the message, like the `key=***` in the request line."""
    api, _ = make_api(errors={"field": "code", "message": "msg"})
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{BASE}/orders").respond(json={"code": 401, "msg": "access_token t0ken-abc123 expired"})
        with pytest.raises(SourceError) as failure:
            api.fetch("GET", "/orders", params={"access_token": "t0ken-abc123"})
    assert str(failure.value) == (
        "wms: GET wms.example.com/api/orders?access_token=*** reported an error: code=401: access_token *** "
        "expired"
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [("2.5", 2.5), ("-3", 0.0), ("inf", None), ("nan", None), ("1e30", 86400.0), ("soon", None)],
)
def test_retry_after_values_are_bounded(header: str, expected: float | None) -> None:
    """Shopify sends fractional seconds; nonsense or an endless wait does not become a wait the
    daemon cannot schedule (a day at most, never negative)."""
    assert retry_after(httpx.Response(429, headers={"Retry-After": header})) == expected
