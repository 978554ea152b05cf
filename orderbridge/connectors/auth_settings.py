"""Settings of the auth styles, one model per `type:` (the styles themselves are in `auth`), and the
`auth:` union that picks one; the older shorthand `auth: {bearer: …}` / `{api_key: {…}}` is read here."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import timedelta
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, model_validator

from orderbridge.config.types import Duration
from orderbridge.connectors.base import get_path, same_value
from orderbridge.connectors.presets.fxiaoke.auth_settings import FxiaokeTokenSettings
from orderbridge.connectors.presets.kingdee.auth_settings import KingdeeSdkSettings, KingdeeSignedSettings
from orderbridge.connectors.presets.odoo.rpc_settings import OdooRpcSettings


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BodyMatch(_Model):
    """A value at a path of a JSON answer that means something (success, expiry)."""

    field: str = Field(description="Dotted path into the JSON answer, e.g. Result.ResponseStatus.MsgCode.")
    values: list[Any] = Field(min_length=1, description="Values at that path that count as a match.")

    def matches(self, body: Any) -> bool:
        found = get_path(body, self.field)
        return any(same_value(found, wanted) for wanted in self.values)


class NoAuthSettings(_Model):
    type: Literal["none"] = Field(default="none", description="No credentials are sent.")


class BearerSettings(_Model):
    type: Literal["bearer"] = Field(description="A fixed token sent in a header on every request.")
    token: SecretStr = Field(description="The token.")
    header: str = Field(default="Authorization", description="The header that carries it.")
    scheme: str = Field(
        default="Bearer",
        description="Word before the token ('Bearer', 'Token', 'Zoho-oauthtoken'); '' for none.",
    )


class ApiKeySettings(_Model):
    type: Literal["api_key"] = Field(description="An API key in one header or one query parameter.")
    value: SecretStr = Field(description="The key.")
    header: str | None = Field(default=None, description="Send the key in this header ...")
    query: str | None = Field(default=None, description="... or in this query parameter.")
    prefix: str = Field(
        default="", description="Text before the key in the header, e.g. 'Token ' or 'token '."
    )

    @model_validator(mode="after")
    def _one_place(self) -> Self:
        if (self.header is None) == (self.query is None):
            raise ValueError("give exactly one of `header` or `query`")
        return self


class StaticSettings(_Model):
    type: Literal["static"] = Field(
        description="Fixed credentials in several headers and/or query parameters (app key and secret)."
    )
    headers: dict[str, SecretStr] = Field(default_factory=dict, description="Header name -> secret value.")
    params: dict[str, SecretStr] = Field(default_factory=dict, description="Query parameter -> secret value.")

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.headers and not self.params:
            raise ValueError("give at least one of `headers` or `params`")
        return self


class BasicSettings(_Model):
    type: Literal["basic"] = Field(
        description="HTTP basic auth (also what a user:password@ in base_url means)."
    )
    username: str = Field(description="The user name.")
    password: SecretStr = Field(description="The password.")


class OAuth2Settings(_Model):
    type: Literal["oauth2"] = Field(
        description="OAuth2: a token from a token endpoint, cached and refreshed."
    )
    grant: Literal["client_credentials", "refresh_token"] = Field(
        default="client_credentials",
        description="client_credentials (server to server) or refresh_token (a long-lived refresh token).",
    )
    token_url: str = Field(description="Token endpoint: an absolute URL, or a path below base_url.")
    client_id: str = Field(description="The client (app) id.")
    client_secret: SecretStr | None = Field(default=None, description="The client secret.")
    refresh_token: SecretStr | None = Field(
        default=None, description="The refresh token (refresh_token grant)."
    )
    scope: str | None = Field(default=None, description="Scopes to ask for, space-separated.")
    params: dict[str, str] = Field(
        default_factory=dict, description="More form fields for the token request (audience, resource)."
    )
    client_auth: Literal["body", "basic"] = Field(
        default="body", description="Send the client id and secret in the form body, or as basic auth."
    )
    header: str = Field(default="Authorization", description="The header that carries the access token.")
    scheme: str = Field(default="Bearer", description="Word before the token ('Bearer', 'Zoho-oauthtoken').")
    refresh_before: Duration = Field(
        default=timedelta(seconds=60), description="Get a new token this long before the current one expires."
    )
    default_lifetime: Duration = Field(
        default=timedelta(hours=1), description="Lifetime of a token whose answer has no expires_in."
    )
    instance_url_field: str | None = Field(
        default=None,
        description="Field of the token answer naming the host to call instead of base_url's "
        "(Salesforce instance_url, Zoho api_domain).",
    )

    @model_validator(mode="after")
    def _grant_needs(self) -> Self:
        if self.grant == "refresh_token" and self.refresh_token is None:
            raise ValueError("the refresh_token grant needs `refresh_token`")
        if self.grant == "client_credentials" and self.client_secret is None:
            raise ValueError("the client_credentials grant needs `client_secret`")
        return self


class TokenSource(_Model):
    """Where the login answer carries the session: exactly one of body, header or cookies."""

    body: str | None = Field(default=None, description="Dotted path of the token in the JSON answer.")
    header: str | None = Field(default=None, description="Response header holding the token.")
    cookies: list[str] | None = Field(
        default=None,
        description="Cookies set by the login answer to send back on every request ('*' for all of them).",
    )
    optional_cookies: list[str] = Field(
        default_factory=list,
        description="Cookies sent back when the login answer sets them, not required (SAP Business One's "
        "ROUTEID, set only behind its load balancer).",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if sum(x is not None for x in (self.body, self.header, self.cookies)) != 1:
            raise ValueError("give exactly one of `body`, `header` or `cookies`")
        if self.cookies is not None and not self.cookies:
            raise ValueError("`cookies` names at least one cookie, or '*'")
        if self.optional_cookies and self.cookies is None:
            raise ValueError("`optional_cookies` go with `cookies`")
        return self


class TokenPlacement(_Model):
    """How a body or header token goes out on each request."""

    header: str | None = Field(default="Authorization", description="Header that carries the token ...")
    scheme: str = Field(default="Bearer", description="Word before the token in the header; '' for none.")
    query: str | None = Field(default=None, description="... or this query parameter (then header is unset).")

    @model_validator(mode="after")
    def _one_place(self) -> Self:
        if self.query is not None:
            self.header = None
        if self.header is None and self.query is None:
            raise ValueError("give `header` or `query`")
        return self


class LoginSettings(_Model):
    type: Literal["login"] = Field(
        description="Session login: credentials first, then the session token or cookie on every request."
    )
    path: str = Field(description="Login endpoint: a path below base_url, or an absolute URL.")
    method: Literal["POST", "GET"] = Field(default="POST", description="HTTP method of the login request.")
    body: dict[str, Any] = Field(
        default_factory=dict, description="Plain fields of the login body (user name)."
    )
    secret_body: dict[str, SecretStr] = Field(
        default_factory=dict, description="Secret fields of the login body (password), masked everywhere."
    )
    encoding: Literal["json", "form"] = Field(
        default="json", description="Send the body as JSON or as a form."
    )
    token: TokenSource = Field(description="Where the login answer carries the session.")
    send: TokenPlacement = Field(
        default_factory=TokenPlacement,
        description="How a body or header token is sent (cookies go as Cookie).",
    )
    success: BodyMatch | None = Field(
        default=None,
        description="A login answer is good only when this matches (Kingdee LoginResultType: 1).",
    )
    relogin_on: list[int] = Field(
        default_factory=lambda: [401],
        description="Answer statuses meaning the session expired: log in again.",
    )
    expired_when: BodyMatch | None = Field(
        default=None, description="A body value meaning the session expired (errors signalled in a 200 body)."
    )
    lifetime: Duration | None = Field(
        default=None,
        description="Log in again after this long; a JWT's own `exp` is used when the token is a JWT.",
    )


TEMPLATE_FIELD = re.compile(r"\{(\w*)\}")
SIGNING_FIELDS = frozenset(
    {
        "method",
        "path",
        "query",
        "host",
        "url",
        "body",
        "body_sha256",
        "body_md5",
        "timestamp",
        "nonce",
        "key_id",
    }
)


class HmacSettings(_Model):
    type: Literal["hmac"] = Field(description="Each request signed with an HMAC of a canonical text.")
    key_id: str = Field(default="", description="The public key or app id, available as {key_id}.")
    secret: SecretStr = Field(description="The signing secret.")
    secret_encoding: Literal["raw", "base64", "hex"] = Field(
        default="raw", description="How the secret is written: as is, base64 or hex (decoded before use)."
    )
    algorithm: Literal["sha1", "sha256", "sha512"] = Field(
        default="sha256", description="The hash of the HMAC."
    )
    message: str = Field(
        description="The text to sign, with fields {method} {path} {query} {host} {url} {body} {body_sha256} "
        "{body_md5} {timestamp} {nonce} {key_id}; {{ and }} for braces. Escapes such as \\n are written "
        "in YAML double quotes."
    )
    signature_encoding: Literal["base64", "hex", "hex_upper"] = Field(
        default="base64", description="How the signature is written."
    )
    timestamp: Literal["seconds", "milliseconds", "iso"] = Field(
        default="milliseconds", description="How {timestamp} is written."
    )
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="Headers to add, as templates of the same fields and {signature}, e.g. "
        "{X-Signature: '{signature}', X-Timestamp: '{timestamp}'}.",
    )
    params: dict[str, str] = Field(
        default_factory=dict, description="Query parameters to add, as templates (e.g. sign: '{signature}')."
    )

    @model_validator(mode="after")
    def _known_fields(self) -> Self:
        for where, template in [("message", self.message), *self.headers.items(), *self.params.items()]:
            allowed = SIGNING_FIELDS if where == "message" else SIGNING_FIELDS | {"signature"}
            unknown = sorted(
                set(TEMPLATE_FIELD.findall(template.replace("{{", "").replace("}}", ""))) - allowed
            )
            if unknown:
                raise ValueError(
                    f"{where}: unknown field {{{unknown[0]}}}; known: {', '.join(sorted(allowed))}"
                )
        if not any("{signature}" in t for t in [*self.headers.values(), *self.params.values()]):
            raise ValueError("the signature goes nowhere: use {signature} in `headers` or `params`")
        return self

    @model_validator(mode="after")
    def _decodable(self) -> Self:
        hmac_key(self)  # raises ValueError (without the secret) when it is not in its encoding
        return self


class OAuth1Settings(_Model):
    type: Literal["oauth1"] = Field(
        description="OAuth 1.0a signed requests with a consumer and an access token (NetSuite token-based "
        "authentication)."
    )
    consumer_key: SecretStr = Field(description="The consumer (integration record) key.")
    consumer_secret: SecretStr = Field(description="The consumer (integration record) secret.")
    token_id: SecretStr = Field(description="The access token's id (oauth_token).")
    token_secret: SecretStr = Field(description="The access token's secret.")
    realm: str | None = Field(
        default=None,
        description="The realm of the Authorization header (NetSuite: the account id, 1234567_SB1).",
    )
    signature_method: Literal["HMAC-SHA256", "HMAC-SHA1"] = Field(
        default="HMAC-SHA256", description="How requests are signed (NetSuite accepts only HMAC-SHA256)."
    )


class YonSuiteTokenSettings(_Model):
    type: Literal["yonsuite"] = Field(
        description="YonSuite / YonBIP self-built app: an access token from a signed getAccessToken "
        "request, sent as the access_token query parameter."
    )
    app_key: SecretStr = Field(description="The app's appKey.")
    app_secret: SecretStr = Field(description="The app's appSecret (the HMAC-SHA256 signing key).")
    token_url: str = Field(
        default="/iuap-api-auth/open-auth/selfAppAuth/base/v1/getAccessToken",
        description="The token endpoint: an absolute URL (the tenant's tokenUrl + "
        "/open-auth/selfAppAuth/base/v1/getAccessToken), or a path on base_url's host.",
    )
    refresh_before: Duration = Field(
        default=timedelta(minutes=5), description="Get a new token this long before the current one expires."
    )
    expired_codes: list[str] = Field(
        default_factory=lambda: ["310036"],
        description="Answer codes meaning the token is no longer valid: a new one is fetched and the request "
        "sent again once.",
    )


class U8TokenSettings(_Model):
    type: Literal["u8"] = Field(
        description="Yonyou U8 OpenAPI: a token from /system/token, sent with from_account, to_account and "
        "app_key as query parameters of every call."
    )
    from_account: str = Field(description="The developer account (from_account).")
    to_account: str = Field(description="The enterprise account whose data is read (to_account).")
    app_key: SecretStr = Field(description="The app_key.")
    app_secret: SecretStr = Field(description="The app_secret.")
    token_url: str = Field(
        default="/system/token", description="The token endpoint, below base_url or absolute."
    )
    ds_sequence: str | None = Field(default=None, description="The data source (ds_sequence), when several.")
    lifetime: Duration = Field(
        default=timedelta(seconds=6000),
        description="Get a new token after this long (the platform keeps one for 7200 s).",
    )


def _shorthand(value: Any) -> Any:
    """`auth: {bearer: T}` and `auth: {api_key: {...}}`, the older spelling, as typed styles."""
    if isinstance(value, dict) and "type" not in value:
        if set(value) == {"bearer"}:
            return {"type": "bearer", "token": value["bearer"]}
        if set(value) == {"api_key"} and isinstance(value["api_key"], dict):
            return {"type": "api_key", **value["api_key"]}
        if not value:
            return {"type": "none"}
        if {"bearer", "api_key"} <= set(value):
            raise ValueError("give one auth style, not both `bearer` and `api_key`")
    return value


AuthSettings = Annotated[
    NoAuthSettings
    | BearerSettings
    | ApiKeySettings
    | StaticSettings
    | BasicSettings
    | OAuth2Settings
    | LoginSettings
    | HmacSettings
    | KingdeeSignedSettings
    | KingdeeSdkSettings
    | FxiaokeTokenSettings
    | OdooRpcSettings
    | OAuth1Settings
    | YonSuiteTokenSettings
    | U8TokenSettings,
    Field(discriminator="type"),
    BeforeValidator(_shorthand),
]


def hmac_key(settings: HmacSettings) -> bytes:
    raw = settings.secret.get_secret_value()
    try:
        if settings.secret_encoding == "base64":
            return base64.b64decode(raw, validate=True)
        if settings.secret_encoding == "hex":
            return bytes.fromhex(raw)
    except (ValueError, binascii.Error):
        raise ValueError(f"`secret` is not valid {settings.secret_encoding}") from None
    return raw.encode()
