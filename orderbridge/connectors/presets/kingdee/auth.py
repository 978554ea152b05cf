"""Kingdee's two app-credential auth styles (the password login, ValidateUser, is the generic `login`
style with Kingdee's success flag and expiry):

- `kingdee_signed`: LoginBySign with `sign` = SHA-256 of the sorted concatenation of acct id, user, app
  id, app secret and timestamp; the answer's KDSVCSessionId goes back as the `kdservice-sessionid`
  header until the source says the session is lost (MsgCode 1 inside an HTTP 200).
- `kingdee_sdk`: the official SDK's stateless scheme: each request carries X-Api-* headers signed with
  the client secret hidden in the app id, and X-Kd-* headers signed with the app secret."""

from __future__ import annotations

import base64
import codecs
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from orderbridge.connectors.auth import (
    FetchedToken,
    Flow,
    RequestSigner,
    Token,
    _failure,
    _fingerprint,
    _json,
    merge_url,
)
from orderbridge.connectors.presets.kingdee.auth_settings import KingdeeSdkSettings, KingdeeSignedSettings

SESSION_HEADER = "kdservice-sessionid"
LOST = 1  # MsgCode of "会话信息已丢失，请重新登录": not logged in, or the credentials were refused
# The SDK hides the client secret in the second half of the app id, XOR-ed with this key (the SDK
# builds it from four 8-character blocks, ROT13-ed; the random digit after each block is dropped).
_XOR_BLOCKS = ("0054s397", "p6234378", "o09pn7q3", "r5qropr7")

Clock = Callable[[], float]


def response_status(body: Any) -> dict[str, Any] | None:
    """The ResponseStatus of a Kingdee answer in any of its shapes: under `Result`, at the top, or
    wrapped as `[[{"Result": …}]]` where ExecuteBillQuery would have put its rows."""
    if isinstance(body, list) and body and isinstance(body[0], list) and body[0]:
        body = body[0][0]
    if not isinstance(body, dict):
        return None
    result = body.get("Result")
    status = result.get("ResponseStatus") if isinstance(result, dict) else body.get("ResponseStatus")
    return status if isinstance(status, dict) else None


def session_lost(body: Any) -> bool:
    status = response_status(body)
    return status is not None and status.get("IsSuccess") is not True and status.get("MsgCode") == LOST


def sorted_sign(*parts: str) -> str:
    return hashlib.sha256("".join(sorted(parts)).encode()).hexdigest()


class KingdeeSignedLogin(FetchedToken):
    def __init__(
        self, settings: KingdeeSignedSettings, base: httpx.URL, system: str = "", clock: Clock = time.time
    ) -> None:
        self.settings, self._clock = settings, clock
        self._url = merge_url(base, settings.path)
        secret = settings.app_secret.get_secret_value()
        super().__init__(
            _fingerprint("kingdee_signed", system, str(self._url), settings.acct_id, settings.username)
            + _fingerprint(settings.app_id, secret, str(settings.lcid))
        )

    def configured_secrets(self) -> tuple[str, ...]:
        return (self.settings.app_secret.get_secret_value(),)

    def token_request(self) -> httpx.Request:
        s = self.settings
        stamp = str(int(self._clock()))
        sign = sorted_sign(s.acct_id, s.username, s.app_id, s.app_secret.get_secret_value(), stamp)
        body = {"parameters": [s.acct_id, s.username, s.app_id, stamp, sign, s.lcid]}
        return httpx.Request("POST", self._url, json=body, headers={"Accept": "application/json"})

    def read_token(self, response: httpx.Response) -> Token:
        hint = " (check acct_id, username, app_id, app_secret and lcid)"
        if not response.is_success:
            raise _failure("LoginBySign", response, self.configured_secrets(), hint)
        body = _json(response)
        ok = isinstance(body, dict) and body.get("LoginResultType") == 1
        value = body.get("KDSVCSessionId") if isinstance(body, dict) else None
        if not ok or not isinstance(value, str) or not value:
            raise _failure("LoginBySign", response, self.configured_secrets(), hint)
        return Token(value, None)  # a session lasts until the source says it is lost

    def refused(self, response: httpx.Response) -> bool:
        return response.status_code == 401 or session_lost(_json(response))

    def apply(self, request: httpx.Request, token: Token) -> None:
        request.headers[SESSION_HEADER] = token.value


def _rot13(text: str) -> str:
    return codecs.encode(text, "rot13")


def client_secret(app_id: str) -> tuple[str, str]:
    """The SDK's client id and client secret, both hidden in the app id `<client id>_<32 characters>`;
    ('', '') for an app id not of that form."""
    client, _, hidden = app_id.partition("_")
    if not hidden or "_" in hidden or len(hidden) != 32:
        return "", ""
    try:
        scrambled = base64.b64decode(hidden, validate=True)
    except ValueError:
        return "", ""
    key = _rot13("".join(_XOR_BLOCKS)).encode()
    plain = bytes(byte ^ key[i] for i, byte in enumerate(scrambled))
    return client, base64.b64encode(plain).decode()


def sdk_signature(text: str, key: str) -> str:
    """The SDK's signature: base64 of the lower-case hex HMAC-SHA256 (not of the raw digest)."""
    digest = hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()
    return base64.b64encode(digest.encode()).decode()


class KingdeeSdkSigner(RequestSigner):
    requires_response_body = False

    def __init__(self, settings: KingdeeSdkSettings, clock: Clock = time.time) -> None:
        self.settings, self._clock = settings, clock
        self._client_id, self._client_secret = client_secret(settings.app_id)
        self._session: str | None = None
        self._signatures: list[str] = []

    def auth_flow(self, request: httpx.Request) -> Flow:
        self.sign(request, request.read())
        response = yield request
        # The server still hands out a session cookie; the SDK echoes it, and so do we.
        found = response.cookies.get(SESSION_HEADER)
        if found:
            self._session = found

    def sign(self, request: httpx.Request, body: bytes) -> None:
        s = self.settings
        stamp = str(int(self._clock()))
        nonce = stamp  # as the SDK sends it
        path = quote(request.url.path, safe="")
        api_text = f"POST\n{path}\n\nx-api-nonce:{nonce}\nx-api-timestamp:{stamp}\n"
        app_data = f"{s.acct_id},{s.username},{s.lcid},{s.org_num}"
        api_signature = sdk_signature(api_text, self._client_secret)
        kd_signature = sdk_signature(s.app_id + app_data, s.app_secret.get_secret_value())
        self._signatures = [api_signature, kd_signature]
        request.headers.update(
            {
                "X-Api-ClientID": self._client_id,
                "X-Api-Auth-Version": "2.0",
                "x-api-timestamp": stamp,
                "x-api-nonce": nonce,
                "x-api-signheaders": "x-api-timestamp,x-api-nonce",
                "X-Api-Signature": api_signature,
                "X-Kd-Appkey": s.app_id,
                "X-Kd-Appdata": base64.b64encode(app_data.encode()).decode(),
                "X-Kd-Signature": kd_signature,
            }
        )
        if self._session:
            request.headers[SESSION_HEADER] = self._session

    def secrets(self) -> tuple[str, ...]:
        # The app id too: the client secret is only scrambled inside it.
        s = self.settings
        found = [s.app_secret.get_secret_value(), s.app_id, self._client_secret, *self._signatures]
        return tuple(x for x in (*found, self._session or "") if x)
