"""Settings of the `odoo_jsonrpc` auth style (kept apart from the style, which the auth registry loads
only when it is used)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class OdooRpcSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["odoo_jsonrpc"] = Field(
        description="Odoo's /jsonrpc endpoint: log in with database, user and API key (or password), "
        "then call execute_kw."
    )
    database: str = Field(min_length=1, description="The Odoo database name.")
    username: str = Field(min_length=1, description="The login of the API user (often an e-mail address).")
    api_key: SecretStr = Field(description="The user's API key (a password works where no 2FA is set).")
    path: str = Field(default="/jsonrpc", description="The JSON-RPC endpoint below base_url.")
