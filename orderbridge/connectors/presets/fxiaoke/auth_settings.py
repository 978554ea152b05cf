"""Settings of Fxiaoke's corpAccessToken auth style."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class FxiaokeTokenSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["fxiaoke"] = Field(
        description="Fxiaoke corpAccessToken: fetched with the app's credentials, cached, and sent with "
        "corpId and the operator's open user id inside every JSON body."
    )
    app_id: str = Field(description="The app id (FSAID_…).")
    app_secret: SecretStr = Field(description="The app secret.")
    permanent_code: SecretStr = Field(description="The company's permanent authorisation code.")
    open_user_id: str = Field(
        description="currentOpenUserId (FSUID_…): the operator whose data permissions apply."
    )
    token_path: str = Field(
        default="/cgi/corpAccessToken/get/V2", description="The token service below base_url."
    )
