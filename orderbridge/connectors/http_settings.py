"""Settings every HTTP-based system shares (the declarative REST connector and presets built on it):
where the API is, how to authenticate, what its answers mean, how to retry and how fast to go."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

from orderbridge.config.types import Duration, PositiveDuration, SentToSource
from orderbridge.connectors.auth_settings import AuthSettings, NoAuthSettings
from orderbridge.connectors.base import SystemSettings
from orderbridge.connectors.budget import BudgetSettings
from orderbridge.connectors.responses import ChecksSettings


class RetrySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attempts: int = Field(default=5, ge=1, le=20, description="Tries of one request before the poll fails.")
    initial_wait: Duration = Field(
        default=timedelta(seconds=1),
        description="Wait after the first failure; it doubles after each next one.",
    )
    max_wait: Duration = Field(
        default=timedelta(seconds=60),
        description="Longest wait between tries; a source asking (Retry-After) for longer fails the poll, "
        "and the next poll waits as long as asked.",
    )
    known_throttles: bool = Field(
        default=True,
        description="Also retry the throttle signals of well-known APIs that do not answer 429 "
        "(Salesforce 403 REQUEST_LIMIT_EXCEEDED, Jiandaoyun 400 code 8303, Shopify THROTTLED, NetSuite "
        "SSS_REQUEST_LIMIT_EXCEEDED).",
    )


class HttpSystemSettings(SystemSettings):
    """A system reached over HTTP. A user name and password written in `base_url`
    (https://user:pw@host) become basic auth; the URL itself then carries neither."""

    base_url: Annotated[HttpUrl, SentToSource] = Field(
        description="Root of the API; request paths are appended to it."
    )
    auth: AuthSettings = Field(default_factory=NoAuthSettings, description="How to authenticate (`type:`).")
    headers: Annotated[dict[str, str], SentToSource] = Field(
        default_factory=dict, description="Headers sent with every request."
    )
    errors: ChecksSettings = Field(
        default_factory=list,
        description="Checks of each answer before it is trusted: errors inside a 2xx body (type: body) and "
        "throttle signals other than 429 (type: throttle). One mapping is read as one body check.",
    )
    timeout: PositiveDuration = Field(
        default=timedelta(seconds=30), description="Longest wait for one answer."
    )
    retry: RetrySettings = Field(default_factory=RetrySettings, description="Retries of failed requests.")
    budget: BudgetSettings | None = Field(
        default=None, description="Requests per second/minute kept to, before the source has to answer 429."
    )
    redirects: Literal["same_origin", "strip_credentials"] = Field(
        default="same_origin",
        description="Redirects to another host (scheme, host or port): 'same_origin' refuses them with an "
        "error; 'strip_credentials' follows them sending no credential (no auth, configured headers or "
        "credential parameters).",
    )

    @model_validator(mode="before")
    @classmethod
    def _userinfo_is_basic_auth(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("base_url"), str):
            return data
        parts = urlsplit(data["base_url"].strip())
        if "@" not in parts.netloc:
            return data
        userinfo, _, host = parts.netloc.rpartition("@")
        user, _, password = userinfo.partition(":")
        if data.get("auth") not in (None, {}, {"type": "none"}):
            # Never quote the URL: it holds a password.
            raise ValueError(
                "base_url holds a user name and password, and `auth` is set too: give one of them"
            )
        return {
            **data,
            "base_url": urlunsplit(parts._replace(netloc=host)),
            "auth": {"type": "basic", "username": unquote(user), "password": unquote(password)},
        }
