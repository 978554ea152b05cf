"""What a `type: kingdee` block means as a REST listing: the login its credentials call for, the
ExecuteBillQuery bodies (header fields, the FModifyDate filter, the order, StartRow/Limit inside
`data`), rows read in FieldKeys order, the errors Kingdee reports inside an HTTP 200, and the child
listings of outbound documents and receivables with their own cursors."""

from __future__ import annotations

from typing import Any

from orderbridge.connectors.kingdee import statuses
from orderbridge.connectors.kingdee.auth_settings import SERVICE

QUERY = f"/{SERVICE}.DynamicFormService.ExecuteBillQuery.common.kdsvc"
VALIDATE_USER = f"/{SERVICE}.AuthService.ValidateUser.common.kdsvc"
# Kingdee writes FModifyDate as local text without a zone; the filter takes it the same way.
CURSOR_FORMAT = "%Y-%m-%d %H:%M:%S"
# Where ExecuteBillQuery puts its ResponseStatus instead of rows, and the other shapes of Kingdee's
# answers (under Result, at the top): each is an error unless IsSuccess is true.
STATUS_PATHS = ("0.0.Result.ResponseStatus", "Result.ResponseStatus", "ResponseStatus")

ORDER_FIELDS = {
    "record_id": "FID",
    "updated": "FModifyDate",
    "order_amount": "FBillAllAmount",
}
OUTBOUND_FIELDS = {"record_id": "FEntity_FEntryID", "updated": "FModifyDate", "shipped_qty": "FRealQty"}
RECEIVABLE_FIELDS = {"record_id": "FEntityDetail_FEntryID", "updated": "FModifyDate"}
STATUS_KEYS = [statuses.DOCUMENT, statuses.CLOSE, statuses.CANCEL]


def auth_block(
    login: str,
    *,
    acct_id: str,
    username: str,
    lcid: int,
    org_num: str,
    password: Any,
    app_id: Any,
    app_secret: Any,
) -> dict[str, Any]:
    """The auth style of one login generation: ValidateUser with a password (session cookies),
    LoginBySign, or the SDK's signed headers."""
    if login == "password":
        return {
            "type": "login",
            "path": VALIDATE_USER,
            "body": {"acctID": acct_id, "username": username, "lcid": lcid},
            "secret_body": {"password": password},
            "token": {"cookies": ["*"]},
            "success": {"field": "LoginResultType", "values": [1]},
            "expired_when": {"field": "0.0.Result.ResponseStatus.MsgCode", "values": [1]},
        }
    common = {
        "acct_id": acct_id,
        "username": username,
        "app_id": app_id,
        "app_secret": app_secret,
        "lcid": lcid,
    }
    if login == "signed":
        return {"type": "kingdee_signed", **common}
    return {"type": "kingdee_sdk", **common, "org_num": org_num}


def errors_block() -> list[dict[str, Any]]:
    return [
        {"type": "body", "field": f"{path}.IsSuccess", "ok": [True], "message": f"{path}.Errors.0.Message"}
        for path in STATUS_PATHS
    ]


def listing(form: str, keys: list[str], *, page_size: int, filter_: str | None) -> dict[str, Any]:
    """One ExecuteBillQuery listing, paged by StartRow inside `data` and driven by FModifyDate."""
    condition = "FModifyDate >= '{cursor}'" + (f" and ({filter_})" if filter_ else "")
    return {
        "path": QUERY,
        "method": "POST",
        "body": {
            "data": {
                "FormId": form,
                "FieldKeys": ",".join(keys),
                "FilterString": condition,
                "OrderString": "FModifyDate ASC, FID ASC",
                "TopRowCount": 0,
            }
        },
        "rows": {"shape": "arrays", "columns": keys},
        "paging": {
            "style": "offset",
            "param": "data.StartRow",
            "size_param": "data.Limit",
            "size": page_size,
            "param_in": "body",
            "overlap": 0,
        },
    }


def cursor_block(timezone: str, overlap: str = "5m") -> dict[str, Any]:
    """FModifyDate, written in the server's own zone: Kingdee compares the filter's text with its local
    times."""
    return {
        "field": "FModifyDate",
        "sorted": True,
        "overlap": overlap,
        "format": CURSOR_FORMAT,
        "timezone": timezone,
    }


def _keys(fields: dict[str, str], *more: str) -> list[str]:
    keys: list[str] = []
    for key in [*fields.values(), *more]:
        if key not in keys:
            keys.append(key)
    return keys


def child_block(
    form: str, order_field: str, fields: dict[str, str], tables: list[Any], *, page_size: int, timezone: str
) -> dict[str, Any]:
    keys = _keys(fields, order_field, statuses.DOCUMENT, statuses.CANCEL, "FID")
    return {
        "list": listing(form, keys, page_size=page_size, filter_=None),
        "cursor": cursor_block(timezone),
        "order_field": order_field,
        "fields": fields,
        "status": [t.model_dump(by_alias=True, exclude_none=True) for t in tables],
    }


def order_keys(order_field: str, fields: dict[str, str]) -> list[str]:
    return _keys(fields, order_field, *STATUS_KEYS)
