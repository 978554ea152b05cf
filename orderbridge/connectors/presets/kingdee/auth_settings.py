"""Settings of Kingdee's own auth styles (the password login is the generic `login` style)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

SERVICE = "Kingdee.BOS.WebApi.ServicesStub"
LOGIN_BY_SIGN = f"/{SERVICE}.AuthService.LoginBySign.common.kdsvc"


class KingdeeAccount(BaseModel):
    """Who logs in: the data centre (账套), the user, the language."""

    model_config = ConfigDict(extra="forbid")

    acct_id: str = Field(description="The data centre id (账套 ID, acctID).")
    username: str = Field(description="The K3 Cloud user the integration logs in as.")
    app_id: str = Field(description="The third-party application id (第三方系统登录授权: 应用 ID).")
    app_secret: SecretStr = Field(description="The application secret (应用密钥).")
    lcid: int = Field(default=2052, description="Language id: 2052 simplified Chinese, 1033 English.")


class KingdeeSignedSettings(KingdeeAccount):
    type: Literal["kingdee_signed"] = Field(
        description="Kingdee LoginBySign: a signed login, then its KDSVCSessionId on every request."
    )
    path: str = Field(default=LOGIN_BY_SIGN, description="The login service below base_url.")


class KingdeeSdkSettings(KingdeeAccount):
    type: Literal["kingdee_sdk"] = Field(
        description="Kingdee's SDK scheme (k3cloud_webapi_sdk 7.x/8.x): every request signed with "
        "HMAC-SHA256 headers, no login request."
    )
    org_num: str = Field(default="0", description="The organisation number the SDK sends (0: none).")
