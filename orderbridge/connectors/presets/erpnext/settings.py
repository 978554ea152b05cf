"""Settings of `type: erpnext`: the site's address and an API key pair; the listings of sales orders,
delivery notes and sales invoices come from `preset.yaml` beside this module."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr

from orderbridge.config.types import Duration
from orderbridge.connectors.presets.base import DeclarativePreset
from orderbridge.connectors.presets.template import Gap

ORDER_FIELDS = [
    "name",
    "status",
    "docstatus",
    "per_delivered",
    "per_billed",
    "po_no",
    "grand_total",
    "currency",
    "modified",
]
# A child table's field, as Frappe's list query names it: one row per item of the document.
DELIVERY_FIELDS = [
    "name",
    "status",
    "docstatus",
    "is_return",
    "modified",
    "`tabDelivery Note Item`.against_sales_order",
]
INVOICE_FIELDS = [
    "name",
    "status",
    "docstatus",
    "is_return",
    "grand_total",
    "currency",
    "modified",
    "`tabSales Invoice Item`.sales_order",
]


class ErpNextSettings(DeclarativePreset):
    gaps: ClassVar[tuple[Gap, ...]] = (
        Gap(
            "timezone",
            "ERPNext writes `modified` in the site's time zone without saying which (System Settings > "
            "Time Zone); UTC is assumed",
        ),
    )

    type: Literal["erpnext"] = Field(
        default="erpnext", description="ERPNext sales orders with their delivery notes and sales invoices."
    )
    api_key: str = Field(description="API Key of the integration user (User > Settings > API Access).")
    api_secret: SecretStr = Field(description="API Secret shown once when the keys are generated.")
    deliveries: bool = Field(
        default=True, description="Read delivery notes (Delivery Note) as `<system>.deliveries`."
    )
    invoices: bool = Field(
        default=True, description="Read sales invoices (Sales Invoice) as `<system>.invoices`."
    )
    order_doctype: str = Field(default="Sales Order", description="The DocType holding the orders.")
    order_fields: list[str] = Field(
        default_factory=lambda: list(ORDER_FIELDS),
        description="Sales Order fields read; add your own (custom_...) here.",
    )
    delivery_fields: list[str] = Field(
        default_factory=lambda: list(DELIVERY_FIELDS), description="Delivery Note fields read."
    )
    invoice_fields: list[str] = Field(
        default_factory=lambda: list(INVOICE_FIELDS), description="Sales Invoice fields read."
    )
    page_size: int = Field(
        default=100,
        ge=1,
        le=1000,
        description="Rows per request (limit_page_length; Frappe's default is 20).",
    )
    overlap: Duration = Field(
        default=timedelta(minutes=1), description="Re-read this far behind the saved `modified`."
    )
    since: str = Field(
        default="2000-01-01 00:00:00", description="`modified` (site time) the first poll reads from."
    )

    def template_values(self) -> dict[str, Any]:
        values = super().template_values()
        for name in ("order_fields", "delivery_fields", "invoice_fields"):
            values[name] = json.dumps(getattr(self, name))  # Frappe reads `fields` as a JSON array
        return values
