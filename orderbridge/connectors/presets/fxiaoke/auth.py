"""Fxiaoke's legacy auth: POST the app id, secret and permanent code for a corpAccessToken (7200 s,
and the token service allows few calls: it is cached per process), then send `corpAccessToken`,
`corpId` and `currentOpenUserId` at the top of every JSON body. An HTTP 200 with errorCode 20016 means
the token expired: a new one is fetched once."""

from __future__ import annotations

import json
import time

import httpx

from orderbridge.connectors.auth import FetchedToken, Token, _failure, _fingerprint, _json, merge_url
from orderbridge.connectors.presets.fxiaoke.auth_settings import FxiaokeTokenSettings

EXPIRED = 20016
SEPARATOR = "\n"  # the cached value is corpId, then the token


class FxiaokeToken(FetchedToken):
    def __init__(self, settings: FxiaokeTokenSettings, base: httpx.URL, system: str = "") -> None:
        self.settings = settings
        self._url = merge_url(base, settings.token_path)
        secret = settings.app_secret.get_secret_value() + settings.permanent_code.get_secret_value()
        super().__init__(_fingerprint("fxiaoke", system, str(self._url), settings.app_id, secret))

    def configured_secrets(self) -> tuple[str, ...]:
        s = self.settings
        return (s.app_secret.get_secret_value(), s.permanent_code.get_secret_value())

    def secrets(self) -> tuple[str, ...]:
        found = super().secrets()
        current = self._current or self.cache.get(self._key)
        return (*found, current.value.partition(SEPARATOR)[2]) if current is not None else found

    def margin(self) -> float:
        return 300.0

    def token_request(self) -> httpx.Request:
        s = self.settings
        body = {
            "appId": s.app_id,
            "appSecret": s.app_secret.get_secret_value(),
            "permanentCode": s.permanent_code.get_secret_value(),
        }
        return httpx.Request("POST", self._url, json=body, headers={"Accept": "application/json"})

    def read_token(self, response: httpx.Response) -> Token:
        hint = " (check app_id, app_secret and permanent_code)"
        body = _json(response)
        if not response.is_success or not isinstance(body, dict) or body.get("errorCode") != 0:
            raise _failure("getting a corpAccessToken", response, self.configured_secrets(), hint)
        token, corp = body.get("corpAccessToken"), body.get("corpId")
        if not isinstance(token, str) or not token or not isinstance(corp, str) or not corp:
            raise _failure("getting a corpAccessToken", response, self.configured_secrets(), hint)
        lifetime = body.get("expiresIn")
        seconds = float(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else 7200.0
        return Token(f"{corp}{SEPARATOR}{token}", time.time() + seconds)

    def refused(self, response: httpx.Response) -> bool:
        body = _json(response)
        return isinstance(body, dict) and body.get("errorCode") == EXPIRED

    def apply(self, request: httpx.Request, token: Token) -> None:
        corp, _, value = token.value.partition(SEPARATOR)
        try:
            body = json.loads(request.content or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ValueError("Fxiaoke requests carry their credentials in a JSON object body")
        body.update(
            {"corpAccessToken": value, "corpId": corp, "currentOpenUserId": self.settings.open_user_id}
        )
        content = json.dumps(body, ensure_ascii=False).encode()
        request.stream = httpx.ByteStream(content)
        request._content = content
        request.headers["Content-Length"] = str(len(content))
        request.headers["Content-Type"] = "application/json"
