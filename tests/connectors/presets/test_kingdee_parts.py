"""Kingdee's vendor parts on answers shaped like the recorded ones: LoginBySign's sorted SHA-256 sign
and its session header, renewed when an ExecuteBillQuery answer says the session is lost inside an
HTTP 200; the SDK's signed headers; ExecuteBillQuery's arrays of values read in FieldKeys order; and
the composite status table of the order and its child documents."""

from __future__ import annotations

import base64
import codecs
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from orderbridge.connectors.auth import TOKENS
from orderbridge.connectors.base import SourceError, build_record
from orderbridge.connectors.http import HttpApi
from orderbridge.connectors.presets.kingdee.auth import client_secret, session_lost
from orderbridge.connectors.presets.kingdee.settings import KingdeeSettings
from orderbridge.connectors.rest.settings import RestSettings
from orderbridge.connectors.rows import ArrayRows, BadRow, ColumnarRows, row_shape
from orderbridge.mapping.model import Dimension
from orderbridge.mapping.status import map_statuses

BASE = "https://erp.example.cn/K3Cloud"
SERVICE = "Kingdee.BOS.WebApi.ServicesStub"
QUERY = f"{BASE}/{SERVICE}.DynamicFormService.ExecuteBillQuery.common.kdsvc"
SIGN_LOGIN = f"{BASE}/{SERVICE}.AuthService.LoginBySign.common.kdsvc"
SECRET = "b6c1a9d0f2e34c5d8a7b9e0f1a2b3c4d"


def status_of(message: str, code: int) -> dict[str, Any]:
    return {
        "Result": {
            "ResponseStatus": {
                "ErrorCode": 500,
                "IsSuccess": False,
                "Errors": [{"FieldName": None, "Message": message, "DIndex": 0}],
                "SuccessEntitys": [],
                "SuccessMessages": [],
                "MsgCode": code,
            }
        }
    }


LOST = status_of("会话信息已丢失，请重新登录", 1)
NO_FIELD = status_of("元数据中标识为FNoSuchField的字段不存在", 9)


@pytest.fixture(autouse=True)
def _fresh_tokens() -> Iterator[None]:
    TOKENS.clear()
    yield
    TOKENS.clear()


def api(auth_block: dict[str, Any]) -> HttpApi:
    block = {
        "type": "rest",
        "base_url": BASE,
        "auth": auth_block,
        "list": {"path": "/x", "method": "POST", "body": {}},
        "retry": {"attempts": 1},
    }
    return HttpApi.from_settings("erp", RestSettings.model_validate(block))


SIGNED = {
    "type": "kingdee_signed",
    "acct_id": "62a1b2c3d4e5f6",
    "username": "api",
    "app_id": "301234_5d9A6b7C8d",
    "app_secret": SECRET,
}


def test_session_lost_is_recognised_in_every_shape_kingdee_answers_with() -> None:
    """MsgCode 1 under Result, at the top, and wrapped where ExecuteBillQuery puts rows; a business
    error (MsgCode 9) and rows of values are not a lost session."""
    assert session_lost(LOST)
    assert session_lost([[LOST]])
    assert session_lost({"ResponseStatus": LOST["Result"]["ResponseStatus"]})
    assert not session_lost([[NO_FIELD]])
    assert not session_lost([["100001", "XSDD000123"]])
    assert not session_lost({"Result": {"ResponseStatus": None}})


def test_login_by_sign_sends_the_sorted_sign_and_replays_the_session_header() -> None:
    """The login posts [acct, user, app id, timestamp, sign, lcid] where sign is the SHA-256 of the
    five values sorted and joined; the KDSVCSessionId goes out as kdservice-sessionid; a lost session
    reported inside a 200 logs in again once."""
    with respx.mock(assert_all_called=True) as router:
        login = router.post(SIGN_LOGIN)
        login.side_effect = [
            httpx.Response(200, json={"LoginResultType": 1, "KDSVCSessionId": sid, "Message": None})
            for sid in ("sid-first-1", "sid-second-2")
        ]
        bills = router.post(QUERY)
        bills.side_effect = [httpx.Response(200, json=[[LOST]]), httpx.Response(200, json=[["1", "XSDD1"]])]
        made = api(SIGNED)
        assert made.fetch("POST", QUERY, json={"data": {}}) == [["1", "XSDD1"]]
    sent = json.loads(login.calls[0].request.content)["parameters"]
    acct, user, app, stamp, sign, lcid = sent
    assert (acct, user, app, lcid) == ("62a1b2c3d4e5f6", "api", "301234_5d9A6b7C8d", 2052)
    joined = "".join(sorted([acct, user, app, SECRET, stamp]))
    assert sign == hashlib.sha256(joined.encode()).hexdigest()
    assert [c.request.headers["kdservice-sessionid"] for c in bills.calls] == ["sid-first-1", "sid-second-2"]


def test_a_refused_signed_login_fails_with_a_hint_and_never_the_secret() -> None:
    """LoginResultType 0 in an HTTP 200 is a failure naming what to check; the secret is not shown
    even when the source echoes it."""
    with respx.mock() as router:
        router.post(SIGN_LOGIN).respond(
            json={"LoginResultType": 0, "Message": f"签名错误 {SECRET}", "MessageCode": "xx"}
        )
        with pytest.raises(SourceError) as caught:
            api(SIGNED).fetch("POST", QUERY, json={})
    assert "check acct_id, username, app_id, app_secret" in str(caught.value)
    assert SECRET not in str(caught.value)


def scrambled_app_id(client: str, plain_secret: bytes) -> str:
    """An app id as Kingdee issues it: the client secret XOR-ed with the SDK's key, base64."""
    blocks = "0054s397p6234378o09pn7q3r5qropr7"
    key = codecs.encode(blocks, "rot13").encode()
    hidden = base64.b64encode(bytes(b ^ key[i] for i, b in enumerate(plain_secret))).decode()
    assert len(hidden) == 32
    return f"{client}_{hidden}"


def test_sdk_headers_are_signed_with_the_secret_hidden_in_the_app_id() -> None:
    """X-Api-Signature signs the method, the encoded path, nonce and timestamp with the client secret
    taken out of the app id; X-Kd-Signature signs app id + app data with the app secret; both are
    base64 of the hex HMAC, and none of the secrets shows in an error."""
    plain = bytes(range(40, 64))  # 24 bytes: 32 base64 characters
    app_id = scrambled_app_id("301234", plain)
    assert client_secret(app_id) == ("301234", base64.b64encode(plain).decode())
    block = {
        "type": "kingdee_sdk",
        "acct_id": "62a1",
        "username": "api",
        "app_id": app_id,
        "app_secret": SECRET,
    }
    with respx.mock() as router:
        route = router.post(QUERY)
        route.side_effect = [httpx.Response(200, json=[["1"]]), httpx.Response(500, text=f"echo {SECRET}")]
        made = api(block)
        assert made.fetch("POST", QUERY, json={"data": {}}) == [["1"]]
        with pytest.raises(SourceError) as caught:
            made.fetch("POST", QUERY, json={})
    headers = route.calls[0].request.headers
    stamp = headers["x-api-timestamp"]
    path = "%2FK3Cloud%2F" + f"{SERVICE}.DynamicFormService.ExecuteBillQuery.common.kdsvc"
    text = f"POST\n{path}\n\nx-api-nonce:{headers['x-api-nonce']}\nx-api-timestamp:{stamp}\n"

    def signed(message: str, key: str) -> str:
        return base64.b64encode(
            hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest().encode()
        ).decode()

    assert headers["X-Api-ClientID"] == "301234"
    assert headers["X-Api-Signature"] == signed(text, base64.b64encode(plain).decode())
    assert base64.b64decode(headers["X-Kd-Appdata"]).decode() == "62a1,api,2052,0"
    assert headers["X-Kd-Signature"] == signed(app_id + "62a1,api,2052,0", SECRET)
    assert SECRET not in str(caught.value) and app_id not in str(caught.value)


FIELD_KEYS = "FID,FBillNo,FDocumentStatus,FCloseStatus,FCancelStatus,FModifyDate,FBillAllAmount"


def test_execute_bill_query_rows_are_read_in_field_key_order_and_a_short_row_is_refused() -> None:
    """Rows are arrays in FieldKeys order; a row with a missing value is a BadRow saying so, the rest
    of the page is read."""
    shape = row_shape(ArrayRows.settings_model.model_validate({"shape": "arrays", "columns": FIELD_KEYS}))
    rows = [
        [100001, "XSDD000123", "C", "A", "A", "2026-11-20T10:15:30.497", "1130.00"],
        [100002, "XSDD000124", "C", "A"],
    ]
    first, second = shape.decode(rows, rows)
    assert first == {
        "FID": 100001,
        "FBillNo": "XSDD000123",
        "FDocumentStatus": "C",
        "FCloseStatus": "A",
        "FCancelStatus": "A",
        "FModifyDate": "2026-11-20T10:15:30.497",
        "FBillAllAmount": "1130.00",
    }
    assert isinstance(second, BadRow) and "4 values for 7 columns" in second.reason


def test_columnar_rows_take_their_names_from_the_answer() -> None:
    """Chanjet T+ style: the answer names the columns beside the rows; without them every row is a
    BadRow rather than a guess."""
    shape = row_shape(
        ColumnarRows.settings_model.model_validate({"shape": "columnar", "columns": "data.Columns"})
    )
    body = {"code": "0", "data": {"Columns": ["ID", "Code"], "Rows": [["7", "SO-2024-0001"]]}}
    assert shape.decode(body["data"]["Rows"], body) == [{"ID": "7", "Code": "SO-2024-0001"}]
    assert isinstance(shape.decode([["7"]], {"data": {}})[0], BadRow)


ORDER_SETTINGS = KingdeeSettings.model_validate(
    {"type": "kingdee", "base_url": BASE, "acct_id": "62a1", "username": "api", "password": "kd-pw-7781"}
)
CHILD = {name: ORDER_SETTINGS.rest().child(name).status for name in ("outbound", "receivable")}


@pytest.mark.parametrize(
    ("document", "close", "cancel", "expected"),
    [
        ("Z", "A", "A", "placed"),
        ("A", "A", "A", "placed"),
        ("B", "A", "A", "placed"),
        ("C", "A", "A", "approved"),
        ("D", "A", "A", "placed"),
        ("C", "B", "A", "closed"),
        ("C", "B", "B", "cancelled"),
        ("A", "A", "B", "cancelled"),
        ("X", "A", "A", "unmapped"),
    ],
)
def test_order_status_is_the_first_matching_rule_over_three_fields(
    document: str, close: str, cancel: str, expected: str
) -> None:
    """Voided before closed before approval; a letter nobody mapped is unmapped, never a guess."""
    row = {
        "FID": 1,
        "FBillNo": "XSDD1",
        "FDocumentStatus": document,
        "FCloseStatus": close,
        "FCancelStatus": cancel,
        "FModifyDate": "2026-11-20T10:15:30.497",
        "FBillAllAmount": "1130.00",
    }
    record = build_record("erp", row, ORDER_SETTINGS)
    found = map_statuses(ORDER_SETTINGS.status, record.native_status)
    assert found[Dimension.fulfillment].status == expected


def test_kingdee_local_time_is_shanghai_and_money_strings_are_exact() -> None:
    """FModifyDate comes without a zone (server local time, China): read in the system's zone; the
    amount, a string, stays an exact decimal."""
    row = {
        "FID": 1,
        "FBillNo": "XSDD1",
        "FDocumentStatus": "C",
        "FCloseStatus": "A",
        "FCancelStatus": "A",
        "FModifyDate": "2026-11-20T10:15:30.497",
        "FBillAllAmount": "1130.10",
    }
    record = build_record("erp", row, ORDER_SETTINGS)
    assert record.status_at is not None and record.status_at.isoformat() == "2026-11-20T10:15:30.497000+08:00"
    assert str(record.amounts.order) == "1130.10"


@pytest.mark.parametrize(
    ("child", "dimension", "document", "cancel", "expected"),
    [
        ("outbound", Dimension.fulfillment, "C", "A", "shipped"),
        ("outbound", Dimension.fulfillment, "B", "A", "preparing"),
        ("outbound", Dimension.fulfillment, "C", "B", None),
        ("receivable", Dimension.billing, "C", "A", "invoiced"),
        ("receivable", Dimension.billing, "A", "A", "unbilled"),
        ("receivable", Dimension.billing, "C", "B", None),
    ],
)
def test_child_documents_say_shipped_or_invoiced_once_approved_and_nothing_when_voided(
    child: str, dimension: Dimension, document: str, cancel: str, expected: str | None
) -> None:
    """An approved outbound document is a shipment, an approved receivable an invoice; a voided one
    says nothing on its dimension instead of cancelling the order."""
    found = map_statuses(CHILD[child], {"FDocumentStatus": document, "FCancelStatus": cancel})
    assert (found[dimension].status if dimension in found else None) == expected
