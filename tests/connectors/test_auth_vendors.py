"""Vendor auth schemes: OAuth 1.0a (NetSuite token-based auth) against the RFC 5849 signature base
string and a published HMAC-SHA256 vector, YonSuite's signed getAccessToken, the U8 token with its
account parameters, and SAP Business One's session cookies (ROUTEID only when load-balanced)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
import pytest
import respx

from orderbridge.connectors.auth import TOKENS, OAuth1Signer, oauth_base_string, oauth_quote
from orderbridge.connectors.auth_settings import OAuth1Settings
from orderbridge.connectors.base import SourceError
from orderbridge.connectors.http import HttpApi
from orderbridge.connectors.rest.settings import RestSettings


def api(base_url: str, auth_block: Any, **more: Any) -> HttpApi:
    block = {
        "type": "rest",
        "base_url": base_url,
        "auth": auth_block,
        "list": {"path": "/orders"},
        "retry": {"attempts": 2, "initial_wait": "1s", "max_wait": "5s"},
        **more,
    }
    made = HttpApi.from_settings("erp", RestSettings.model_validate(block))
    made.sleep = lambda seconds: None
    return made


# --- OAuth 1.0a ------------------------------------------------------------------------------------

# RFC 5849 §3.4.1: the request, its parameters and the signature base string, verbatim.
RFC_URL = "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b"
RFC_BODY = "c2&a3=2+q"
RFC_BASE = (
    "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D"
    "%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26"
    "oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
)
# The same request signed with HMAC-SHA256 under the RFC's client and token secrets, as published by an
# independent OAuth library's test suite.
RFC_SHA256_SIGNATURE = "ypAxjNip++Dm0fTM+gCl8wAo6ufSnseu1WHxL7py3BU="


def rfc_signer(**more: Any) -> OAuth1Signer:
    settings = OAuth1Settings.model_validate(
        {
            "type": "oauth1",
            "consumer_key": "9djdj82h48djs9d2",
            "consumer_secret": "j49sk3j29djd",
            "token_id": "kkk9d7dh3k39sjv7",
            "token_secret": "dh893hdasih9",
            **more,
        }
    )
    return OAuth1Signer(settings, clock=lambda: 137131201.0, nonce=lambda: "7d8f3e4a")


def header_fields(value: str) -> dict[str, str]:
    assert value.startswith("OAuth ")
    fields = {}
    for part in value.removeprefix("OAuth ").split(", "):
        name, _, quoted = part.partition("=")
        fields[name] = unquote(quoted.strip('"'))
    return fields


def test_base_string_follows_rfc_5849_to_the_byte() -> None:
    """Query and form parameters are decoded, re-encoded, sorted by name then value (the repeated a3),
    an empty value kept (c@=), `+` read as a space: the base string is exactly the RFC's."""
    url = httpx.URL(RFC_URL)
    pairs = parse_qsl(url.query.decode(), keep_blank_values=True) + parse_qsl(
        RFC_BODY, keep_blank_values=True
    )
    oauth = {
        "oauth_consumer_key": "9djdj82h48djs9d2",
        "oauth_token": "kkk9d7dh3k39sjv7",
        "oauth_signature_method": "HMAC-SHA256",
        "oauth_timestamp": "137131201",
        "oauth_nonce": "7d8f3e4a",
    }
    assert oauth_base_string("POST", url, [*pairs, *oauth.items()]) == RFC_BASE


def test_signer_matches_the_published_hmac_sha256_vector() -> None:
    """The signer, given the RFC request (form body included), produces the published HMAC-SHA256
    signature once its own oauth_version is left out of the parameters — and with it, the signature of
    the base string that includes it."""
    request = httpx.Request(
        "POST",
        RFC_URL,
        content=RFC_BODY.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    rfc_signer().sign(request, request.read())
    fields = header_fields(request.headers["Authorization"])
    assert fields["oauth_version"] == "1.0" and fields["oauth_signature_method"] == "HMAC-SHA256"
    with_version = RFC_BASE + "%26oauth_version%3D1.0"  # oauth_version sorts last
    expected = hmac.new(b"j49sk3j29djd&dh893hdasih9", with_version.encode(), hashlib.sha256).digest()
    assert fields["oauth_signature"] == base64.b64encode(expected).decode()
    # the vector itself, for the base string without oauth_version
    vector = hmac.new(b"j49sk3j29djd&dh893hdasih9", RFC_BASE.encode(), hashlib.sha256).digest()
    assert base64.b64encode(vector).decode() == RFC_SHA256_SIGNATURE


def netsuite_verify(request: httpx.Request, consumer_secret: str, token_secret: str) -> bool:
    """What NetSuite does with a request: rebuild the base string from what arrived (the realm left
    out, a JSON body not a parameter) and compare signatures."""
    fields = header_fields(request.headers["Authorization"])
    signature = fields.pop("oauth_signature")
    fields.pop("realm", None)
    pairs = parse_qsl(request.url.query.decode(), keep_blank_values=True) + list(fields.items())
    text = oauth_base_string(request.method, request.url, pairs)
    key = f"{oauth_quote(consumer_secret)}&{oauth_quote(token_secret)}"
    return hmac.compare_digest(
        base64.b64encode(hmac.new(key.encode(), text.encode(), hashlib.sha256).digest()).decode(), signature
    )


NETSUITE = "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest"
NETSUITE_AUTH = {
    "type": "oauth1",
    "consumer_key": "ck-7f3a",
    "consumer_secret": "cs-91d0-secret",
    "token_id": "tk-22be",
    "token_secret": "ts-5c47-secret",
    "realm": "1234567_SB1",
}


def test_netsuite_requests_carry_the_realm_and_sign_the_next_links_query() -> None:
    """Every SuiteQL page is signed over its own limit/offset (the classic bug is signing the first
    URL only), the realm goes in the header unsigned, and a JSON body is not a parameter."""
    with respx.mock(assert_all_called=True) as router:
        route = router.post(f"{NETSUITE}/query/v1/suiteql").respond(json={"items": [], "hasMore": False})
        made = api(NETSUITE, NETSUITE_AUTH)
        made.fetch("POST", "/query/v1/suiteql", params={"limit": 2, "offset": 0}, json={"q": "SELECT 1"})
        made.fetch("POST", f"{NETSUITE}/query/v1/suiteql?limit=2&offset=2", json={"q": "SELECT 1"})
    first, second = (call.request for call in route.calls)
    for request in (first, second):
        assert header_fields(request.headers["Authorization"])["realm"] == "1234567_SB1"
        assert netsuite_verify(request, "cs-91d0-secret", "ts-5c47-secret")
    assert not netsuite_verify(first, "cs-91d0-secret", "another-token-secret")
    one, two = (header_fields(r.headers["Authorization"])["oauth_signature"] for r in (first, second))
    assert one != two


def test_netsuite_refusal_names_the_error_without_any_credential() -> None:
    """A 401 INVALID_LOGIN fails the poll with the host and NetSuite's own detail; none of the four
    credentials, nor the signature, appear in the message."""
    body = {
        "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.2",
        "title": "Unauthorized",
        "status": 401,
        "o:errorDetails": [
            {
                "detail": "Invalid login attempt. For more details, see the Login Audit Trail.",
                "o:errorCode": "INVALID_LOGIN",
            }
        ],
    }
    with respx.mock(assert_all_called=True) as router:
        route = router.post(f"{NETSUITE}/query/v1/suiteql").respond(401, json=body)
        with pytest.raises(SourceError) as failure:
            api(NETSUITE, NETSUITE_AUTH).fetch("POST", "/query/v1/suiteql", json={"q": "SELECT 1"})
    message = str(failure.value)
    assert "HTTP 401" in message and "Invalid login attempt" in message
    assert "suitetalk.api.netsuite.com" in message
    signature = header_fields(route.calls.last.request.headers["Authorization"])["oauth_signature"]
    for secret in ("ck-7f3a", "cs-91d0-secret", "tk-22be", "ts-5c47-secret", signature):
        assert secret not in message


# --- YonSuite ----------------------------------------------------------------------------------------

YON = "https://c2.yonyoucloud.com/iuap-api-gateway"
YON_TOKEN = "https://c2.yonyoucloud.com/iuap-api-auth/open-auth/selfAppAuth/base/v1/getAccessToken"
YON_AUTH = {"type": "yonsuite", "app_key": "yk-4c1e", "app_secret": "ys-secret-88a0"}


def yon_token(value: str) -> httpx.Response:
    return httpx.Response(
        200, json={"code": "00000", "message": "成功！", "data": {"access_token": value, "expire": 7200}}
    )


def test_yonsuite_token_request_is_signed_as_documented_and_the_token_goes_in_the_query() -> None:
    """getAccessToken carries appKey, a millisecond timestamp and Base64(HmacSHA256(appSecret,
    'appKey'+appKey+'timestamp'+timestamp)), URL-encoded; the token is cached and sent as access_token
    on the gateway's host."""
    with respx.mock(assert_all_called=True) as router:
        token = router.get(YON_TOKEN).mock(return_value=yon_token("yon-tok-1"))
        orders = router.post(f"{YON}/yonbip/sd/voucherorder/list").respond(
            json={"code": "200", "message": "操作成功", "data": {"recordList": []}}
        )
        made = api(YON, YON_AUTH)
        made.fetch("POST", "/yonbip/sd/voucherorder/list", json={"pageIndex": 1})
        made.fetch("POST", "/yonbip/sd/voucherorder/list", json={"pageIndex": 2})
    assert token.call_count == 1
    sent = token.calls.last.request.url
    assert "signature=" in str(sent) and "+" not in sent.query.decode()  # base64 is URL-encoded
    stamp = sent.params["timestamp"]
    assert stamp.isdigit() and len(stamp) == 13
    expected = hmac.new(b"ys-secret-88a0", f"appKeyyk-4c1etimestamp{stamp}".encode(), hashlib.sha256)
    assert sent.params["signature"] == base64.b64encode(expected.digest()).decode()
    assert sent.params["appKey"] == "yk-4c1e"
    assert [c.request.url.params["access_token"] for c in orders.calls] == ["yon-tok-1", "yon-tok-1"]


def test_yonsuite_token_invalid_inside_a_200_gets_a_new_token_once() -> None:
    """The gateway says a token is no longer valid with a code in an HTTP 200 body: a new token is
    fetched and the request repeated once with it."""
    with respx.mock(assert_all_called=True) as router:
        token = router.get(YON_TOKEN)
        token.side_effect = [yon_token("yon-tok-old"), yon_token("yon-tok-new")]
        orders = router.post(f"{YON}/yonbip/sd/voucherorder/list")
        orders.side_effect = [
            httpx.Response(200, json={"code": "310036", "message": "非法token"}),
            httpx.Response(200, json={"code": "200", "message": "操作成功", "data": {"recordList": []}}),
        ]
        answer = api(YON, YON_AUTH).fetch("POST", "/yonbip/sd/voucherorder/list", json={})
    assert answer["code"] == "200"
    assert [c.request.url.params["access_token"] for c in orders.calls] == ["yon-tok-old", "yon-tok-new"]


def test_yonsuite_token_refused_fails_with_a_hint_and_no_secret() -> None:
    """A token answer whose code is not 00000 fails the poll at once, pointing at the key, secret and
    clock, showing neither the key nor the secret."""
    with respx.mock(assert_all_called=True) as router:
        router.get(YON_TOKEN).respond(
            json={"code": "1008", "message": "签名错误 appKey=yk-4c1e", "data": None}
        )
        with pytest.raises(SourceError) as failure:
            api(YON, YON_AUTH).fetch("POST", "/yonbip/sd/voucherorder/list", json={})
    message = str(failure.value)
    assert "YonSuite access token" in message and "server clock" in message
    assert "yk-4c1e" not in message and "ys-secret-88a0" not in message


# --- U8 ------------------------------------------------------------------------------------------------

U8 = "https://api.yonyouup.com"
U8_AUTH = {
    "type": "u8",
    "from_account": "dev_acme",
    "to_account": "acme_u8",
    "app_key": "opa6b1f0e2",
    "app_secret": "u8-secret-d41c",
}


def test_u8_token_and_account_parameters_go_on_every_call() -> None:
    """/system/token is asked with from_account, app_key and app_secret; each business call carries
    from_account, to_account, app_key and token.id as query parameters."""
    with respx.mock(assert_all_called=True) as router:
        token = router.get(f"{U8}/system/token").respond(
            json={"errcode": "0", "errmsg": "", "token": {"id": "u8-tok-93", "expiresIn": 7200}}
        )
        orders = router.get(f"{U8}/api/saleorderlist/batch_get").respond(
            json={"errcode": "0", "errmsg": "", "saleorderlist": []}
        )
        made = api(U8, U8_AUTH)
        made.fetch("GET", "/api/saleorderlist/batch_get", params={"page_index": 1})
    asked = token.calls.last.request.url.params
    assert (asked["from_account"], asked["app_key"], asked["app_secret"]) == (
        "dev_acme",
        "opa6b1f0e2",
        "u8-secret-d41c",
    )
    sent = orders.calls.last.request.url.params
    assert dict(sent) == {
        "page_index": "1",
        "from_account": "dev_acme",
        "to_account": "acme_u8",
        "app_key": "opa6b1f0e2",
        "token": "u8-tok-93",
    }


def test_u8_token_error_code_fails_without_the_secret() -> None:
    """U8 reports a refused token request inside an HTTP 200 (errcode not "0"): the poll fails and
    names the problem, never the app secret."""
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{U8}/system/token").respond(
            json={"errcode": "20001", "errmsg": "app_secret u8-secret-d41c 不正确"}
        )
        with pytest.raises(SourceError) as failure:
            api(U8, U8_AUTH).fetch("GET", "/api/saleorderlist/batch_get")
    assert "U8 token" in str(failure.value) and "u8-secret-d41c" not in str(failure.value)


# --- SAP Business One ----------------------------------------------------------------------------------

SAP = "https://b1.example.com:50000/b1s/v1"


def test_sap_session_without_a_load_balancer_needs_no_routeid() -> None:
    """A Service Layer without its load balancer sets only B1SESSION: the session is used as is; behind
    the balancer ROUTEID is sent back too; a login without B1SESSION is a failed login."""
    block = {
        "type": "login",
        "path": "/Login",
        "body": {"CompanyDB": "SBODEMOUS", "UserName": "manager"},
        "secret_body": {"Password": "b1-pw-0420"},
        "token": {"cookies": ["B1SESSION"], "optional_cookies": ["ROUTEID"]},
    }
    session = {"odata.metadata": f"{SAP}/$metadata#B1Sessions/@Element", "SessionTimeout": 30}
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{SAP}/Login").respond(
            json={**session, "SessionId": "s-1"}, headers=[("Set-Cookie", "B1SESSION=s-1;HttpOnly;")]
        )
        orders = router.get(f"{SAP}/Orders").respond(json={"value": []})
        api(SAP, block).fetch("GET", "/Orders")
    assert orders.calls.last.request.headers["Cookie"] == "B1SESSION=s-1"

    TOKENS.clear()
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{SAP}/Login").respond(
            json={**session, "SessionId": "s-2"},
            headers=[("Set-Cookie", "B1SESSION=s-2;HttpOnly;"), ("Set-Cookie", "ROUTEID=.node2; path=/b1s")],
        )
        orders = router.get(f"{SAP}/Orders").respond(json={"value": []})
        api(SAP, block).fetch("GET", "/Orders")
    assert orders.calls.last.request.headers["Cookie"] == "B1SESSION=s-2; ROUTEID=.node2"

    TOKENS.clear()
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{SAP}/Login").respond(json=session, headers=[("Set-Cookie", "ROUTEID=.node2")])
        with pytest.raises(SourceError, match="no token at cookies B1SESSION"):
            api(SAP, block).fetch("GET", "/Orders")


def test_optional_cookies_need_cookies() -> None:
    """`optional_cookies` without `cookies` is refused when the config is loaded."""
    with pytest.raises(ValueError, match="optional_cookies"):
        RestSettings.model_validate(
            {
                "type": "rest",
                "base_url": SAP,
                "list": {"path": "/Orders"},
                "auth": {
                    "type": "login",
                    "path": "/Login",
                    "token": {"body": "SessionId", "optional_cookies": ["ROUTEID"]},
                },
            }
        )


def test_json_body_of_a_signed_request_is_sent_unchanged() -> None:
    """Signing reads the body without consuming it: the SuiteQL query arrives as sent."""
    with respx.mock(assert_all_called=True) as router:
        route = router.post(f"{NETSUITE}/query/v1/suiteql").respond(json={"items": []})
        api(NETSUITE, NETSUITE_AUTH).fetch(
            "POST", "/query/v1/suiteql", json={"q": "SELECT id FROM transaction"}
        )
    assert json.loads(route.calls.last.request.content) == {"q": "SELECT id FROM transaction"}
