"""Settings of the declarative REST connector (`type: rest`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from orderbridge.config.types import Duration
from orderbridge.connectors.http_settings import HttpSystemSettings


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


class RestSettings(HttpSystemSettings):
    type: Literal["rest"] = Field(default="rest", description="A JSON HTTP API, described in YAML.")
    list: ListSettings = Field(description="The request that lists records, and how it pages.")
    cursor: CursorSettings | None = Field(
        default=None,
        description="Incremental polling: the field it follows; without it every poll reads all.",
    )
