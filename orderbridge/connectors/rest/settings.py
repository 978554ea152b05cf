"""Settings of the declarative REST connector (`type: rest`)."""

from __future__ import annotations

import builtins
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from orderbridge.config.types import Interval, SentToSource
from orderbridge.connectors.base import FieldMap, PollSettings
from orderbridge.connectors.cursors import CURSOR, UNTIL, AnyCursor, WindowCursor, uses_cursor
from orderbridge.connectors.http_settings import HttpSystemSettings
from orderbridge.connectors.paging import REGISTRY as PAGINATORS
from orderbridge.connectors.paging import AnyPaging, NoPaging
from orderbridge.connectors.rows import REGISTRY as ROW_SHAPES
from orderbridge.connectors.rows import AnyRows, ObjectRows
from orderbridge.mapping.ids import OrderIdRule
from orderbridge.mapping.status import StatusTable


class ListSettings(BaseModel):
    """The list request. `{cursor}` in a parameter, a header or the JSON body is replaced by the cursor."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="Path below base_url, e.g. /orders.")
    method: Literal["GET", "POST"] = Field(default="GET", description="HTTP method of the list request.")
    params: Annotated[dict[str, Any], SentToSource] = Field(
        default_factory=dict,
        description="Query parameters; '{cursor}' is replaced by the cursor (also inside a query "
        "language such as SOQL).",
    )
    headers: Annotated[dict[str, str], SentToSource] = Field(
        default_factory=dict,
        description="Headers of the list request only, e.g. {If-Modified-Since: '{cursor}'}.",
    )
    body: Annotated[Any, SentToSource] = Field(
        default=None,
        description="JSON body of a POST listing; '{cursor}' is replaced in its strings (a string that is "
        "only '{cursor}' becomes a number for numeric cursors).",
    )
    records: str = Field(default="", description="Dotted path to the list of records; '' = body is the list.")
    rows: AnyRows = Field(
        default_factory=ObjectRows.settings_model,
        description="How each record is written; `shape` picks one of: " + ", ".join(ROW_SHAPES) + " "
        "(arrays of values: Kingdee ExecuteBillQuery, Chanjet T+ Rows).",
    )
    empty: list[Any] = Field(
        default_factory=list,
        description="Values that stand for an empty field in the records, read as absent (Odoo writes "
        "false for every empty field, text and dates too: [false]); the record is stored as sent.",
    )
    paging: AnyPaging = Field(
        default_factory=NoPaging.settings_model,
        description="How to ask for the next page; `style` picks one of: " + ", ".join(PAGINATORS) + ".",
    )

    @model_validator(mode="after")
    def _body_needs_post(self) -> Self:
        if self.body is not None and self.method != "POST":
            raise ValueError("a list `body` is sent with `method: POST`")
        return self

    def uses_cursor(self, marker: str = CURSOR) -> bool:
        return uses_cursor([self.params, self.headers, self.body], marker)


class ChildSettings(BaseModel):
    """Child documents (deliveries, invoices, payments) read by their own listing with their own cursor,
    because their changes often leave the order's modification time alone. Their records are those of
    the system `<system>.<child>` and attach to their order by `order_field` (or links)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="false: the child is not read (nor reported).")
    list: ListSettings = Field(description="The child's own list request.")
    cursor: AnyCursor | None = Field(default=None, description="The child's own cursor.")
    order_field: str | None = Field(
        default=None,
        description="Field naming the record's order (e.g. `origin`, `sale_id.1`), normalised with the "
        "system's order_id rule.",
    )
    order_id: OrderIdRule | None = Field(
        default=None, description="A whole order-id rule, when the child writes the order number otherwise."
    )
    fields: FieldMap = Field(default_factory=FieldMap, description="Where the child's fields are.")
    status: builtins.list[StatusTable] = Field(
        default_factory=builtins.list, description="Status tables of the child's own status words."
    )
    link_by: builtins.list[str] = Field(
        default_factory=builtins.list,
        description="Link types that attach child records without an order field.",
    )

    @field_validator("status", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _attached(self) -> Self:
        if self.order_field is None and self.order_id is None and not self.fields.links:
            raise ValueError(
                "a child needs `order_field` (or `order_id`, or `fields.links`) to find its order"
            )
        return self


class RestPollSettings(PollSettings):
    full_every: Interval | None = Field(
        default=None,
        description="Read the whole listing again this often (e.g. 1d), to catch changes a cursor misses; "
        "unchanged records write nothing.",
    )


class RestSettings(HttpSystemSettings):
    type: Literal["rest"] = Field(default="rest", description="A JSON HTTP API declared in YAML.")
    poll: RestPollSettings = Field(default_factory=RestPollSettings, description="When to poll.")
    list: ListSettings = Field(description="The list request of the orders.")
    cursor: AnyCursor | None = Field(default=None, description="What the listing remembers between polls.")
    children: dict[str, ChildSettings] = Field(
        default_factory=dict,
        description="Child document listings, e.g. {deliveries: ..., invoices: ...}; each reports as the "
        "system `<system>.<child>`.",
    )

    @model_validator(mode="after")
    def _children_enabled(self) -> Self:
        self.children = {name: child for name, child in self.children.items() if child.enabled}
        return self

    @model_validator(mode="after")
    def _cursor_placed(self) -> Self:
        for where, listing, cursor in (
            ("list", self.list, self.cursor),
            *((f"children.{n}.list", c.list, c.cursor) for n, c in self.children.items()),
        ):
            if cursor is None and listing.uses_cursor():
                raise ValueError(f"{where} uses '{{cursor}}' but no `cursor` is set beside it")
            if listing.uses_cursor(UNTIL) and (cursor is None or cursor.type != WindowCursor.kind):
                raise ValueError(f"{where} uses '{{until}}', which only a `cursor` of type window fills")
        return self

    def streams(self, name: str) -> dict[str, builtins.list[str]]:
        children = {f"{name}.{child}": settings.link_by for child, settings in self.children.items()}
        return {name: self.link_by, **children}

    def child(self, name: str) -> RestSettings:
        """The settings one child's listing is read and mapped with."""
        child = self.children[name]
        rule = child.order_id or self.order_id.model_copy(update={"field": child.order_field or ""})
        update: dict[str, Any] = {
            "list": child.list,
            "cursor": child.cursor,
            "order_id": rule,
            "fields": child.fields,
            "status": child.status,
            "link_by": child.link_by,
            "children": {},
        }
        return self.model_copy(update=update)
