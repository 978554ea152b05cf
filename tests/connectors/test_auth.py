"""Auth styles, each on payloads shaped like the reference's recorded answers: fixed tokens and keys in
any scheme, basic (also from base_url's userinfo), OAuth2 grants with caching and refresh, session
login by token or cookie with re-login on expiry, HMAC-signed requests, and the style registry."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import typing
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx
from pydantic import TypeAdapter, ValidationError

from orderbridge.connectors import auth
from orderbridge.connectors.auth import AUTH_STYLES, TOKENS, HmacSigner
from orderbridge.connectors.auth_settings import AuthSettings, HmacSettings
from orderbridge.connectors.base import SourceError
from orderbridge.connectors.http import HttpApi
from orderbridge.connectors.rest.settings import RestSettings

ORDERS = {"data": [{"id": 1, "order_ref": "SO-000042", "status": "PICKING"}]}


@pytest.fixture(autouse=True)
def _fresh_tokens() -> Iterator[None]:
    TOKENS.clear()
    yield
    TOKENS.clear()


def api(base_url: str, auth_block: Any, **more: Any) -> HttpApi:
    """The HTTP side of a system block as a user writes it in YAML."""
    block = {
        "type": "rest",
        "base_url": base_url,
        "auth": auth_block,
        "list": {"path": "/orders"},
        "retry": {"attempts": 2, "initial_wait": "1s", "max_wait": "5s"},
        **more,
    }
    made = HttpApi.from_settings("shop", RestSettings.model_validate(block))
    made.sleep = lambda seconds: None
    return made


def jwt(exp: float, subject: str = "user_01") -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part({'sub': subject, 'exp': exp})}.c2lnbmF0dXJl"


# --- the registry and the older spelling -------------------------------------------------------------


def test_every_auth_style_in_the_settings_has_a_registered_class_and_back() -> None:
    """The `type:` values the config accepts are exactly the registry's names: a style cannot be
    configurable without an implementation, nor registered without settings."""
    union = typing.get_args(typing.get_args(AuthSettings)[0])
    accepted = {model.model_fields["type"].annotation.__args__[0] for model in union}
    assert accepted == set(AUTH_STYLES)
    assert {entry.settings for entry in AUTH_STYLES.values()} == set(union)


def test_the_older_shorthand_still_reads_as_typed_styles() -> None:
    """`auth: {bearer: T}` and `auth: {api_key: {...}}`, as configs written before types exist, keep
    working and mean the same styles."""
    adapter: TypeAdapter[Any] = TypeAdapter(AuthSettings)
    bearer = adapter.validate_python({"bearer": "tok-1"})
    key = adapter.validate_python({"api_key": {"header": "X-Api-Key", "value": "k-1"}})
    assert bearer.type == "bearer" and bearer.token.get_secret_value() == "tok-1"
    assert key.type == "api_key" and key.header == "X-Api-Key"
    assert adapter.validate_python({}).type == "none"
    with pytest.raises(ValidationError, match="one auth style"):
        adapter.validate_python({"bearer": "a", "api_key": {"header": "X", "value": "b"}})


# --- fixed credentials ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "header", "value"),
    [
        ({"type": "bearer", "token": "t-1"}, "Authorization", "Bearer t-1"),
        ({"type": "bearer", "token": "9944b0", "scheme": "Token"}, "Authorization", "Token 9944b0"),  # DRF
        (
            {"type": "bearer", "token": "1000.ab", "scheme": "Zoho-oauthtoken"},
            "Authorization",
            "Zoho-oauthtoken 1000.ab",
        ),
        (
            {"type": "bearer", "token": "shpat_1", "header": "X-Shopify-Access-Token", "scheme": ""},
            "X-Shopify-Access-Token",
            "shpat_1",
        ),
        (
            {"type": "api_key", "header": "Authorization", "prefix": "token ", "value": "k:s"},
            "Authorization",
            "token k:s",
        ),  # ERPNext
    ],
)
def test_fixed_tokens_go_in_the_configured_header_and_scheme(
    block: dict[str, Any], header: str, value: str
) -> None:
    """A fixed token is sent in the configured header after the configured scheme word, exactly."""
    with respx.mock(assert_all_called=True) as router:
        route = router.get("https://api.example.com/orders").respond(json=ORDERS)
        api("https://api.example.com", block).fetch("GET", "/orders")
    assert route.calls.last.request.headers[header] == value


def test_static_credentials_fill_several_headers_and_parameters_and_are_masked() -> None:
    """An app key/secret pair in headers (Chanjet style) and parameters (U8 style) all go out, and none
    of them appears in the failure message even when the source quotes them back."""
    block = {
        "type": "static",
        "headers": {"appKey": "ak-3391", "appSecret": "as-77120"},
        "params": {"app_key": "qk-5521"},
    }
    with respx.mock(assert_all_called=True) as router:
        route = router.get("https://api.example.com/orders").respond(
            403, json={"error": "app ak-3391 / as-77120 / qk-5521 not authorised"}
        )
        with pytest.raises(SourceError) as failure:
            api("https://api.example.com", block).fetch("GET", "/orders")
    sent = route.calls.last.request
    assert sent.headers["appKey"] == "ak-3391" and sent.headers["appSecret"] == "as-77120"
    assert sent.url.params["app_key"] == "qk-5521"
    message = str(failure.value)
    assert not {"ak-3391", "as-77120", "qk-5521"} & set(message.replace("/", " ").split())
    assert "app_key=***" in message and "not authorised" in message


def test_userinfo_in_base_url_is_basic_auth_and_never_shown_even_base64_encoded() -> None:
    """`https://user:pw@host` becomes basic auth; the URL loses its userinfo, and neither the password
    nor its base64 form reaches an error when the source echoes the request's headers."""
    settings = RestSettings.model_validate(
        {
            "type": "rest",
            "base_url": "https://svc:pa%24%24-w0rd-88@erp.example.com/api",
            "list": {"path": "/orders"},
        }
    )
    assert settings.auth.type == "basic" and settings.auth.password.get_secret_value() == "pa$$-w0rd-88"
    assert "@" not in str(settings.base_url) and "w0rd" not in str(settings.base_url)
    encoded = base64.b64encode(b"svc:pa$$-w0rd-88").decode()
    made = HttpApi.from_settings("erp", settings)
    with respx.mock(assert_all_called=True) as router:
        route = router.get("https://erp.example.com/api/orders").respond(
            400, json={"error": "bad request", "echo": {"Authorization": f"Basic {encoded}"}}
        )
        with pytest.raises(SourceError) as failure:
            made.fetch("GET", "/orders")
    assert route.calls.last.request.headers["Authorization"] == f"Basic {encoded}"
    message = str(failure.value)
    assert "w0rd" not in message and encoded not in message and encoded[:12] not in message
    assert "erp.example.com/api/orders" in message


def test_userinfo_and_an_auth_block_together_are_refused_without_quoting_the_password() -> None:
    """Two ways of giving credentials at once is a config mistake, reported without the password."""
    with pytest.raises(ValidationError) as failure:
        RestSettings.model_validate(
            {
                "type": "rest",
                "base_url": "https://svc:hunter-22@erp.example.com",
                "auth": {"type": "bearer", "token": "x"},
                "list": {"path": "/orders"},
            }
        )
    assert "give one of them" in str(failure.value)
    assert "hunter-22" not in str(failure.value).split("input_value")[0]


# --- OAuth2 ----------------------------------------------------------------------------------------------

SF_LOGIN = "https://login.salesforce.com"
SF_INSTANCE = "https://acme.my.salesforce.com"
SF_TOKEN = {
    "access_token": "00D5g000008XYZ!AQ4AQFirstToken",
    "instance_url": SF_INSTANCE,
    "id": "https://login.salesforce.com/id/00D5g000008XYZEAA/0055g00000AbCdEAAR",
    "token_type": "Bearer",
    "issued_at": "1732276800000",
    "signature": "kp0n0vQn4ax0Xf5R2RrGzq3ZrC4ZN4jv0X1u6EwGZnI=",
}
SF_EXPIRED = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
SF_QUERY = {
    "totalSize": 1,
    "done": True,
    "records": [{"Id": "8015g000000AbCdAAK", "OrderNumber": "00000100"}],
}


def salesforce(**more: Any) -> dict[str, Any]:
    return {
        "type": "oauth2",
        "token_url": "/services/oauth2/token",
        "client_id": "3MVG9-connected-app",
        "client_secret": "sf-secret-5F1E",
        "instance_url_field": "instance_url",
        **more,
    }


def test_client_credentials_token_is_fetched_once_cached_and_sent_to_the_instance() -> None:
    """Client credentials: one token request (form-encoded, with id and secret), the token cached for
    the next poll, and calls going to the `instance_url` the token answer names (Salesforce)."""
    with respx.mock(assert_all_called=True) as router:
        token = router.post(f"{SF_LOGIN}/services/oauth2/token").respond(json=SF_TOKEN)
        query = router.get(f"{SF_INSTANCE}/services/data/v60.0/query").respond(json=SF_QUERY)
        for _ in range(2):  # two polls, each with a connector of its own
            assert api(SF_LOGIN, salesforce()).fetch("GET", "/services/data/v60.0/query") == SF_QUERY
    assert token.call_count == 1
    form = dict(httpx.QueryParams(token.calls.last.request.content.decode()))
    assert form == {
        "grant_type": "client_credentials",
        "client_id": "3MVG9-connected-app",
        "client_secret": "sf-secret-5F1E",
    }
    assert query.call_count == 2
    assert query.calls.last.request.headers["Authorization"] == f"Bearer {SF_TOKEN['access_token']}"


def test_a_refused_token_is_refreshed_once_and_the_request_repeated() -> None:
    """On 401 INVALID_SESSION_ID a new token is fetched and the request sent again, once."""
    second = {**SF_TOKEN, "access_token": "00D5g000008XYZ!AQ4AQSecondToken"}
    with respx.mock(assert_all_called=True) as router:
        token = router.post(f"{SF_LOGIN}/services/oauth2/token")
        token.side_effect = [httpx.Response(200, json=SF_TOKEN), httpx.Response(200, json=second)]
        query = router.get(f"{SF_INSTANCE}/services/data/v60.0/query")
        query.side_effect = [httpx.Response(401, json=SF_EXPIRED), httpx.Response(200, json=SF_QUERY)]
        assert api(SF_LOGIN, salesforce()).fetch("GET", "/services/data/v60.0/query") == SF_QUERY
    assert token.call_count == 2
    assert [c.request.headers["Authorization"] for c in query.calls] == [
        f"Bearer {SF_TOKEN['access_token']}",
        f"Bearer {second['access_token']}",
    ]


def test_a_token_refused_twice_fails_naming_the_host_without_any_token() -> None:
    """A fresh token refused as well is the source's answer: one refresh only, then a fatal error with
    the host and the body, and neither token nor client secret in it."""
    second = {**SF_TOKEN, "access_token": "00D5g000008XYZ!AQ4AQSecondToken"}
    with respx.mock(assert_all_called=True) as router:
        token = router.post(f"{SF_LOGIN}/services/oauth2/token")
        token.side_effect = [httpx.Response(200, json=SF_TOKEN), httpx.Response(200, json=second)]
        query = router.get(f"{SF_INSTANCE}/services/data/v60.0/query").respond(401, json=SF_EXPIRED)
        with pytest.raises(SourceError) as failure:
            api(SF_LOGIN, salesforce()).fetch("GET", "/services/data/v60.0/query")
    assert token.call_count == 2 and query.call_count == 2
    message = str(failure.value)
    assert "acme.my.salesforce.com/services/data/v60.0/query" in message and "INVALID_SESSION_ID" in message
    assert "check the credentials" in message
    assert "AQ4AQ" not in message and "sf-secret-5F1E" not in message


def test_a_token_about_to_expire_is_refreshed_before_use() -> None:
    """A token whose `expires_in` falls within `refresh_before` is replaced before the next request."""
    short = {"access_token": "tok-short-1", "token_type": "Bearer", "expires_in": 30}
    with respx.mock(assert_all_called=True) as router:
        token = router.post("https://auth.example.com/token")
        token.side_effect = [
            httpx.Response(200, json=short),
            httpx.Response(200, json={**short, "access_token": "tok-2"}),
        ]
        orders = router.get("https://api.example.com/orders").respond(json=ORDERS)
        block = {
            "type": "oauth2",
            "token_url": "https://auth.example.com/token",
            "client_id": "c",
            "client_secret": "s-1234",
            "refresh_before": "60s",
        }
        api("https://api.example.com", block).fetch("GET", "/orders")
        api("https://api.example.com", block).fetch("GET", "/orders")
    assert token.call_count == 2
    assert [c.request.headers["Authorization"] for c in orders.calls] == [
        "Bearer tok-short-1",
        "Bearer tok-2",
    ]


def test_zoho_refresh_token_grant_with_its_own_scheme_and_a_rotated_refresh_token() -> None:
    """Zoho: refresh_token grant at accounts.zoho.com, `Zoho-oauthtoken` scheme, calls to the answer's
    `api_domain`; a refresh token the server rotates is the one used next time."""
    first = {
        "access_token": "1000.aaa",
        "api_domain": "https://www.zohoapis.com",
        "token_type": "Bearer",
        "expires_in": 3600,
    }
    rotated = {**first, "access_token": "1000.bbb", "refresh_token": "1000.refresh-2"}
    invalid = {"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token", "status": "error"}
    block = {
        "type": "oauth2",
        "grant": "refresh_token",
        "token_url": "https://accounts.zoho.com/oauth/v2/token",
        "client_id": "1000.CLIENT",
        "client_secret": "zoho-secret-9",
        "refresh_token": "1000.refresh-1",
        "scheme": "Zoho-oauthtoken",
        "instance_url_field": "api_domain",
    }
    with respx.mock(assert_all_called=True) as router:
        token = router.post("https://accounts.zoho.com/oauth/v2/token")
        token.side_effect = [httpx.Response(200, json=rotated), httpx.Response(200, json=first)]
        orders = router.get("https://www.zohoapis.com/crm/v8/Sales_Orders")
        orders.side_effect = [
            httpx.Response(200, json={"data": []}),
            httpx.Response(401, json=invalid),
            httpx.Response(200, json={"data": []}),
        ]
        made = api("https://www.zohoapis.com", block)
        made.fetch("GET", "/crm/v8/Sales_Orders")
        made.fetch("GET", "/crm/v8/Sales_Orders")
    forms = [dict(httpx.QueryParams(c.request.content.decode())) for c in token.calls]
    assert [f["refresh_token"] for f in forms] == ["1000.refresh-1", "1000.refresh-2"]
    assert forms[0]["grant_type"] == "refresh_token"
    assert [c.request.headers["Authorization"] for c in orders.calls] == [
        "Zoho-oauthtoken 1000.bbb",
        "Zoho-oauthtoken 1000.bbb",
        "Zoho-oauthtoken 1000.aaa",
    ]


def test_token_endpoint_refusing_the_client_fails_at_once_without_the_secret() -> None:
    """`invalid_client` from the token endpoint is fatal (no retry) and names the endpoint, not the secret."""
    with respx.mock(assert_all_called=True) as router:
        token = router.post(f"{SF_LOGIN}/services/oauth2/token").respond(
            400,
            json={
                "error": "invalid_client",
                "error_description": "invalid client credentials sf-secret-5F1E",
            },
        )
        with pytest.raises(SourceError) as failure:
            api(SF_LOGIN, salesforce()).fetch("GET", "/services/data/v60.0/query")
    assert token.call_count == 1
    message = str(failure.value)
    assert "getting an OAuth2 token at login.salesforce.com/services/oauth2/token failed: HTTP 400" in message
    assert "invalid_client" in message and "sf-secret-5F1E" not in message


def test_token_endpoint_down_is_retried_like_any_request() -> None:
    """A 503 from the token endpoint is transient: retried with backoff, then the call goes through."""
    with respx.mock(assert_all_called=True) as router:
        token = router.post(f"{SF_LOGIN}/services/oauth2/token")
        token.side_effect = [httpx.Response(503, text="maintenance"), httpx.Response(200, json=SF_TOKEN)]
        router.get(f"{SF_INSTANCE}/services/data/v60.0/query").respond(json=SF_QUERY)
        assert api(SF_LOGIN, salesforce()).fetch("GET", "/services/data/v60.0/query") == SF_QUERY
    assert token.call_count == 2


def test_client_secret_as_basic_auth_is_masked_in_both_forms() -> None:
    """`client_auth: basic` sends id:secret as basic auth to the token endpoint; a failure echoing that
    header shows neither the secret nor its base64 form."""
    pair = base64.b64encode(b"cid:cs-88120").decode()
    with respx.mock(assert_all_called=True) as router:
        token = router.post("https://auth.example.com/token").respond(
            401, json={"error": f"bad Basic {pair}"}
        )
        block = {
            "type": "oauth2",
            "token_url": "https://auth.example.com/token",
            "client_id": "cid",
            "client_secret": "cs-88120",
            "client_auth": "basic",
        }
        with pytest.raises(SourceError) as failure:
            api("https://api.example.com", block).fetch("GET", "/orders")
    assert token.calls.last.request.headers["Authorization"] == f"Basic {pair}"
    assert "client_secret" not in token.calls.last.request.content.decode()
    assert pair not in str(failure.value) and "cs-88120" not in str(failure.value)


# --- session login -----------------------------------------------------------------------------------------

MEDUSA = "https://shop.example.com"


def medusa_login() -> dict[str, Any]:
    return {
        "type": "login",
        "path": "/auth/user/emailpass",
        "body": {"email": "ops@shop.example.com"},
        "secret_body": {"password": "medusa-pw-4410"},
        "token": {"body": "token"},
    }


def test_medusa_login_posts_credentials_and_sends_the_jwt() -> None:
    """Medusa: POST /auth/user/emailpass {email, password} -> {"token": JWT}; the JWT goes out as a
    bearer token on every request, and one login serves several requests."""
    token = jwt(exp=datetime.now(UTC).timestamp() + 86400)
    with respx.mock(assert_all_called=True) as router:
        login = router.post(f"{MEDUSA}/auth/user/emailpass").respond(json={"token": token})
        orders = router.get(f"{MEDUSA}/admin/orders").respond(
            json={"orders": [], "count": 0, "offset": 0, "limit": 50}
        )
        made = api(MEDUSA, medusa_login())
        made.fetch("GET", "/admin/orders")
        made.fetch("GET", "/admin/orders")
    assert login.call_count == 1
    assert json.loads(login.calls.last.request.content) == {
        "email": "ops@shop.example.com",
        "password": "medusa-pw-4410",
    }
    assert all(c.request.headers["Authorization"] == f"Bearer {token}" for c in orders.calls)


def test_an_expired_jwt_is_replaced_before_it_is_sent() -> None:
    """A JWT whose own `exp` has passed is not sent at all: the next request logs in first."""
    old, new = jwt(exp=datetime.now(UTC).timestamp() - 10), jwt(exp=datetime.now(UTC).timestamp() + 3600)
    with respx.mock(assert_all_called=True) as router:
        login = router.post(f"{MEDUSA}/auth/user/emailpass")
        login.side_effect = [
            httpx.Response(200, json={"token": old}),
            httpx.Response(200, json={"token": new}),
        ]
        orders = router.get(f"{MEDUSA}/admin/orders").respond(json={"orders": []})
        api(MEDUSA, medusa_login()).fetch("GET", "/admin/orders")
        api(MEDUSA, medusa_login()).fetch("GET", "/admin/orders")
    assert login.call_count == 2
    assert [c.request.headers["Authorization"] for c in orders.calls] == [f"Bearer {old}", f"Bearer {new}"]


def test_wrong_login_password_fails_with_a_hint_and_without_the_password() -> None:
    """A refused login is fatal, names the login endpoint and does not show the password it sent."""
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{MEDUSA}/auth/user/emailpass").respond(
            401, json={"type": "unauthorized", "message": "Invalid email or password: medusa-pw-4410"}
        )
        with pytest.raises(SourceError) as failure:
            api(MEDUSA, medusa_login()).fetch("GET", "/admin/orders")
    message = str(failure.value)
    assert "login at shop.example.com/auth/user/emailpass failed: HTTP 401" in message
    assert "check the login credentials" in message and "medusa-pw-4410" not in message


SAP = "https://b1.example.com:50000/b1s/v1"
SAP_LOGIN = {
    "odata.metadata": "https://b1.example.com:50000/b1s/v1/$metadata#B1Sessions/@Element",
    "SessionId": "7a9a2c4e-a7b1-11ef-8000-0050569e1f1a",
    "Version": "1000190",
    "SessionTimeout": 30,
}
SAP_EXPIRED = {
    "error": {
        "code": 301,
        "message": {"lang": "en-us", "value": "Invalid session or session already timeout."},
    }
}


def sap_login() -> dict[str, Any]:
    return {
        "type": "login",
        "path": "/Login",
        "body": {"CompanyDB": "SBODEMOUS", "UserName": "manager"},
        "secret_body": {"Password": "b1-pw-1138"},
        "token": {"cookies": ["B1SESSION", "ROUTEID"]},
    }


def test_sap_cookie_session_is_replayed_and_renewed_on_401() -> None:
    """SAP B1: the login sets B1SESSION (without a Path) and ROUTEID; both go back as a Cookie header;
    a 401 code 301 logs in again and the request is repeated with the new session."""

    def login_answer(session: str) -> httpx.Response:
        headers = [
            ("Set-Cookie", f"B1SESSION={session};HttpOnly;"),
            ("Set-Cookie", "ROUTEID=.node1; path=/b1s"),
        ]
        return httpx.Response(200, json={**SAP_LOGIN, "SessionId": session}, headers=headers)

    with respx.mock(assert_all_called=True) as router:
        login = router.post(f"{SAP}/Login")
        login.side_effect = [login_answer("sess-one-1111"), login_answer("sess-two-2222")]
        orders = router.get(f"{SAP}/Orders")
        orders.side_effect = [
            httpx.Response(200, json={"value": []}),
            httpx.Response(401, json=SAP_EXPIRED),
            httpx.Response(200, json={"value": []}),
        ]
        made = api(SAP, sap_login())
        made.fetch("GET", "/Orders")
        made.fetch("GET", "/Orders")
    assert login.call_count == 2
    assert json.loads(login.calls[0].request.content)["Password"] == "b1-pw-1138"
    assert [c.request.headers["Cookie"] for c in orders.calls] == [
        "B1SESSION=sess-one-1111; ROUTEID=.node1",
        "B1SESSION=sess-one-1111; ROUTEID=.node1",
        "B1SESSION=sess-two-2222; ROUTEID=.node1",
    ]


KINGDEE = "https://erp.example.cn/K3Cloud"
KINGDEE_EXPIRED = [
    [
        {
            "Result": {
                "ResponseStatus": {
                    "ErrorCode": 500,
                    "IsSuccess": False,
                    "Errors": [{"FieldName": None, "Message": "会话信息已丢失，请重新登录", "DIndex": 0}],
                    "SuccessEntitys": [],
                    "SuccessMessages": [],
                    "MsgCode": 1,
                }
            }
        }
    ]
]


def test_kingdee_login_checks_its_success_flag_and_renews_on_an_expiry_inside_a_200() -> None:
    """Kingdee: ValidateUser succeeds only with LoginResultType 1; the session cookies are replayed; an
    expiry reported inside an HTTP 200 body (MsgCode 1) logs in again."""
    block = {
        "type": "login",
        "path": "/Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser.common.kdsvc",
        "body": {"acctID": "62a0", "username": "api", "lcid": 2052},
        "secret_body": {"password": "kd-pw-7781"},
        "token": {"cookies": ["*"]},
        "success": {"field": "LoginResultType", "values": [1]},
        "expired_when": {"field": "0.0.Result.ResponseStatus.MsgCode", "values": [1]},
    }
    ok = {"LoginResultType": 1, "IsSuccessByAPI": True, "Context": {"UserName": "api"}}
    cookies = [
        ("Set-Cookie", "kdservice-sessionid=kd-sid-1; path=/"),
        ("Set-Cookie", "ASP.NET_SessionId=asp-1; path=/"),
    ]
    query = f"{KINGDEE}/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc"
    with respx.mock(assert_all_called=True) as router:
        login = router.post(
            f"{KINGDEE}/Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser.common.kdsvc"
        )
        login.side_effect = [httpx.Response(200, json=ok, headers=cookies)] * 2
        bills = router.post(query)
        bills.side_effect = [
            httpx.Response(200, json=KINGDEE_EXPIRED),
            httpx.Response(200, json=[["100001", "XSDD000123"]]),
        ]
        made = api(KINGDEE, block)
        assert made.fetch("POST", query, json={"FormId": "SAL_SaleOrder"}) == [["100001", "XSDD000123"]]
    assert login.call_count == 2
    assert (
        bills.calls.last.request.headers["Cookie"] == "kdservice-sessionid=kd-sid-1; ASP.NET_SessionId=asp-1"
    )

    TOKENS.clear()  # a new process: no session yet
    with respx.mock(assert_all_called=True) as router:
        router.post(
            f"{KINGDEE}/Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser.common.kdsvc"
        ).respond(json={"LoginResultType": 0, "Message": "用户名或密码错误"})
        with pytest.raises(SourceError, match=r"login at erp\.example\.cn/K3Cloud/.*failed: HTTP 200"):
            api(KINGDEE, block).fetch("POST", query, json={})


def test_yonsuite_style_token_in_the_query_string() -> None:
    """A session token can go in a query parameter (YonSuite's `access_token`), masked in messages."""
    block = {
        "type": "login",
        "method": "GET",
        "path": "/open-auth/selfAppAuth/base/v1/getAccessToken",
        "body": {"appKey": "yk-1"},
        "token": {"body": "data.access_token"},
        "send": {"query": "access_token"},
        "success": {"field": "code", "values": ["00000"]},
    }
    with respx.mock(assert_all_called=True) as router:
        router.get("https://c2.yonyoucloud.com/open-auth/selfAppAuth/base/v1/getAccessToken").respond(
            json={
                "code": "00000",
                "message": "成功！",
                "data": {"access_token": "yon-tok-5521", "expire": 7200},
            }
        )
        orders = router.post("https://c2.yonyoucloud.com/yonbip/sd/voucherorder/list").respond(
            json={"code": "999", "message": "服务端逻辑异常 yon-tok-5521"}
        )
        made = api(
            "https://c2.yonyoucloud.com", block, errors={"field": "code", "ok": ["200"], "message": "message"}
        )
        with pytest.raises(SourceError) as failure:
            made.fetch("POST", "/yonbip/sd/voucherorder/list", json={"pageIndex": 1})
    assert orders.calls.last.request.url.params["access_token"] == "yon-tok-5521"
    assert "yon-tok-5521" not in str(failure.value) and "access_token=***" in str(failure.value)


# --- signed requests -------------------------------------------------------------------------------


def test_hmac_signer_signs_the_canonical_text_of_the_final_request() -> None:
    """The HMAC is computed over the configured text of the request as sent (method, path, final query
    with the timestamp parameter, body hash), with the decoded secret, and placed where configured."""
    secret = base64.b64encode(b"signing-key-0042").decode()
    settings = HmacSettings.model_validate(
        {
            "type": "hmac",
            "key_id": "app-7",
            "secret": secret,
            "secret_encoding": "base64",
            "message": "{method}\n{path}\n{query}\n{timestamp}\n{nonce}\n{body_sha256}",
            "headers": {"X-Api-Key": "{key_id}", "X-Nonce": "{nonce}", "X-Signature": "{signature}"},
            "params": {"ts": "{timestamp}"},
        }
    )
    signer = HmacSigner(
        settings, clock=lambda: datetime(2026, 11, 22, 12, 0, tzinfo=UTC), nonce=lambda: "n-1"
    )
    request = httpx.Request("POST", "https://erp.example.com/api/list?page=2", json={"a": 1})
    signed = next(signer.auth_flow(request))
    body = request.content
    text = f"POST\n/api/list\npage=2&ts=1795348800000\n1795348800000\nn-1\n{hashlib.sha256(body).hexdigest()}"
    expected = base64.b64encode(
        hmac.new(b"signing-key-0042", text.encode(), hashlib.sha256).digest()
    ).decode()
    assert signed.headers["X-Signature"] == expected
    assert signed.headers["X-Api-Key"] == "app-7" and signed.url.params["ts"] == "1795348800000"
    assert secret in signer.secrets() and expected in signer.secrets()


def test_hmac_settings_refuse_unknown_fields_and_a_signature_placed_nowhere() -> None:
    """A template naming a field that does not exist, or no place for the signature, is a config error."""
    base = {"type": "hmac", "secret": "s", "headers": {"X-Sig": "{signature}"}}
    with pytest.raises(ValidationError, match="unknown field"):
        HmacSettings.model_validate({**base, "message": "{method}{password}"})
    with pytest.raises(ValidationError, match="goes nowhere"):
        HmacSettings.model_validate({**base, "message": "{method}", "headers": {}})
    with pytest.raises(ValidationError, match="not valid hex"):
        HmacSettings.model_validate({**base, "message": "{method}", "secret_encoding": "hex", "secret": "zz"})
    assert auth.render("{{literal}} {method}", {"method": "GET"}) == "{literal} GET"
