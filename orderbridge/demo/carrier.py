"""The demo's carrier: Kuaidi100 (快递100) pushing signed subscription updates about the parcels of the
story to orderbridge's webhook endpoint, as the real one would (form `param` + `sign`, China time)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx

SHANGHAI = ZoneInfo("Asia/Shanghai")

KD100_SALT_VAR = "DEMO_KD100_SALT"
DEMO_SALT = "demo-kd100-salt"
CONTEXT = {
    "0": "快件在途中，正发往下一站",
    "1": "顺丰速运 已收取快件",
    "5": "快件正在派送中",
    "3": "已签收，签收人是本人",
}


@dataclass(frozen=True)
class ParcelEvent:
    """What the carrier says about one parcel at one moment (a Kuaidi100 state code)."""

    tracking_number: str
    state: str
    at: datetime


def kuaidi100_push(event: ParcelEvent, salt: str) -> tuple[bytes, dict[str, str]]:
    """One signed push: the form body and its headers."""
    ftime = event.at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    param = json.dumps(
        {
            "status": "shutdown" if event.state == "3" else "polling",
            "billstatus": "got",
            "message": "",
            "lastResult": {
                "message": "ok",
                "state": event.state,
                "status": "200",
                "condition": "F00",
                "ischeck": "1" if event.state == "3" else "0",
                "com": "shunfeng",
                "nu": event.tracking_number,
                "data": [
                    {"context": CONTEXT.get(event.state, "快件信息更新"), "time": ftime, "ftime": ftime}
                ],
            },
        },
        ensure_ascii=False,
    )
    sign = hashlib.md5((param + salt).encode("utf-8")).hexdigest().upper()
    return urlencode({"param": param, "sign": sign}).encode(), {
        "Content-Type": "application/x-www-form-urlencoded"
    }


def push_all(url: str, events: list[ParcelEvent], salt: str) -> list[int]:
    """POST each event to `url` (orderbridge's /webhooks/<system>); the HTTP statuses answered."""
    answered = []
    with httpx.Client(timeout=30) as client:
        for event in events:
            body, headers = kuaidi100_push(event, salt)
            answered.append(client.post(url, content=body, headers=headers).status_code)
    return answered
