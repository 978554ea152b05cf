"""A Kingdee K3 Cloud WebAPI for respx, answering as the real one does: ValidateUser sets the session
cookies (`kdservice-sessionid`, `ASP.NET_SessionId`) and answers `LoginResultType: 1`; ExecuteBillQuery
takes `{"data": {FormId, FieldKeys, FilterString, OrderString, StartRow, Limit}}` and answers an array
of rows, each an array of values in FieldKeys order (ids as numbers, dates as zone-less local text,
amounts as decimals); a request without the session, or an unknown field, gets the error object
wrapped where the rows would be (`[[{"Result": {"ResponseStatus": …}}]]`), in an HTTP 200."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

BASE = "https://erp.example.cn/K3Cloud"
SERVICE = "Kingdee.BOS.WebApi.ServicesStub"
LOGIN = f"{BASE}/{SERVICE}.AuthService.ValidateUser.common.kdsvc"
QUERY = f"{BASE}/{SERVICE}.DynamicFormService.ExecuteBillQuery.common.kdsvc"


def error(message: str, code: int) -> list[list[dict[str, Any]]]:
    status = {
        "ErrorCode": 500,
        "IsSuccess": False,
        "Errors": [{"FieldName": None, "Message": message, "DIndex": 0}],
        "SuccessEntitys": [],
        "SuccessMessages": [],
        "MsgCode": code,
    }
    return [[{"Result": {"ResponseStatus": status}}]]


class FakeKingdee:
    def __init__(self, password: str = "kd-pw-7781") -> None:
        self.password = password
        self.forms: dict[str, list[dict[str, Any]]] = {}
        self.queries: list[dict[str, Any]] = []
        self.logins = 0
        self.sessions: set[str] = set()
        self.throttle_next = 0  # answer 503 (IIS busy) this many times first
        self.between: Any = None  # called with the number of queries answered

    def put(self, form: str, *rows: dict[str, Any]) -> None:
        kept = self.forms.setdefault(form, [])
        for item in rows:
            key = (item.get("FID"), item.get("FEntity_FEntryID"), item.get("FEntityDetail_FEntryID"))
            kept[:] = [
                r
                for r in kept
                if (r.get("FID"), r.get("FEntity_FEntryID"), r.get("FEntityDetail_FEntryID")) != key
            ]
            kept.append(item)

    def expire_sessions(self) -> None:
        self.sessions.clear()

    def login(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body.get("password") != self.password or not body.get("acctID"):
            return httpx.Response(200, json={"LoginResultType": 0, "Message": "用户名或密码错误！"})
        self.logins += 1
        sid = f"sid-{self.logins:04d}"
        self.sessions.add(sid)
        headers = [
            ("Set-Cookie", f"kdservice-sessionid={sid}; path=/"),
            ("Set-Cookie", f"ASP.NET_SessionId=asp{self.logins}; path=/; HttpOnly"),
        ]
        answer = {
            "LoginResultType": 1,
            "IsSuccessByAPI": True,
            "Message": None,
            "Context": {"UserId": 100008, "UserName": body.get("username")},
        }
        return httpx.Response(200, json=answer, headers=headers)

    def query(self, request: httpx.Request) -> httpx.Response:
        if self.throttle_next:
            self.throttle_next -= 1
            return httpx.Response(503, text="<html>Service Unavailable</html>", headers={"Retry-After": "0"})
        cookie = request.headers.get("Cookie", "")
        found = re.search(r"kdservice-sessionid=([^;]+)", cookie)
        if found is None or found.group(1) not in self.sessions:
            return httpx.Response(200, json=error("会话信息已丢失，请重新登录", 1))
        data = json.loads(request.content)["data"]
        self.queries.append(data)
        keys = [k.strip() for k in data["FieldKeys"].split(",")]
        rows = self.forms.get(data["FormId"])
        if rows is None:
            return httpx.Response(
                200, json=error(f"标识为“{data['FormId']}”的业务对象不存在，或者被删除。", 4)
            )
        unknown = [k for k in keys if rows and k not in rows[0]]
        if unknown:
            return httpx.Response(200, json=error(f"元数据中标识为{unknown[0]}的字段不存在", 9))
        chosen = [r for r in rows if _matches(r, data.get("FilterString", ""))]
        chosen.sort(key=lambda r: (r["FModifyDate"], r["FID"], r.get("FEntity_FEntryID", 0)))
        start, limit = int(data.get("StartRow", 0)), int(data.get("Limit", 2000))
        answer = httpx.Response(200, json=[[r[k] for k in keys] for r in chosen[start : start + limit]])
        if self.between is not None:
            self.between(len(self.queries))
        return answer


def _matches(item: dict[str, Any], filter_string: str) -> bool:
    """The one filter form the preset sends: `FModifyDate >= 'yyyy-MM-dd HH:mm:ss'`, maybe `and`-ed
    with a company's own condition on a text field (`FSaleOrgId.FNumber = '100'`)."""
    for part in re.split(r"\s+and\s+", filter_string, flags=re.I) if filter_string.strip() else []:
        part = part.strip().strip("()")
        found = re.fullmatch(r"(\S+)\s*(>=|=)\s*'([^']*)'", part)
        if found is None:
            raise AssertionError(f"filter not in this fake: {part!r}")
        field, op, value = found.groups()
        if op == ">=":
            if item[field].replace("T", " ")[:19] < value:
                return False
        elif str(item.get(field)) != value:
            return False
    return True


def sales_order(
    number: int,
    modified: str,
    document: str = "C",
    close: str = "A",
    cancel: str = "A",
    amount: float = 1130.0,
) -> dict[str, Any]:
    return {
        "FID": 100000 + number,
        "FBillNo": f"XSDD{number:06d}",
        "FDate": modified[:10] + "T00:00:00",
        "FDocumentStatus": document,
        "FCloseStatus": close,
        "FCancelStatus": cancel,
        "FModifyDate": modified,
        "FBillAllAmount": amount,
        "FSaleOrgId.FNumber": "100",
    }
