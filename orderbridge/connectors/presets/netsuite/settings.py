"""Settings of `type: netsuite`: token-based authentication (OAuth 1.0a, HMAC-SHA256, the account id
as realm), then SuiteQL queries of sales orders and their item fulfilments and invoices, each asked
from its own lastmodifieddate cursor and paged by limit/offset."""

from __future__ import annotations

import builtins
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from orderbridge.connectors.presets.base import DeclarativePreset

HOST_SUFFIX = ".suitetalk.api.netsuite.com"
Child = Literal["fulfillments", "invoices"]


def _every_child() -> builtins.list[Child]:
    return ["fulfillments", "invoices"]


class NetSuiteSettings(DeclarativePreset):
    type: Literal["netsuite"] = Field(default="netsuite", description="Oracle NetSuite sales orders.")
    account_id: str | None = Field(
        default=None,
        description="The account id (1234567, or 1234567_SB1 for a sandbox), the realm of every request; "
        "default: read from a base_url on <account>.suitetalk.api.netsuite.com.",
    )
    consumer_key: SecretStr = Field(description="Consumer key of the integration record.")
    consumer_secret: SecretStr = Field(description="Consumer secret of the integration record.")
    token_id: SecretStr = Field(description="Token ID of the access token (integration, user and role).")
    token_secret: SecretStr = Field(description="Token secret of the access token.")
    page_size: int = Field(
        default=1000, ge=1, le=1000, description="Rows per SuiteQL page (limit, at most 1000)."
    )
    columns: builtins.list[str] = Field(
        default_factory=builtins.list,
        description="More columns of the sales-order query, as SuiteQL select items of transaction t "
        "(e.g. 't.custbody_wms_status AS wms_status'), to map with `fields` and `status`.",
    )
    children: builtins.list[Child] = Field(
        default_factory=_every_child,
        description="Child documents read besides the orders: item fulfilments (ItemShip) and invoices "
        "(CustInvc), each as the system `<name>.<child>`.",
    )

    @model_validator(mode="before")
    @classmethod
    def _account_is_the_realm(cls, data: Any) -> Any:
        """The realm is the account id in capitals with an underscore; the host has it in small letters
        with a hyphen (1234567-sb1.suitetalk.api.netsuite.com)."""
        if not isinstance(data, dict):
            return data
        account = data.get("account_id")
        if not account and isinstance(data.get("base_url"), str):
            host = data["base_url"].split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
            if not host.endswith(HOST_SUFFIX):
                raise ValueError(
                    "give `account_id` (the realm, e.g. 1234567_SB1): base_url is not on "
                    f"<account>{HOST_SUFFIX}"
                )
            account = host.removesuffix(HOST_SUFFIX)
        if isinstance(account, str):
            data = {**data, "account_id": account.strip().upper().replace("-", "_")}
        return data

    @field_validator("columns")
    @classmethod
    def _select_items(cls, columns: builtins.list[str]) -> builtins.list[str]:
        for column in columns:
            if not column.strip() or any(c in column for c in ";'\"{}"):
                raise ValueError(f"{column!r} is not a select item such as 't.custbody_x AS x'")
        return columns

    def template_values(self) -> dict[str, Any]:
        # The extra columns follow the preset's own in the SELECT list.
        return {**super().template_values(), "columns": "".join(f", {c}" for c in self.columns)}

    def complete(self) -> None:
        super().complete()
        rest = self.rest()
        kept = {name: child for name, child in rest.children.items() if name in self.children}
        self._rest = rest.model_copy(update={"children": kept})
