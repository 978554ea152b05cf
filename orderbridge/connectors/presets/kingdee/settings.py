"""Settings of `type: kingdee`: the K3 Cloud site, the data centre and user, and a password or an
application's id and secret. The listing is declared in preset.yaml; here are the parts that depend on
which credentials were given (the login generation), the company's own filter, and which child
listings are read."""

from __future__ import annotations

import copy
from typing import Annotated, Any, Literal

from pydantic import Field, HttpUrl, SecretStr, model_validator

from orderbridge.config.types import SentToSource
from orderbridge.connectors.auth_settings import AuthSettings, LoginSettings
from orderbridge.connectors.presets.base import DeclarativePreset
from orderbridge.connectors.presets.kingdee.auth_settings import (
    SERVICE,
    KingdeeSdkSettings,
    KingdeeSignedSettings,
)
from orderbridge.connectors.rest.settings import ListSettings, RestSettings

VALIDATE_USER = f"/{SERVICE}.AuthService.ValidateUser.common.kdsvc"
CHILDREN = ("outbound", "receivable")
Login = Literal["password", "signed", "sdk"]


class KingdeeSettings(DeclarativePreset):
    type: Literal["kingdee"] = Field(
        default="kingdee", description="Kingdee K3 Cloud / 金蝶云星空 sales orders."
    )
    base_url: HttpUrl = Field(
        description="The K3 Cloud site ending in /K3Cloud, e.g. https://erp.example.cn/K3Cloud or "
        "https://<tenant>.ik3cloud.com/K3Cloud.",
    )
    acct_id: str = Field(description="The data centre id (数据中心 ID / 账套 ID), not its name.")
    username: str = Field(description="The K3 Cloud user the integration logs in as (view rights suffice).")
    password: SecretStr | None = Field(default=None, description="That user's password (ValidateUser login).")
    app_id: str | None = Field(
        default=None, description="Third-party application id (第三方系统登录授权: 应用 ID)."
    )
    app_secret: SecretStr | None = Field(default=None, description="The application's secret (应用密钥).")
    login: Login | None = Field(
        default=None,
        description="How to log in: password (ValidateUser), signed (LoginBySign with app_id and "
        "app_secret) or sdk (the official SDK's signed headers). Default: password when `password` is "
        "set, else signed.",
    )
    lcid: int = Field(default=2052, description="Language id: 2052 simplified Chinese, 1033 English.")
    org_num: str = Field(default="0", description="(login: sdk) The organisation number the SDK sends.")
    form: str = Field(default="SAL_SaleOrder", description="The form holding the orders (FormId).")
    field_keys: list[str] = Field(
        default_factory=lambda: [
            "FID",
            "FBillNo",
            "FDocumentStatus",
            "FCloseStatus",
            "FCancelStatus",
            "FModifyDate",
            "FBillAllAmount",
        ],
        description="Header fields asked for (FieldKeys); add your own (F_xxx, FCustId.FNumber) to use "
        "them in `fields` or `status`. Entry fields would give one row per line.",
    )
    filter: Annotated[str | None, SentToSource] = Field(
        default=None,
        description="Your own FilterString condition, and-ed with the FModifyDate filter, e.g. "
        "\"FSaleOrgId.FNumber = '100'\".",
    )
    page_size: int = Field(default=2000, ge=1, le=10000, description="Rows per request (Limit).")
    outbound: bool = Field(
        default=True, description="Read outbound documents (销售出库单, SAL_OUTSTOCK) as `<system>.outbound`."
    )
    outbound_order_field: str = Field(
        default="FSoorDerno", description="Field of an outbound line naming its sales order (订单单号)."
    )
    receivable: bool = Field(
        default=True, description="Read receivables (应收单, AR_receivable) as `<system>.receivable`."
    )
    receivable_order_field: str = Field(
        default="FORDERNUMBER", description="Field of a receivable line naming its sales order (销售订单号)."
    )
    timezone: str = Field(
        default="Asia/Shanghai",
        description="Zone of the K3 Cloud server: its times (FModifyDate) carry none, and the filter is "
        "written in it.",
    )

    @model_validator(mode="before")
    @classmethod
    def _one_login(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        login = data.get("login") or ("password" if data.get("password") is not None else "signed")
        wanted = ["password"] if login == "password" else ["app_id", "app_secret"]
        missing = [name for name in wanted if data.get(name) in (None, "")]
        if missing:
            given = "" if data.get("login") else " (give `password`, or `app_id` and `app_secret`)"
            raise ValueError(f"login {login} needs {' and '.join(f'`{m}`' for m in missing)}{given}")
        return data

    def login_style(self) -> Login:
        return self.login or ("password" if self.password is not None else "signed")

    def credentials(self) -> AuthSettings:
        style = self.login_style()
        if style == "password":
            return LoginSettings.model_validate(
                {
                    "type": "login",
                    "path": VALIDATE_USER,
                    "body": {"acctID": self.acct_id, "username": self.username, "lcid": self.lcid},
                    "secret_body": {"password": self.password},
                    "token": {"cookies": ["*"]},
                    "success": {"field": "LoginResultType", "values": [1]},
                    "expired_when": {"field": "0.0.Result.ResponseStatus.MsgCode", "values": [1]},
                }
            )
        account = {
            "acct_id": self.acct_id,
            "username": self.username,
            "app_id": self.app_id,
            "app_secret": self.app_secret,
            "lcid": self.lcid,
        }
        if style == "signed":
            return KingdeeSignedSettings.model_validate({"type": "kingdee_signed", **account})
        return KingdeeSdkSettings.model_validate({"type": "kingdee_sdk", **account, "org_num": self.org_num})

    def warnings(self) -> list[str]:
        # The receivable's order field matters only when receivables are read.
        unread = () if self.receivable else ("receivable_order_field",)
        return [w for w in super().warnings() if not w.startswith(unread)]

    def template_values(self) -> dict[str, Any]:
        # FieldKeys is one comma-separated text; the rows' columns read the same text.
        return {**super().template_values(), "field_keys": ",".join(self.field_keys)}

    def complete(self) -> None:
        super().complete()
        rest = self.rest()
        auth = self.credentials()
        children = {name: child for name, child in rest.children.items() if getattr(self, name)}
        self.auth = auth
        self._rest = rest.model_copy(
            update={"auth": auth, "children": children, "list": self._filtered(rest)}
        )

    def _filtered(self, rest: RestSettings) -> ListSettings:
        if not self.filter:
            return rest.list
        body = copy.deepcopy(rest.list.body)
        body["data"]["FilterString"] += f" and ({self.filter})"
        return rest.list.model_copy(update={"body": body})
