"""Settings of the declarative REST connector (`type: rest`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, model_validator

from orderbridge.config.types import Duration, PositiveDuration, SentToSource
from orderbridge.connectors.base import SystemSettings


class ApiKeyAuth(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: SecretStr
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

    bearer: SecretStr | None = None
    api_key: ApiKeyAuth | None = None

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

    style: Literal["page", "offset", "cursor", "none"] = "none"
    param: str = "page"
    size_param: str | None = None
    size: int = Field(default=100, ge=1, le=10000)
    start: int = 1
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
    method: Literal["GET", "POST"] = "GET"
    params: Annotated[dict[str, Any], SentToSource] = Field(
        default_factory=dict, description="Query parameters; '{cursor}' is replaced by the cursor value."
    )
    records: str = Field(default="", description="Dotted path to the list of records; '' = body is the list.")
    paging: PagingSettings = Field(default_factory=PagingSettings)


class CursorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(description="Record field holding the modification time the cursor follows.")
    overlap: Duration = Field(
        default=timedelta(minutes=5), description="Re-read this much before the cursor."
    )
    format: Literal["iso", "epoch", "epoch_ms"] = "iso"
    initial: str = Field(default="1970-01-01T00:00:00+00:00", description="Cursor of the first poll.")
    sorted: bool = Field(
        default=False,
        description="Records come oldest first: the cursor may advance page by page. "
        "Otherwise it advances only when the whole listing was read.",
    )


class BodyErrorSettings(BaseModel):
    """Errors signalled inside a 200 body: the field and the values that mean success."""

    model_config = ConfigDict(extra="forbid")

    field: str
    ok: list[Any] = Field(default_factory=lambda: [0, "0", "ok", "OK", True])
    message: str | None = Field(default=None, description="Field with the error text.")


class RetrySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attempts: int = Field(default=5, ge=1, le=20)
    initial_wait: Duration = timedelta(seconds=1)
    max_wait: Duration = timedelta(seconds=60)


class RestSettings(SystemSettings):
    type: Literal["rest"] = "rest"
    base_url: Annotated[HttpUrl, SentToSource]
    auth: AuthSettings = Field(default_factory=AuthSettings)
    headers: Annotated[dict[str, str], SentToSource] = Field(default_factory=dict)
    list: ListSettings
    cursor: CursorSettings | None = None
    errors: BodyErrorSettings | None = None
    timeout: PositiveDuration = timedelta(seconds=30)
    retry: RetrySettings = Field(default_factory=RetrySettings)
