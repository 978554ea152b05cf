"""Settings of the declarative REST connector (`type: rest`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, model_validator

from orderbridge.config.types import Duration
from orderbridge.connectors.base import SystemSettings


class ApiKeyAuth(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: SecretStr = Field(description="The key, from the environment: ${NAME}.")
    header: str | None = Field(default=None, description="Send the key in this header ...")
    query: str | None = Field(default=None, description="... or in this query parameter.")
    prefix: str = Field(default="", description="Text before the key in the header, e.g. 'token '.")

    @model_validator(mode="after")
    def _one_place(self) -> Self:
        if (self.header is None) == (self.query is None):
            raise ValueError("give exactly one of `header` or `query`")
        return self


class AuthSettings(BaseModel):
    """One auth style. More (basic, OAuth2 client credentials, session login) slot in here later."""

    model_config = ConfigDict(extra="forbid")

    bearer: SecretStr | None = Field(
        default=None, description="Token sent as `Authorization: Bearer ...`, from the environment: ${NAME}."
    )
    api_key: ApiKeyAuth | None = Field(
        default=None, description="A key sent in a header or a query parameter."
    )

    @model_validator(mode="after")
    def _at_most_one(self) -> Self:
        if self.bearer is not None and self.api_key is not None:
            raise ValueError("give one auth style, not both `bearer` and `api_key`")
        return self


class PagingSettings(BaseModel):
    """How to ask for the next page.

    - page:   `param` is the page number (from `start`), `size_param` the page size.
    - offset: `param` is the record offset, `size_param` the page size.
    - cursor: the next page's token is read from the response at `next` and sent as `param`.
    - none:   a single request.
    Paging stops at an empty page, a short page (page/offset), or a missing/repeated token (cursor).
    """

    model_config = ConfigDict(extra="forbid")

    style: Literal["page", "offset", "cursor", "none"] = Field(
        default="none", description="page numbers, record offsets, a cursor token from the answer, or none."
    )
    param: str = Field(default="page", description="Query parameter carrying the page, offset or cursor.")
    size_param: str | None = Field(default=None, description="Query parameter carrying the page size.")
    size: int = Field(default=100, ge=1, le=10000, description="Records asked for per page.")
    start: int = Field(default=1, description="Number of the first page (page style).")
    next: str | None = Field(default=None, description="Path in the response body of the next cursor.")
    max_pages: int = Field(default=10000, ge=1, description="Safety stop for a source that never ends.")

    @model_validator(mode="after")
    def _cursor_has_next(self) -> Self:
        if self.style == "cursor" and not self.next:
            raise ValueError("cursor paging needs `next`: where the next cursor is in the response")
        return self


class ListSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="Path below base_url, e.g. /orders.")
    method: Literal["GET", "POST"] = Field(default="GET", description="HTTP method of the list request.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Query parameters; '{cursor}' is replaced by the cursor value."
    )
    records: str = Field(default="", description="Dotted path to the list of records; '' = body is the list.")
    paging: PagingSettings = Field(
        default_factory=PagingSettings, description="How to ask for the next page."
    )


class CursorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(description="Record field holding the modification time the cursor follows.")
    overlap: Duration = Field(
        default=timedelta(minutes=5), description="Re-read this much before the cursor."
    )
    format: Literal["iso", "epoch", "epoch_ms"] = Field(
        default="iso", description="How the cursor is sent: ISO 8601 text, epoch seconds or milliseconds."
    )
    initial: str = Field(default="1970-01-01T00:00:00+00:00", description="Cursor of the first poll.")
    sorted: bool = Field(
        default=False,
        description="Records come oldest first: the cursor may advance page by page. "
        "Otherwise it advances only when the whole listing was read.",
    )


class BodyErrorSettings(BaseModel):
    """Errors signalled inside a 200 body: the field and the values that mean success."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(description="Field of the answer that tells success from failure, e.g. code.")
    ok: list[Any] = Field(
        default_factory=lambda: [0, "0", "ok", "OK", True], description="Values of `field` that mean success."
    )
    message: str | None = Field(default=None, description="Field with the error text.")


class RetrySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attempts: int = Field(default=5, ge=1, le=20, description="Tries of a request before the poll fails.")
    initial_wait: Duration = Field(
        default=timedelta(seconds=1), description="Wait before the first retry; it doubles each time."
    )
    max_wait: Duration = Field(
        default=timedelta(seconds=60),
        description="Longest wait between tries; a source asking (Retry-After) for longer is left alone "
        "that long.",
    )


class RestSettings(SystemSettings):
    type: Literal["rest"] = Field(default="rest", description="A JSON HTTP API, described in YAML.")
    base_url: HttpUrl = Field(description="The API's address; list.path is below it.")
    auth: AuthSettings = Field(default_factory=AuthSettings, description="How requests authenticate.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra request headers (their values are secret)."
    )
    list: ListSettings = Field(description="The request that lists records, and how it pages.")
    cursor: CursorSettings | None = Field(
        default=None,
        description="Incremental polling: the field it follows; without it every poll reads all.",
    )
    errors: BodyErrorSettings | None = Field(
        default=None, description="Errors the API signals inside a 200 answer."
    )
    timeout: Duration = Field(default=timedelta(seconds=30), description="Longest wait for one answer.")
    retry: RetrySettings = Field(default_factory=RetrySettings, description="Retries of failed requests.")
