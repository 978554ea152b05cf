"""Settings of `type: salesforce`: OAuth with a refresh token, then one SOQL query of the orders changed
since the cursor (SystemModstamp), sorted by it, followed through `nextRecordsUrl` until `done`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr

from orderbridge.connectors.presets.base import DeclarativePreset


class SalesforceSettings(DeclarativePreset):
    type: Literal["salesforce"] = Field(default="salesforce", description="Salesforce orders (SOQL).")
    token_url: str = Field(
        default="https://login.salesforce.com/services/oauth2/token",
        description="Token endpoint: login.salesforce.com, test.salesforce.com for a sandbox, or your My "
        "Domain's /services/oauth2/token.",
    )
    client_id: str = Field(description="Consumer key of the connected app.")
    client_secret: SecretStr = Field(description="Consumer secret of the connected app.")
    refresh_token: SecretStr = Field(
        description="Refresh token of the integration user, granted with the `api` and `refresh_token` "
        "scopes."
    )
    api_version: str = Field(default="v60.0", description="REST API version in the path.")
    object: str = Field(
        default="Order", description="The object holding the orders (Order, or a custom one)."
    )
    read_fields: list[str] = Field(
        default_factory=lambda: [
            "Id",
            "OrderNumber",
            "Status",
            "StatusCode",
            "PoNumber",
            "TotalAmount",
            "EffectiveDate",
            "LastModifiedDate",
            "SystemModstamp",
        ],
        description="Fields the query selects; add your custom picklists (Fulfillment_Status__c) here.",
    )
    where: str | None = Field(
        default=None,
        description="An extra SOQL condition, e.g. \"RecordType.DeveloperName = 'B2B'\"; the query keeps "
        "its own filter on SystemModstamp.",
    )
    page_size: int = Field(
        default=2000, ge=200, le=2000, description="Records per batch (Sforce-Query-Options batchSize)."
    )

    def template_values(self) -> dict[str, Any]:
        return {
            **super().template_values(),
            "read_fields": ", ".join(self.read_fields),
            "where": f" AND ({self.where})" if self.where else "",
        }
