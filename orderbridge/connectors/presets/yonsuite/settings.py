"""Settings of `type: yonsuite`: a self-built app's access token (getAccessToken signed with
HMAC-SHA256 of appKey and a timestamp under the app secret, sent as the access_token parameter), then
the sales-order list (POST /yonbip/sd/voucherorder/list) asked by its row timestamp `pubts`, paged by
pageIndex/pageSize inside the JSON body, errors read from the answer's `code`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from orderbridge.connectors.budget import BudgetSettings
from orderbridge.connectors.presets.base import DeclarativePreset


class YonSuiteSettings(DeclarativePreset):
    type: Literal["yonsuite"] = Field(
        default="yonsuite", description="Yonyou YonSuite / YonBIP sales orders."
    )
    app_key: SecretStr = Field(description="The self-built app's appKey (开放平台 > 自建应用).")
    app_secret: SecretStr = Field(description="The self-built app's appSecret.")
    token_url: str = Field(
        default="/iuap-api-auth/open-auth/selfAppAuth/base/v1/getAccessToken",
        description="The token endpoint: the tenant's tokenUrl (from getGatewayAddress) followed by "
        "/open-auth/selfAppAuth/base/v1/getAccessToken, or a path on base_url's host.",
    )
    page_size: int = Field(default=100, ge=1, le=500, description="Orders per page (pageSize, at most 500).")
    timezone: str = Field(
        default="Asia/Shanghai", description="Zone of the times YonSuite writes without one (pubts)."
    )
    budget: BudgetSettings | None = Field(
        default_factory=lambda: BudgetSettings(per_minute=60),
        description="Requests per minute kept to: the sales-order list's free quota is 60 calls a "
        "minute from 2026-03-31.",
    )
