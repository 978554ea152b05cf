"""Settings of `type: zoho`: OAuth with a refresh token, then the Sales_Orders listing asked with
If-Modified-Since (304 when nothing changed), sorted by Modified_Time and paged by page/per_page."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr

from orderbridge.connectors.presets.base import DeclarativePreset


class ZohoSettings(DeclarativePreset):
    type: Literal["zoho"] = Field(default="zoho", description="Zoho CRM sales orders.")
    accounts_url: str = Field(
        default="https://accounts.zoho.com/oauth/v2/token",
        description="Token endpoint of your data centre's accounts server (accounts.zoho.eu, .in, "
        ".com.cn, .com.au, .jp ...).",
    )
    client_id: str = Field(description="Client ID of the API client (api-console.zoho.com).")
    client_secret: SecretStr = Field(description="Client secret of the API client.")
    refresh_token: SecretStr = Field(
        description="Refresh token granted with scope ZohoCRM.modules.sales_orders.READ."
    )
    api_version: str = Field(default="v8", description="CRM API version in the path (v2 ... v8).")
    module: str = Field(default="Sales_Orders", description="API name of the module holding the orders.")
    read_fields: list[str] = Field(
        default_factory=lambda: [
            "id",
            "SO_Number",
            "Subject",
            "Status",
            "Modified_Time",
            "Grand_Total",
            "Currency",
            "Purchase_Order",
        ],
        description="Fields asked for (the API returns only these); add your custom status fields here.",
    )
    page_size: int = Field(default=200, ge=1, le=200, description="Records per page (per_page, at most 200).")
    paging: Literal["page", "page_token"] = Field(
        default="page",
        description="`page`: page numbers, which Zoho allows up to 2,000 records (the listing asks again "
        "from the newest Modified_Time read, so only more than 2,000 orders changed in one second reach "
        "it); `page_token`: Zoho's next_page_token (API v3 and later), for mass updates beyond that.",
    )

    def template_values(self) -> dict[str, Any]:
        common = {"size_param": "per_page", "size": self.page_size, "has_more": "info.more_records"}
        styles = {
            "page": {"style": "page", "param": "page", **common},
            "page_token": {
                "style": "cursor",
                "param": "page_token",
                "next": "info.next_page_token",
                **common,
            },
        }
        return {
            **super().template_values(),
            "read_fields": ",".join(self.read_fields),
            "paging": styles[self.paging],
        }
