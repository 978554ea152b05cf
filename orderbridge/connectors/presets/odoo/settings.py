"""Settings of `type: odoo`: the tenant's address and API key (with database and user for JSON-RPC);
the listings of sale orders, deliveries and invoices come from `preset.yaml` beside this module."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from orderbridge.config.types import Duration
from orderbridge.connectors.presets.base import DeclarativePreset

ORDER_FIELDS = [
    "name",
    "state",
    "delivery_status",
    "invoice_status",
    "client_order_ref",
    "amount_total",
    "currency_id",
    "write_date",
]
DELIVERY_FIELDS = ["name", "state", "origin", "sale_id", "scheduled_date", "date_done", "write_date"]
INVOICE_FIELDS = [
    "name",
    "move_type",
    "state",
    "payment_state",
    "invoice_origin",
    "amount_total",
    "amount_residual",
    "currency_id",
    "write_date",
]
# execute_kw errors come inside a 200: {"error": {"code": 200, "data": {"name": ..., "message": ...}}}
RPC_ERRORS = [{"type": "body", "field": "error.code", "ok": [], "message": "error.data.message"}]


class OdooSettings(DeclarativePreset):
    derived: ClassVar[tuple[str, ...]] = ("auth", "database_header", "errors", "records")

    type: Literal["odoo"] = Field(
        default="odoo", description="Odoo sale orders with their deliveries and invoices."
    )
    api: Literal["json2", "jsonrpc"] | None = Field(
        default=None,
        description="json2: Odoo 19 and later (/json/2, the API key as bearer token); jsonrpc: every "
        "version up to 21 (/jsonrpc, with database and username). Unset: jsonrpc when `username` is "
        "given, else json2.",
    )
    api_key: SecretStr = Field(
        description="API key of the integration user (Preferences > Account Security > New API Key); "
        "with jsonrpc the user's password works too where two-factor login is off."
    )
    database: str | None = Field(
        default=None,
        description="The database name: needed with jsonrpc; with json2 only where one server hosts "
        "several databases (sent as X-Odoo-Database).",
    )
    username: str | None = Field(default=None, description="Login of the integration user (jsonrpc).")
    deliveries: bool = Field(
        default=True,
        description="Read outgoing deliveries (stock.picking of sale orders) as `<system>.deliveries`.",
    )
    invoices: bool = Field(
        default=True,
        description="Read customer invoices and credit notes (account.move) as `<system>.invoices`.",
    )
    order_fields: list[str] = Field(
        default_factory=lambda: list(ORDER_FIELDS),
        description="sale.order fields read; Odoo refuses a field it does not have (delivery_status needs "
        "Odoo 16 and the Inventory app): drop it there, add your own (x_studio_...) here.",
    )
    delivery_fields: list[str] = Field(
        default_factory=lambda: list(DELIVERY_FIELDS),
        description="stock.picking fields read (carrier_tracking_ref with the Delivery app installed).",
    )
    invoice_fields: list[str] = Field(
        default_factory=lambda: list(INVOICE_FIELDS), description="account.move fields read."
    )
    page_size: int = Field(default=200, ge=1, le=5000, description="Records per search_read call (limit).")
    overlap: Duration = Field(
        default=timedelta(minutes=5),
        description="Re-read this far behind the saved write_date: Odoo stamps write_date when a "
        "transaction starts, so a long one commits records behind the cursor.",
    )
    since: str = Field(
        default="1970-01-01 00:00:00", description="write_date (UTC) the first poll reads from."
    )

    @field_validator("timezone")
    @classmethod
    def _utc(cls, value: str) -> str:
        if value != "UTC":
            raise ValueError(
                "Odoo's API writes every date and time in UTC, whatever the users' time zone: leave "
                "`timezone` out (the reports' zone is set under `reports`)"
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _transport(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("api") is None:
            data = {**data, "api": "jsonrpc" if data.get("username") else "json2"}
        if isinstance(data, dict) and data["api"] == "jsonrpc":
            missing = [name for name in ("database", "username") if not data.get(name)]
            if missing:
                raise ValueError(
                    f"api: jsonrpc needs {' and '.join(missing)} (the login is database, user, key)"
                )
        return data

    @property
    def jsonrpc(self) -> bool:
        return self.api == "jsonrpc"

    def template_values(self) -> dict[str, Any]:
        values = super().template_values()
        key = self.api_key.get_secret_value()
        if self.jsonrpc:
            auth: dict[str, Any] = {
                "type": "odoo_jsonrpc",
                "database": self.database,
                "username": self.username,
                "api_key": key,
            }
        else:
            auth = {"type": "bearer", "token": key, "scheme": "bearer"}
        header = {"X-Odoo-Database": self.database} if self.database and not self.jsonrpc else {}
        return {
            **values,
            "auth": auth,
            "database_header": header,
            "errors": RPC_ERRORS if self.jsonrpc else [],
            "records": "result" if self.jsonrpc else "",
        }
