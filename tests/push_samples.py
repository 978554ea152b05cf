"""Signed pushes shaped like each provider's documented payloads (carriers.md, source-systems.md), with
their traps: zone-less local times, null vs absent, money as strings, newest-first histories, statuses
that live only in a sub-status. Shared by the parser tests and the endpoint tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from orderbridge.connectors.push.request import PushRequest
from orderbridge.mapping.model import Dimension

SECRET = "wh-secret-0123456789"
TOKEN = "tok-" + "a1b2c3d4e5f6a7b8c9d0"
EASYPOST_FIXTURE = Path(__file__).parent / "fixtures" / "easypost" / "event-body.json"


@dataclass
class Sample:
    type: str
    block: dict[str, Any]
    body: bytes
    headers: dict[str, str]
    dimension: Dimension
    status: str  # the canonical status the event should map to
    record_id: str
    order_key: str  # the order the event belongs to (by its own reference, or by its tracking number)
    status_at: datetime | None
    query: dict[str, str] = field(default_factory=dict)
    token: str | None = None
    ack: bytes | None = None  # the exact acknowledgement body the provider needs, when it needs one
    tracking: str | None = None  # a tracking number another system knows (links the parcel)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"/webhooks/{self.system}" + (f"/{self.token}" if self.token else "")

    @property
    def system(self) -> str:
        """The system's name in the config (a name starts with a letter)."""
        return {"17track": "track17", "sf_express": "sf"}.get(self.type, self.type)


def request_of(sample: Sample, body: bytes | None = None, **headers: str) -> PushRequest:
    """The sample as the endpoint hands it to its receiver."""
    merged = {k.lower(): v for k, v in {**sample.headers, **headers}.items()}
    kind, _, rest = merged.get("content-type", "").partition(";")
    charset = rest.partition("charset=")[2] or None
    return PushRequest(
        body=sample.body if body is None else body,
        headers=merged,
        query=sample.query,
        media_type=kind.strip().lower(),
        charset=charset.lower() if charset else None,
        client="127.0.0.1",
        token=sample.token,
    )


def b64_hmac(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def compact(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def aftership(
    tag: str = "Delivered",
    subtag: str = "Delivered_001",
    event_id: str = "94dadd60-ed26-46d0-aa52-3ced925a50ff",
    updated: str = "2026-11-20T02:05:00+00:00",
    number: str = "9400100000000000000001",
) -> Sample:
    body = compact(
        {
            "event": "tracking_update",
            "event_id": event_id,
            "is_tracking_first_tag": True,
            "msg": {
                "id": "00000000000000000000000000000001",
                "tracking_number": number,
                "slug": "usps",
                "tag": tag,
                "subtag": subtag,
                "subtag_message": "Delivered",
                "title": number,
                "order_number": None,
                "updated_at": updated,
                # local time without an offset: not trusted for ordering
                "checkpoints": [
                    {
                        "checkpoint_time": "2026-11-19T21:00:00",
                        "message": "Delivered",
                        "slug": "usps",
                        "tag": tag,
                        "subtag": subtag,
                    }
                ],
            },
            "ts": 1763604300,
        }
    )
    return Sample(
        "aftership",
        {"type": "aftership", "webhook": {"secret": SECRET}, "link_by": ["tracking_number"]},
        body,
        {
            "Content-Type": "application/json",
            "aftership-hmac-sha256": b64_hmac(SECRET, body),
            "as-webhook-version": "2025-01",
        },
        Dimension.shipment,
        "delivered",
        number,
        "ORD-AFTERSHIP",
        datetime(2026, 11, 20, 2, 5, tzinfo=UTC),
        tracking=number,
    )


def easypost() -> Sample:
    """EasyPost's own fixture, serialised compactly, signed with the NFKD-normalised secret "sécret"."""
    body = compact(json.loads(EASYPOST_FIXTURE.read_text(encoding="utf-8")))
    digest = hmac.new("se\u0301cret".encode(), body, hashlib.sha256).hexdigest()
    return Sample(
        "easypost",
        {"type": "easypost", "webhook": {"secret": "sécret"}},
        body,
        {"Content-Type": "application/json", "X-Hmac-Signature": f"hmac-sha256-hex={digest}"},
        Dimension.shipment,
        "in_transit",
        "1",
        "ORD-EASYPOST",
        datetime(2024, 8, 2, 19, 26, 51, tzinfo=UTC),
        tracking="1",
    )


def track17() -> Sample:
    data = {
        "event": "TRACKING_UPDATED",
        "data": {
            "number": "RR123456789CN",
            "carrier": 3011,
            "param": None,
            "tag": None,
            "track_info": {
                "latest_status": {
                    "status": "Exception",
                    "sub_status": "Exception_Returning",
                    "sub_status_descr": None,
                },
                "latest_event": {
                    "time_iso": "2026-11-20T18:00:00+08:00",
                    "time_utc": "2026-11-20T10:00:00Z",
                    "description": "Returned to sender",
                    "location": "SHANGHAI",
                    "stage": "Returning",
                    "sub_status": "Exception_Returning",
                },
                "milestone": [
                    {
                        "key_stage": "Returning",
                        "time_iso": "2026-11-20T18:00:00+08:00",
                        "time_utc": "2026-11-20T10:00:00Z",
                    }
                ],
            },
        },
    }
    body = json.dumps(data, indent=1).encode()  # whitespace is signed too
    sign = hashlib.sha256(body + b"/" + SECRET.encode()).hexdigest()
    return Sample(
        "17track",
        {"type": "17track", "webhook": {"secret": SECRET}},
        body,
        {"Content-Type": "application/json", "sign": sign},
        Dimension.shipment,
        "returning",
        "RR123456789CN",
        "ORD-17TRACK",
        datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        tracking="RR123456789CN",
    )


def kuaidi100(state: str = "301", ftime: str = "2026-11-20 18:30:00", number: str = "SF1400000042") -> Sample:
    param = json.dumps(
        {
            "status": "shutdown",
            "billstatus": "check",
            "message": "",
            "autoCheck": "0",
            "comOld": "",
            "comNew": "",
            "lastResult": {
                "message": "ok",
                "state": state,
                "status": "200",
                "condition": "F00",
                "ischeck": "1",
                "com": "shunfeng",
                "nu": number,
                "data": [  # newest first, China time without a zone
                    {
                        "context": "已签收,签收人是本人",
                        "time": ftime,
                        "ftime": ftime,
                        "status": "签收",
                        "statusCode": state,
                    },
                    {
                        "context": "快件已到达【上海浦东集散中心】",
                        "time": "2026-11-20 06:10:00",
                        "ftime": "2026-11-20 06:10:00",
                        "status": "在途",
                        "statusCode": "0",
                    },
                ],
            },
        },
        ensure_ascii=False,
    )
    sign = hashlib.md5((param + SECRET).encode()).hexdigest().upper()
    body = urlencode({"param": param, "sign": sign}).encode()
    return Sample(
        "kuaidi100",
        {"type": "kuaidi100", "webhook": {"secret": SECRET}, "order_param": "orderId"},
        body,
        {"Content-Type": "application/x-www-form-urlencoded"},
        Dimension.shipment,
        "delivered",
        number,
        "SO-42",
        datetime(2026, 11, 20, 10, 30, tzinfo=UTC),
        query={"orderId": "SO-42"},
        ack='{"result":true,"returnCode":"200","message":"成功"}'.encode(),
    )


def sf_express() -> Sample:
    body = compact(
        {
            "Body": {
                "WaybillRoute": [  # two nodes of one waybill in one push, newest first
                    {
                        "id": "route-2",
                        "mailno": "SF1400000077",
                        "orderid": "SO-2026-0077",
                        "acceptTime": "2026-11-20 20:15:00",
                        "acceptAddress": "上海市",
                        "remark": "已签收",
                        "opCode": "80",
                    },
                    {
                        "id": "route-1",
                        "mailno": "SF1400000077",
                        "orderid": "SO-2026-0077",
                        "acceptTime": "2026-11-20 09:00:00",
                        "acceptAddress": "深圳市",
                        "remark": "顺丰速运 已收取快件",
                        "opCode": "50",
                    },
                ]
            }
        }
    )
    return Sample(
        "sf_express",
        {"type": "sf_express", "webhook": {"path_token": TOKEN}},
        body,
        {"Content-Type": "application/json;charset=UTF-8"},
        Dimension.shipment,
        "delivered",
        "SF1400000077",
        "SO-2026-0077",
        datetime(2026, 11, 20, 12, 15, tzinfo=UTC),
        token=TOKEN,
        ack='{"return_code":"0000","return_msg":"成功"}'.encode(),
    )


def cainiao_digest(content: str, secret: str = SECRET) -> str:
    return base64.b64encode(hashlib.md5((content + secret).encode()).digest()).decode()


def cainiao() -> Sample:
    content = json.dumps(
        [
            {
                "cpCode": "YTO",
                "mailNo": "YT7100000000001",
                "logisticsStatus": "SIGN",
                "logisticsStatusDesc": "已签收",
                "lastLogisticDetail": "您的快件已签收",
                "logisticsGmtModified": "2026-11-20 12:00:00",
                "city": "杭州市",
                "bizKey": "BK1",
                "outerOrderCode": None,
            }
        ],
        ensure_ascii=False,
    )
    body = urlencode(
        {
            "logistics_interface": content,
            "data_digest": cainiao_digest(content),
            "msg_type": "LOGISTICS_TRACE",
            "logistic_provider_id": "YTO",
            "msg_id": "msg-0001",
        }
    ).encode()
    return Sample(
        "cainiao",
        {"type": "cainiao", "webhook": {"secret": SECRET}},
        body,
        {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
        Dimension.shipment,
        "delivered",
        "YT7100000000001",
        "ORD-CAINIAO",
        datetime(2026, 11, 20, 4, 0, tzinfo=UTC),
        ack=b'{"success":"true"}',
        tracking="YT7100000000001",
    )


def shippo(now: float | None = None) -> Sample:
    body = compact(
        {
            "event": "track_updated",
            "test": False,
            "data": {
                "carrier": "usps",
                "tracking_number": "9205590164917312751089",
                "eta": "2026-11-21T00:00:00Z",
                "metadata": None,
                "tracking_status": {  # out for delivery exists only as a substatus of TRANSIT
                    "status": "TRANSIT",
                    "status_details": "Out for delivery",
                    "status_date": "2026-11-20T09:00:00Z",
                    "substatus": {
                        "code": "out_for_delivery",
                        "text": "Out for delivery",
                        "action_required": False,
                    },
                    "object_id": "obj-1",
                },
                "tracking_history": [],
            },
        }
    )
    stamp = str(int(now if now is not None else time.time()))
    v1 = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return Sample(
        "shippo",
        {"type": "shippo", "webhook": {"secret": SECRET}},
        body,
        {"Content-Type": "application/json", "Shippo-Auth-Signature": f"t={stamp},v1={v1}"},
        Dimension.shipment,
        "out_for_delivery",
        "9205590164917312751089",
        "ORD-SHIPPO",
        datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        tracking="9205590164917312751089",
    )


def karrio() -> Sample:
    body = compact(
        {
            "event": "tracker_updated",
            "data": {
                "id": "trk_abc123",
                "tracking_number": "1Z999AA10123456784",
                "carrier_name": "ups",
                "status": "in_transit",
                "estimated_delivery": "2026-11-22",
                "events": [  # newest first; date and time without a zone
                    {
                        "date": "2026-11-20",
                        "time": "14:30",
                        "description": "Departed facility",
                        "location": "Memphis, TN",
                        "code": "DP",
                    },
                    {
                        "date": "2026-11-19",
                        "time": "09:00",
                        "description": "Picked up",
                        "location": "New York, NY",
                        "code": "PU",
                    },
                ],
            },
        }
    )
    return Sample(
        "karrio",
        {"type": "karrio", "webhook": {"secret": SECRET}},
        body,
        {"Content-Type": "application/json", "X-Event-Id": SECRET},
        Dimension.shipment,
        "in_transit",
        "1Z999AA10123456784",
        "ORD-KARRIO",
        datetime(2026, 11, 20, 14, 30, tzinfo=UTC),
        tracking="1Z999AA10123456784",
    )


def shopify() -> Sample:
    order = {
        "id": 450789469,
        "name": "#1042",
        "order_number": 1042,
        "financial_status": "voided",
        "fulfillment_status": None,  # null: unfulfilled (absent would say nothing)
        "cancelled_at": "2026-11-20T10:00:00-05:00",
        "cancel_reason": "customer",
        "closed_at": None,
        "updated_at": "2026-11-20T10:00:05-05:00",
        "total_price": "199.00",  # money as a string
        "currency": "USD",
        "line_items": [{"id": 1, "quantity": 2, "fulfillable_quantity": 2, "price": "99.50"}],
        "fulfillments": [],
    }
    body = compact(order)
    return Sample(
        "shopify",
        {"type": "shopify", "webhook": {"secret": SECRET}},
        body,
        {
            "Content-Type": "application/json",
            "X-Shopify-Hmac-Sha256": b64_hmac(SECRET, body),
            "X-Shopify-Topic": "orders/cancelled",
            "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            "X-Shopify-Shop-Domain": "example.myshopify.com",
            "X-Shopify-API-Version": "2025-10",
        },
        Dimension.fulfillment,
        "cancelled",
        "450789469",
        "1042",
        datetime(2026, 11, 20, 15, 0, 5, tzinfo=UTC),
        extra={"billing": "voided", "amount": Decimal("199.00")},
    )


def jiandaoyun(now: float | None = None) -> Sample:
    body = compact(
        {
            "op": "data_update",
            "data": {
                "_id": "6818417bca66cb3cc212a022",
                "appId": "5b1747e93b708d0a80667400",
                "entryId": "5b1749ae3b708d0a80667408",
                "oid": "SO-2026-0042",
                "status": "已发货",
                "address": {
                    "province": "上海市",
                    "city": "上海市",
                    "district": "浦东新区",
                    "detail": "世纪大道 1 号",
                },
                "updateTime": "2026-11-20T10:00:00.000Z",
            },
        }
    )
    nonce, stamp = "8f2a9c", str(int(now if now is not None else time.time()))
    signature = hashlib.sha1(f"{nonce}:".encode() + body + f":{SECRET}:{stamp}".encode()).hexdigest()
    return Sample(
        "jiandaoyun",
        {
            "type": "jiandaoyun",
            "webhook": {"secret": SECRET},
            "order_id": {"field": "oid", "pattern": r"SO-\d{4}-(\d+)", "format": "SO-{0:0>6}"},
            "status": {
                "dimension": "fulfillment",
                "field": "status",
                "map": {"备货中": "preparing", "已发货": "shipped"},
            },
        },
        body,
        {"Content-Type": "application/json", "X-JDY-Signature": signature, "X-JDY-DeliverId": "deliver-0001"},
        Dimension.fulfillment,
        "shipped",
        "6818417bca66cb3cc212a022",
        "SO-000042",
        datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        query={"nonce": nonce, "timestamp": stamp},
    )


def generic() -> Sample:
    body = compact(
        {
            "event": {
                "id": "shp-77",
                "order_ref": "SO-2026-0099",
                "state": "DONE",
                "at": "2026-11-20T11:00:00+08:00",
            }
        }
    )
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return Sample(
        "webhook",
        {
            "type": "webhook",
            "webhook": {
                "secret": SECRET,
                "signature": {
                    "header": "X-Signature",
                    "algorithm": "sha256",
                    "encoding": "hex",
                    "prefix": "sha256=",
                },
            },
            "record": {
                "id": "event.id",
                "order": "event.order_ref",
                "status": "event.state",
                "updated": "event.at",
            },
            "status": {"dimension": "shipment", "map": {"IN_TRANSIT": "in_transit", "DONE": "delivered"}},
        },
        body,
        {"Content-Type": "application/json", "X-Signature": signature},
        Dimension.shipment,
        "delivered",
        "shp-77",
        "SO-2026-0099",
        datetime(2026, 11, 20, 3, 0, tzinfo=UTC),
    )


def every_sample() -> list[Sample]:
    return [
        aftership(),
        easypost(),
        track17(),
        kuaidi100(),
        sf_express(),
        cainiao(),
        shippo(),
        karrio(),
        shopify(),
        jiandaoyun(),
        generic(),
    ]
