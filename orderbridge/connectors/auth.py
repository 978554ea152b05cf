"""Auth styles of outgoing HTTP: one small class per style behind one interface (`AuthStyle`, an
`httpx.Auth` that also knows its secrets), each picked by `type:` through the explicit `AUTH_STYLES`
registry. Styles that fetch a token (OAuth2, session login) do it inside the httpx auth flow, through
the same client and transport as every other request, and keep it in a process-wide cache."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets as random_tokens
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, quote

import httpx
from pydantic import BaseModel

from orderbridge.connectors.auth_settings import (
    ApiKeySettings,
    BasicSettings,
    BearerSettings,
    HmacSettings,
    LoginSettings,
    NoAuthSettings,
    OAuth1Settings,
    OAuth2Settings,
    StaticSettings,
    U8TokenSettings,
    YonSuiteTokenSettings,
    hmac_key,
)
from orderbridge.connectors.base import get_path
from orderbridge.connectors.presets.fxiaoke.auth_settings import FxiaokeTokenSettings
from orderbridge.connectors.presets.kingdee.auth_settings import KingdeeSdkSettings, KingdeeSignedSettings
from orderbridge.connectors.presets.odoo.rpc_settings import OdooRpcSettings

Flow = Generator[httpx.Request, httpx.Response, None]


class AuthFailure(Exception):
    """Getting a credential failed (the token endpoint or the login refused or broke). `transient`:
    worth retrying with backoff (a 5xx, a 429, a timeout); otherwise the poll fails at once."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


# --- the interface ---------------------------------------------------------------------------------


class AuthStyle(httpx.Auth, ABC):
    """One way of proving who we are. Besides the httpx flow it tells what must never be shown:
    `secrets()` (configured values and what was obtained with them: tokens, encoded forms) and
    `secret_params` (query parameters it fills)."""

    secret_params: frozenset[str] = frozenset()

    @abstractmethod
    def secrets(self) -> tuple[str, ...]: ...


class NoAuth(AuthStyle):
    def auth_flow(self, request: httpx.Request) -> Flow:
        yield request

    def secrets(self) -> tuple[str, ...]:
        return ()


class HeaderToken(AuthStyle):
    """A fixed token in a header, after an optional scheme word: bearer tokens, `Token …` (DRF),
    `Zoho-oauthtoken …`, `X-Shopify-Access-Token`."""

    def __init__(self, token: str, header: str = "Authorization", scheme: str = "Bearer") -> None:
        self._token, self._header, self._scheme = token, header, scheme

    def auth_flow(self, request: httpx.Request) -> Flow:
        request.headers[self._header] = f"{self._scheme} {self._token}" if self._scheme else self._token
        yield request

    def secrets(self) -> tuple[str, ...]:
        return (self._token,)


class StaticCredentials(AuthStyle):
    """Fixed secret headers and query parameters (an API key, an app key and secret pair)."""

    def __init__(
        self, headers: Mapping[str, str] | None = None, params: Mapping[str, str] | None = None
    ) -> None:
        self._headers, self._params = dict(headers or {}), dict(params or {})
        self.secret_params = frozenset(name.lower() for name in self._params)

    def auth_flow(self, request: httpx.Request) -> Flow:
        request.headers.update(self._headers)
        if self._params:
            request.url = request.url.copy_merge_params(self._params)
        yield request

    def secrets(self) -> tuple[str, ...]:
        return (*self._headers.values(), *self._params.values())


def api_key(
    value: str, *, header: str | None = None, query: str | None = None, prefix: str = ""
) -> AuthStyle:
    if (header is None) == (query is None):
        raise ValueError("an API key goes in exactly one of a header or a query parameter")
    if header is not None:
        return PrefixedKey(value, header, prefix)
    return StaticCredentials(params={query or "": value})


class PrefixedKey(HeaderToken):
    """A key in a header after a prefix written exactly as configured ('Token ', 'token ', '')."""

    def auth_flow(self, request: httpx.Request) -> Flow:
        request.headers[self._header] = f"{self._scheme}{self._token}"
        yield request


class Basic(AuthStyle):
    def __init__(self, username: str, password: str) -> None:
        self._username, self._password = username, password
        self._encoded = base64.b64encode(f"{username}:{password}".encode()).decode()

    def auth_flow(self, request: httpx.Request) -> Flow:
        request.headers["Authorization"] = f"Basic {self._encoded}"
        yield request

    def secrets(self) -> tuple[str, ...]:
        # A source that echoes request headers shows the base64 form, not the password.
        return (self._password, self._encoded, f"{self._username}:{self._password}")


# --- tokens fetched at run time ----------------------------------------------------------------------


@dataclass
class Token:
    value: str
    expires_at: float | None  # time.time(); None: until the source refuses it
    base: str | None = None  # the host the token answer says to call (Salesforce instance_url)
    refresh_token: str | None = None  # a rotated refresh token, when the server hands out a new one

    def fresh(self, margin: float) -> bool:
        return self.expires_at is None or time.time() < self.expires_at - margin


class TokenCache:
    """Tokens by credential, shared by every connector of the process: a poll does not log in again
    while the last poll's token is good (token endpoints have tight limits of their own)."""

    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Token | None:
        with self._lock:
            return self._tokens.get(key)

    def put(self, key: str, token: Token) -> None:
        with self._lock:
            self._tokens[key] = token

    def drop(self, key: str, stale: Token | None) -> None:
        """Forget a token the source refused; a newer one another request already got stays."""
        with self._lock:
            if stale is None or self._tokens.get(key) is stale:
                self._tokens.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


TOKENS = TokenCache()


def merge_url(base: httpx.URL, target: str) -> httpx.URL:
    """`target` as httpx resolves a request path against the client's base_url (the base's path kept)."""
    url = httpx.URL(target)
    if url.is_absolute_url:
        return url
    return base.copy_with(raw_path=base.raw_path.rstrip(b"/") + b"/" + target.lstrip("/").encode())


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


class FetchedToken(AuthStyle, ABC):
    """A style whose token is obtained by a request of its own: the flow gets one when none is cached
    or it is about to expire, sends it, and on a refusal gets a new one and tries once more."""

    requires_response_body = True  # the refusal's and the token answer's bodies are read in the flow
    cache: TokenCache = TOKENS

    def __init__(self, key: str) -> None:
        self._key = key
        self._current: Token | None = None

    @abstractmethod
    def token_request(self) -> httpx.Request: ...

    @abstractmethod
    def read_token(self, response: httpx.Response) -> Token: ...

    def apply(self, request: httpx.Request, token: Token) -> None:
        """Put the token into the request (a header, a parameter, a cookie)."""
        raise NotImplementedError

    def prepare(self, request: httpx.Request, token: Token) -> httpx.Request:
        """The request to send with the token: `request` itself with the token applied, or a new one
        (a style whose credentials travel in the body builds it afresh)."""
        self.apply(request, token)
        return request

    def refused(self, response: httpx.Response) -> bool:
        return response.status_code == 401

    def margin(self) -> float:
        return 0.0

    def auth_flow(self, request: httpx.Request) -> Flow:
        token = self.cache.get(self._key)
        if token is None or not token.fresh(self.margin()):
            token = yield from self._obtain()
        response = yield self.prepare(request, token)
        if self.refused(response):
            self.cache.drop(self._key, token)
            token = yield from self._obtain()
            yield self.prepare(request, token)  # once: a second refusal is the source's answer

    def _obtain(self) -> Generator[httpx.Request, httpx.Response, Token]:
        response = yield self.token_request()
        token = self.read_token(response)
        self.cache.put(self._key, token)
        self._current = token
        return token

    def secrets(self) -> tuple[str, ...]:
        current = self._current or self.cache.get(self._key)
        obtained = (current.value, current.refresh_token or "") if current else ()
        return (*self.configured_secrets(), *obtained)

    @abstractmethod
    def configured_secrets(self) -> tuple[str, ...]: ...


def _failure(what: str, response: httpx.Response, secrets: tuple[str, ...], hint: str) -> AuthFailure:
    text = " ".join(response.text[:2000].split())
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")  # before the cut: a secret across it stays hidden
    text = (text if len(text) <= 200 else text[:200] + "…") or "(empty body)"
    transient = response.status_code in (408, 429) or response.status_code >= 500
    host = response.request.url.host
    return AuthFailure(
        f"{what} at {host}{response.request.url.path} failed: HTTP {response.status_code} "
        f"{response.reason_phrase}: {text}" + ("" if transient else hint),
        transient=transient,
    )


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, RecursionError):
        return None


class OAuth2(FetchedToken):
    def __init__(self, settings: OAuth2Settings, base: httpx.URL, system: str = "") -> None:
        self.settings = settings
        self._url = merge_url(base, settings.token_url)
        self._base = base
        secret = settings.client_secret.get_secret_value() if settings.client_secret else ""
        refresh = settings.refresh_token.get_secret_value() if settings.refresh_token else ""
        super().__init__(_fingerprint("oauth2", system, str(self._url), settings.client_id, secret, refresh))

    def margin(self) -> float:
        return self.settings.refresh_before.total_seconds()

    def configured_secrets(self) -> tuple[str, ...]:
        s = self.settings
        found = [x.get_secret_value() for x in (s.client_secret, s.refresh_token) if x is not None]
        if s.client_auth == "basic" and s.client_secret is not None:
            pair = f"{s.client_id}:{s.client_secret.get_secret_value()}"
            found += [pair, base64.b64encode(pair.encode()).decode()]
        return tuple(found)

    def token_request(self) -> httpx.Request:
        s = self.settings
        form: dict[str, str] = {"grant_type": s.grant, **s.params}
        if s.grant == "refresh_token":
            rotated = self.cache.get(self._key + "#refresh")
            configured = s.refresh_token.get_secret_value() if s.refresh_token else ""
            form["refresh_token"] = rotated.value if rotated is not None else configured
        if s.scope:
            form["scope"] = s.scope
        headers = {"Accept": "application/json"}
        if s.client_auth == "basic":
            secret = s.client_secret.get_secret_value() if s.client_secret else ""
            pair = base64.b64encode(f"{s.client_id}:{secret}".encode()).decode()
            headers["Authorization"] = f"Basic {pair}"
        else:
            form["client_id"] = s.client_id
            if s.client_secret is not None:
                form["client_secret"] = s.client_secret.get_secret_value()
        return httpx.Request("POST", self._url, data=form, headers=headers)

    def read_token(self, response: httpx.Response) -> Token:
        hint = " (check client_id, client_secret and the refresh token)"
        if not response.is_success:
            raise _failure("getting an OAuth2 token", response, self.configured_secrets(), hint)
        body = _json(response)
        value = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            raise _failure(
                "getting an OAuth2 token", response, self.configured_secrets(), " (no access_token)"
            )
        lifetime = _seconds(body.get("expires_in")) or self.settings.default_lifetime.total_seconds()
        base = None
        if self.settings.instance_url_field:
            found = get_path(body, self.settings.instance_url_field)
            base = str(found) if found else None
        rotated = body.get("refresh_token")
        if isinstance(rotated, str) and rotated:
            # The server rotates refresh tokens: the old one may no longer work.
            self.cache.put(self._key + "#refresh", Token(rotated, None))
        return Token(value, time.time() + lifetime, base, rotated if isinstance(rotated, str) else None)

    def apply(self, request: httpx.Request, token: Token) -> None:
        scheme = self.settings.scheme
        request.headers[self.settings.header] = f"{scheme} {token.value}" if scheme else token.value
        if token.base and request.url.host == self._base.host:
            instance = httpx.URL(token.base)
            request.url = request.url.copy_with(
                scheme=instance.scheme, host=instance.host, port=instance.port
            )
            request.headers["Host"] = instance.netloc.decode()


class Login(FetchedToken):
    def __init__(self, settings: LoginSettings, base: httpx.URL, system: str = "") -> None:
        self.settings = settings
        self._url = merge_url(base, settings.path)
        body = json.dumps(settings.body, sort_keys=True, default=str)
        secret = "\x00".join(v.get_secret_value() for _, v in sorted(settings.secret_body.items()))
        super().__init__(_fingerprint("login", system, str(self._url), body, secret))
        place = settings.send
        self.secret_params = (
            frozenset({place.query.lower()}) if place.query and not settings.token.cookies else frozenset()
        )

    def configured_secrets(self) -> tuple[str, ...]:
        return tuple(v.get_secret_value() for v in self.settings.secret_body.values())

    def secrets(self) -> tuple[str, ...]:
        found = super().secrets()
        current = self._current or self.cache.get(self._key)
        if current is not None and self.settings.token.cookies is not None:
            # Each cookie's value alone, too: a source may quote one of them.
            found += tuple(part.partition("=")[2] for part in current.value.split("; "))
        return found

    def token_request(self) -> httpx.Request:
        fields = {
            **self.settings.body,
            **{k: v.get_secret_value() for k, v in self.settings.secret_body.items()},
        }
        headers = {"Accept": "application/json"}
        if self.settings.method == "GET":
            return httpx.Request("GET", self._url.copy_merge_params(fields), headers=headers)
        if self.settings.encoding == "form":
            return httpx.Request(
                "POST", self._url, data={k: str(v) for k, v in fields.items()}, headers=headers
            )
        return httpx.Request("POST", self._url, json=fields, headers=headers)

    def read_token(self, response: httpx.Response) -> Token:
        s = self.settings
        hint = " (check the login credentials)"
        if not response.is_success:
            raise _failure("login", response, self.configured_secrets(), hint)
        body = _json(response)
        if s.success is not None and not s.success.matches(body):
            raise _failure("login", response, self.configured_secrets(), hint)
        value: str | None = None
        if s.token.body is not None:
            found = get_path(body, s.token.body)
            value = str(found) if found not in (None, "") else None
        elif s.token.header is not None:
            value = response.headers.get(s.token.header)
        elif s.token.cookies is not None:
            value = _cookie_header(response, s.token.cookies, s.token.optional_cookies)
        if not value:
            where = s.token.body or s.token.header or f"cookies {', '.join(s.token.cookies or [])}"
            raise _failure(
                "login", response, self.configured_secrets(), f" (the answer has no token at {where})"
            )
        expires = _jwt_expiry(value) if s.token.cookies is None else None
        if expires is None and s.lifetime is not None:
            expires = time.time() + s.lifetime.total_seconds()
        return Token(value, expires)

    def refused(self, response: httpx.Response) -> bool:
        if response.status_code in self.settings.relogin_on:
            return True
        return self.settings.expired_when is not None and self.settings.expired_when.matches(_json(response))

    def margin(self) -> float:
        return 30.0

    def apply(self, request: httpx.Request, token: Token) -> None:
        if self.settings.token.cookies is not None:
            request.headers["Cookie"] = token.value
            return
        place = self.settings.send
        if place.query is not None:
            params = [(k, v) for k, v in request.url.params.multi_items() if k != place.query]
            request.url = request.url.copy_with(params=[*params, (place.query, token.value)])
        elif place.header is not None:
            request.headers[place.header] = f"{place.scheme} {token.value}" if place.scheme else token.value


def _cookie_header(response: httpx.Response, names: list[str], optional: list[str]) -> str | None:
    """The Cookie header replaying the cookies the login set (None when a required one is missing).
    Set-Cookie is parsed by hand: some sources (SAP B1) send cookies without a Path, which cookie jars
    may drop."""
    found: dict[str, str] = {}
    for line in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(line)
        except CookieError:
            continue
        found.update({name: morsel.value for name, morsel in jar.items()})
    wanted = found if names == ["*"] else {n: found[n] for n in names if n in found}
    if names != ["*"] and len(wanted) < len(names):
        return None
    wanted.update({n: found[n] for n in optional if n in found})
    return "; ".join(f"{name}={value}" for name, value in wanted.items()) or None


def _jwt_expiry(token: str) -> float | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None


# --- signed requests ---------------------------------------------------------------------------------


class RequestSigner(AuthStyle, ABC):
    """A style that signs each request as it is sent (the final URL with its query, and the body): the
    extension point for per-request signatures (generic HMAC here; OAuth 1.0a and vendors' schemes
    are further subclasses registered in AUTH_STYLES)."""

    def auth_flow(self, request: httpx.Request) -> Flow:
        self.sign(request, request.read())
        yield request

    @abstractmethod
    def sign(self, request: httpx.Request, body: bytes) -> None: ...


_DIGESTS: dict[str, Callable[..., Any]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
}


def render(template: str, values: Mapping[str, str]) -> str:
    """`{name}` fields replaced by their values, `{{`/`}}` by braces; nothing else is interpreted."""
    parts = re.split(r"(\{\{|\}\}|\{\w*\})", template)
    out = []
    for part in parts:
        if part == "{{":
            out.append("{")
        elif part == "}}":
            out.append("}")
        elif part.startswith("{") and part.endswith("}") and len(part) >= 2:
            out.append(values[part[1:-1]])
        else:
            out.append(part)
    return "".join(out)


class HmacSigner(RequestSigner):
    """HMAC of a configured canonical text, placed in configured headers or parameters."""

    def __init__(
        self,
        settings: HmacSettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        nonce: Callable[[], str] = lambda: random_tokens.token_hex(16),
    ) -> None:
        self.settings, self._clock, self._nonce = settings, clock, nonce
        self._key = hmac_key(settings)
        self._signatures: list[str] = []
        self.secret_params = frozenset(
            name.lower() for name, template in settings.params.items() if "{signature}" in template
        )

    def fields(self, request: httpx.Request, body: bytes) -> dict[str, str]:
        now = self._clock()
        stamp = {
            "seconds": str(int(now.timestamp())),
            "milliseconds": str(int(now.timestamp() * 1000)),
            "iso": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }[self.settings.timestamp]
        return {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query.decode(),
            "host": request.url.host,
            "url": str(request.url),
            "body": body.decode("utf-8", "replace"),
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "body_md5": hashlib.md5(body, usedforsecurity=False).hexdigest(),
            "timestamp": stamp,
            "nonce": self._nonce(),
            "key_id": self.settings.key_id,
        }

    def sign(self, request: httpx.Request, body: bytes) -> None:
        s = self.settings
        values = self.fields(request, body)
        # Parameters without the signature first: the signed text may cover the final query.
        plain = {k: render(t, values) for k, t in s.params.items() if "{signature}" not in t}
        if plain:
            request.url = request.url.copy_merge_params(plain)
            values = {**values, "query": request.url.query.decode(), "url": str(request.url)}
        digest = hmac.new(self._key, render(s.message, values).encode(), _DIGESTS[s.algorithm]).digest()
        signature = (
            base64.b64encode(digest).decode()
            if s.signature_encoding == "base64"
            else digest.hex().upper()
            if s.signature_encoding == "hex_upper"
            else digest.hex()
        )
        self._signatures = [signature, quote(signature, safe="")][-2:]
        values["signature"] = signature
        for name, template in s.headers.items():
            request.headers[name] = render(template, values)
        signed = {k: render(t, values) for k, t in s.params.items() if "{signature}" in t}
        if signed:
            request.url = request.url.copy_merge_params(signed)

    def secrets(self) -> tuple[str, ...]:
        # The last signature too: it is a credential for as long as the source accepts it.
        return (self.settings.secret.get_secret_value(), *self._signatures)


class OAuth1Signer(RequestSigner):
    """OAuth 1.0a (RFC 5849) with a consumer and an access token: each request signed over its method,
    URL and every parameter (the query — also of a followed next link — a form body, and the oauth_*
    values), the signature and oauth_* values in the Authorization header. The realm is not signed."""

    def __init__(
        self,
        settings: OAuth1Settings,
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = lambda: random_tokens.token_hex(16),
    ) -> None:
        self.settings, self._clock, self._nonce = settings, clock, nonce
        self._signatures: list[str] = []

    def sign(self, request: httpx.Request, body: bytes) -> None:
        s = self.settings
        oauth = {
            "oauth_consumer_key": s.consumer_key.get_secret_value(),
            "oauth_token": s.token_id.get_secret_value(),
            "oauth_signature_method": s.signature_method,
            "oauth_timestamp": str(int(self._clock())),
            "oauth_nonce": self._nonce(),
            "oauth_version": "1.0",
        }
        pairs = parse_qsl(request.url.query.decode("ascii", "replace"), keep_blank_values=True)
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            pairs += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        text = oauth_base_string(request.method, request.url, [*pairs, *oauth.items()])
        secrets = (s.consumer_secret.get_secret_value(), s.token_secret.get_secret_value())
        key = "&".join(oauth_quote(secret) for secret in secrets)
        digest = _DIGESTS["sha256" if s.signature_method == "HMAC-SHA256" else "sha1"]
        signature = base64.b64encode(hmac.new(key.encode(), text.encode(), digest).digest()).decode()
        self._signatures = [signature, oauth_quote(signature)]
        fields = [f'realm="{s.realm}"'] if s.realm else []
        fields += [f'{k}="{oauth_quote(v)}"' for k, v in {**oauth, "oauth_signature": signature}.items()]
        request.headers["Authorization"] = "OAuth " + ", ".join(fields)

    def secrets(self) -> tuple[str, ...]:
        s = self.settings
        held = (s.consumer_key, s.consumer_secret, s.token_id, s.token_secret)
        return (*(x.get_secret_value() for x in held), *self._signatures)


def oauth_quote(value: str) -> str:
    """RFC 5849 §3.6 percent-encoding: everything but unreserved characters, UTF-8 first."""
    return quote(value, safe="-._~")


def oauth_base_string(method: str, url: httpx.URL, pairs: list[tuple[str, str]]) -> str:
    """The signature base string (RFC 5849 §3.4.1): method, base string URI (no query, no default
    port) and the parameters, each name and value encoded, sorted by name then value."""
    default = {"http": 80, "https": 443}.get(url.scheme)
    port = f":{url.port}" if url.port is not None and url.port != default else ""
    uri = f"{url.scheme.lower()}://{url.host.lower()}{port}{url.path}"
    encoded = sorted((oauth_quote(k), oauth_quote(v)) for k, v in pairs)
    normalized = "&".join(f"{k}={v}" for k, v in encoded)
    return "&".join(oauth_quote(part) for part in (method.upper(), uri, normalized))


class YonSuiteToken(FetchedToken):
    """YonSuite's self-built app token: `getAccessToken` signed with an HMAC-SHA256 of
    'appKey<key>timestamp<ms>' under the app secret; the token goes in the access_token parameter."""

    secret_params = frozenset({"access_token", "signature"})

    def __init__(
        self,
        settings: YonSuiteTokenSettings,
        base: httpx.URL,
        system: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings, self._clock = settings, clock
        target = httpx.URL(settings.token_url)
        self._url = target if target.is_absolute_url else base.copy_with(raw_path=target.raw_path)
        key, secret = settings.app_key.get_secret_value(), settings.app_secret.get_secret_value()
        super().__init__(_fingerprint("yonsuite", system, str(self._url), key, secret))

    def configured_secrets(self) -> tuple[str, ...]:
        return (self.settings.app_key.get_secret_value(), self.settings.app_secret.get_secret_value())

    def margin(self) -> float:
        return self.settings.refresh_before.total_seconds()

    def token_request(self) -> httpx.Request:
        key, secret = self.configured_secrets()
        stamp = str(int(self._clock() * 1000))
        message = f"appKey{key}timestamp{stamp}".encode()
        signature = base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()
        params = {"appKey": key, "timestamp": stamp, "signature": signature}
        return httpx.Request("GET", self._url, params=params, headers={"Accept": "application/json"})

    def read_token(self, response: httpx.Response) -> Token:
        body = _json(response)
        code = body.get("code") if isinstance(body, dict) else None
        data = body.get("data") if isinstance(body, dict) else None
        value = data.get("access_token") if isinstance(data, dict) else None
        if not response.is_success or str(code) != "00000" or not isinstance(value, str) or not value:
            raise _failure(
                "getting a YonSuite access token",
                response,
                self.configured_secrets(),
                " (check app_key, app_secret and the server clock: the signed timestamp must be recent)",
            )
        lifetime = _seconds(data.get("expire") if isinstance(data, dict) else None) or 7200.0
        return Token(value, time.time() + lifetime)

    def refused(self, response: httpx.Response) -> bool:
        if response.status_code == 401:
            return True
        body = _json(response)
        return isinstance(body, dict) and str(body.get("code")) in self.settings.expired_codes

    def apply(self, request: httpx.Request, token: Token) -> None:
        params = [(k, v) for k, v in request.url.params.multi_items() if k != "access_token"]
        request.url = request.url.copy_with(params=[*params, ("access_token", token.value)])


class U8Token(FetchedToken):
    """Yonyou U8 OpenAPI: a token from `/system/token` (answer `{errcode: "0", token: {id}}`); every
    call carries from_account, to_account, app_key, the token and the data source as parameters."""

    secret_params = frozenset({"token", "app_key", "app_secret"})

    def __init__(self, settings: U8TokenSettings, base: httpx.URL, system: str = "") -> None:
        self.settings = settings
        self._url = merge_url(base, settings.token_url)
        key, secret = settings.app_key.get_secret_value(), settings.app_secret.get_secret_value()
        super().__init__(_fingerprint("u8", system, str(self._url), settings.from_account, key, secret))

    def configured_secrets(self) -> tuple[str, ...]:
        return (self.settings.app_key.get_secret_value(), self.settings.app_secret.get_secret_value())

    def token_request(self) -> httpx.Request:
        key, secret = self.configured_secrets()
        params = {"from_account": self.settings.from_account, "app_key": key, "app_secret": secret}
        return httpx.Request("GET", self._url, params=params, headers={"Accept": "application/json"})

    def read_token(self, response: httpx.Response) -> Token:
        body = _json(response)
        token = body.get("token") if isinstance(body, dict) else None
        value = token.get("id") if isinstance(token, dict) else None
        if not response.is_success or str(body.get("errcode") if isinstance(body, dict) else None) != "0":
            raise _failure(
                "getting a U8 token",
                response,
                self.configured_secrets(),
                " (check app_key, app_secret and from_account)",
            )
        if not isinstance(value, str) or not value:
            raise _failure("getting a U8 token", response, self.configured_secrets(), " (no token.id)")
        return Token(value, time.time() + self.settings.lifetime.total_seconds())

    def apply(self, request: httpx.Request, token: Token) -> None:
        s = self.settings
        fields = {
            "from_account": s.from_account,
            "to_account": s.to_account,
            "app_key": s.app_key.get_secret_value(),
            "token": token.value,
            **({"ds_sequence": s.ds_sequence} if s.ds_sequence else {}),
        }
        params = [(k, v) for k, v in request.url.params.multi_items() if k not in fields]
        request.url = request.url.copy_with(params=[*params, *fields.items()])


# --- the registry --------------------------------------------------------------------------------------


Builder = Callable[[Any, httpx.URL, str], AuthStyle]


def _kingdee_signed(settings: KingdeeSignedSettings, base: httpx.URL, system: str) -> AuthStyle:
    # Vendors' styles build on the classes above: imported when used, so this module loads first.
    from orderbridge.connectors.presets.kingdee.auth import KingdeeSignedLogin

    return KingdeeSignedLogin(settings, base, system)


def _kingdee_sdk(settings: KingdeeSdkSettings, base: httpx.URL, system: str) -> AuthStyle:
    from orderbridge.connectors.presets.kingdee.auth import KingdeeSdkSigner

    return KingdeeSdkSigner(settings)


def _fxiaoke(settings: FxiaokeTokenSettings, base: httpx.URL, system: str) -> AuthStyle:
    from orderbridge.connectors.presets.fxiaoke.auth import FxiaokeToken

    return FxiaokeToken(settings, base, system)


@dataclass(frozen=True)
class AuthType:
    name: str
    settings: type[BaseModel]
    build: Builder
    summary: str


AUTH_STYLES: dict[str, AuthType] = {
    entry.name: entry
    for entry in (
        AuthType("none", NoAuthSettings, lambda s, base, system: NoAuth(), "no credentials"),
        AuthType(
            "bearer",
            BearerSettings,
            lambda s, base, system: HeaderToken(s.token.get_secret_value(), s.header, s.scheme),
            "a fixed token in a header",
        ),
        AuthType(
            "api_key",
            ApiKeySettings,
            lambda s, base, system: api_key(
                s.value.get_secret_value(), header=s.header, query=s.query, prefix=s.prefix
            ),
            "an API key in a header or a query parameter",
        ),
        AuthType(
            "static",
            StaticSettings,
            lambda s, base, system: StaticCredentials(
                {k: v.get_secret_value() for k, v in s.headers.items()},
                {k: v.get_secret_value() for k, v in s.params.items()},
            ),
            "fixed secret headers and query parameters",
        ),
        AuthType(
            "basic",
            BasicSettings,
            lambda s, base, system: Basic(s.username, s.password.get_secret_value()),
            "HTTP basic auth",
        ),
        AuthType("oauth2", OAuth2Settings, lambda s, base, system: OAuth2(s, base, system), "OAuth2 token"),
        AuthType("login", LoginSettings, lambda s, base, system: Login(s, base, system), "session login"),
        AuthType("hmac", HmacSettings, lambda s, base, system: HmacSigner(s), "HMAC-signed requests"),
        AuthType("kingdee_signed", KingdeeSignedSettings, _kingdee_signed, "Kingdee LoginBySign session"),
        AuthType("kingdee_sdk", KingdeeSdkSettings, _kingdee_sdk, "Kingdee SDK signed headers"),
        AuthType("fxiaoke", FxiaokeTokenSettings, _fxiaoke, "Fxiaoke corpAccessToken in the body"),
        AuthType(
            "odoo_jsonrpc",
            OdooRpcSettings,
            lambda s, base, system: _odoo_jsonrpc(s, base, system),
            "Odoo's /jsonrpc endpoint (login, then execute_kw)",
        ),
        AuthType("oauth1", OAuth1Settings, lambda s, base, system: OAuth1Signer(s), "OAuth 1.0a signing"),
        AuthType(
            "yonsuite",
            YonSuiteTokenSettings,
            lambda s, base, system: YonSuiteToken(s, base, system),
            "YonSuite signed access token",
        ),
        AuthType("u8", U8TokenSettings, lambda s, base, system: U8Token(s, base, system), "Yonyou U8 token"),
    )
}


def _odoo_jsonrpc(settings: OdooRpcSettings, base: httpx.URL, system: str) -> AuthStyle:
    from orderbridge.connectors.presets.odoo.rpc import OdooJsonRpc  # it builds on this module's FetchedToken

    return OdooJsonRpc(settings, base, system)


def build_auth(settings: BaseModel, base_url: str, system: str = "") -> AuthStyle:
    """The auth style `settings.type` names, built from its settings."""
    kind: str = getattr(settings, "type", "none")
    return AUTH_STYLES[kind].build(settings, httpx.URL(base_url), system)
