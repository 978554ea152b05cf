"""Settings of `type: sap_b1`: a Service Layer session (POST /Login with company, user and password,
then the B1SESSION and ROUTEID cookies, logging in again on 401), and OData listings of Orders,
DeliveryNotes and Invoices filtered by UpdateDate (a date) with a one-day overlap, paged by the
server's next link at `Prefer: odata.maxpagesize`."""

from __future__ import annotations

import builtins
from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, SecretStr

from orderbridge.connectors.base import FieldMap
from orderbridge.connectors.cursors import CursorSettings
from orderbridge.connectors.presets.base import DeclarativePreset
from orderbridge.connectors.rest.settings import ListSettings

Child = Literal["deliveries", "invoices"]


def _deliveries() -> builtins.list[Child]:
    return ["deliveries"]


class SapB1Settings(DeclarativePreset):
    type: Literal["sap_b1"] = Field(default="sap_b1", description="SAP Business One sales orders.")
    company_db: str = Field(description="The company database to log in to (CompanyDB), e.g. SBODEMOUS.")
    username: str = Field(description="The Business One user (UserName).")
    password: SecretStr = Field(description="That user's password.")
    odata: Literal["v3", "v4"] = Field(
        default="v3",
        description="The Service Layer's OData: v3 under /b1s/v1 (odata.nextLink), v4 under /b1s/v2 "
        "(@odata.nextLink); default: read from a base_url ending in /b1s/v2.",
    )
    page_size: int = Field(
        default=100, ge=1, le=1000, description="Documents per page (Prefer: odata.maxpagesize)."
    )
    select: builtins.list[str] = Field(
        default_factory=lambda: [
            "DocEntry",
            "DocNum",
            "NumAtCard",
            "CardCode",
            "DocTotal",
            "DocCurrency",
            "DocumentStatus",
            "Cancelled",
            "UpdateDate",
        ],
        description="Order fields asked for ($select); add your user fields (U_...) here.",
    )
    time_field: str | None = Field(
        default="UpdateTime",
        description="The field with the time of day of UpdateDate (a date), asked for and joined to it; "
        "null when the Service Layer has none.",
    )
    children: builtins.list[Child] = Field(
        default_factory=_deliveries,
        description="Child documents read besides the orders, each as the system `<name>.<child>`: "
        "deliveries (DeliveryNotes), and A/R invoices (Invoices) when they are copied from the orders "
        "themselves (an invoice copied from a delivery names the delivery, not the order).",
    )

    def template_values(self) -> dict[str, Any]:
        return {**super().template_values(), "select": ",".join(self._with_time(self.select))}

    def complete(self) -> None:
        if "odata" not in self.model_fields_set and str(self.base_url).rstrip("/").endswith("/b1s/v2"):
            self.odata = "v4"
        super().complete()
        rest = self.rest()
        children = {
            name: child.model_copy(update=self._timed(child.list, child.cursor, child.fields))
            for name, child in rest.children.items()
            if name in self.children
        }
        self._rest = rest.model_copy(
            update={**self._timed(rest.list, rest.cursor, rest.fields), "children": children}
        )
        self.fields = self._rest.fields

    def _with_time(self, names: builtins.list[str]) -> builtins.list[str]:
        return [*names, self.time_field] if self.time_field and self.time_field not in names else names

    def _timed(
        self, listing: ListSettings, cursor: CursorSettings | None, fields: FieldMap
    ) -> dict[str, Any]:
        """A listing in this Service Layer's OData (the next link's name) and, with a time field, asked
        from the date and time of its cursor, five minutes back, instead of from a date a day back."""
        link = "@odata.nextLink" if self.odata == "v4" else "odata.nextLink"
        params = dict(listing.params)
        update: dict[str, Any] = {}
        if self.time_field and cursor is not None:
            time = self.time_field
            params["$select"] = ",".join(self._with_time(str(params.get("$select", "")).split(",")))
            params["$filter"] = "{cursor}"
            params["$orderby"] = f"UpdateDate,{time},DocEntry"
            at_time = f"UpdateDate gt '%Y-%m-%d' or (UpdateDate eq '%Y-%m-%d' and {time} ge '%H:%M:%S')"
            update["cursor"] = cursor.model_copy(
                update={"format": at_time, "time_field": time, "overlap": timedelta(minutes=5)}
            )
            if "updated_time" not in self.fields.model_fields_set:
                update["fields"] = fields.model_copy(update={"updated_time": time})
        paging = listing.paging.model_copy(update={"next": link})
        update["list"] = listing.model_copy(update={"params": params, "paging": paging})
        return update

    def warnings(self) -> builtins.list[str]:
        # UpdateTime is documented for OData v4: only a v3 Service Layer leaves it in doubt.
        found = super().warnings()
        return [w for w in found if not w.startswith("time_field:")] if self.odata == "v4" else found
