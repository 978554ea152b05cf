"""Syncs through the declarative connector configured in YAML alone, for APIs that need more than a
fixed key: a Medusa-style login whose session expires between polls (a real local server),
OAuth2 client credentials refreshed on 401 (Salesforce-shaped, respx), and an errors field absent from
normal pages. Each syncs incrementally with nothing lost and nothing duplicated, on both stores."""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import respx

from orderbridge.config.loader import parse_config
from orderbridge.connectors.auth import TOKENS
from orderbridge.connectors.base import ConnectorContext
from orderbridge.connectors.http_settings import HttpSystemSettings
from orderbridge.mapping.model import Dimension, FulfillmentStatus
from orderbridge.scheduler.sync import SyncResult, sync_system
from orderbridge.storage import observations
from orderbridge.storage.db import Store

START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def jwt(serial: int) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    exp = (datetime.now(UTC) + timedelta(hours=24)).timestamp()
    header = part({"alg": "HS256", "typ": "JWT"})
    claims = part({"actor_id": "user_01JD", "actor_type": "user", "jti": serial, "exp": exp})
    return f"{header}.{claims}.c2ln"


class MedusaShop:
    """A Medusa v2-shaped admin API: POST /auth/user/emailpass -> {"token": JWT}; GET /admin/orders
    with `updated_at[$gte]`, `offset`, `limit`, `order=updated_at`, answering {orders, count, offset,
    limit}. A session expires after `session_requests` authorised requests (401 Unauthorized)."""

    def __init__(self, password: str, session_requests: int) -> None:
        self.password, self.session_requests = password, session_requests
        self.orders: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, int] = {}
        self.logins = 0
        self.lock = threading.Lock()

    def put(self, number: int, status: str, at: datetime) -> None:
        with self.lock:
            self.orders[f"order_01JD{number:04d}"] = {
                "id": f"order_01JD{number:04d}",
                "display_id": number,
                "status": "pending",
                "fulfillment_status": status,
                "payment_status": "captured",
                "currency_code": "eur",
                "total": 4200,
                "created_at": stamp(START),
                "updated_at": stamp(at),
            }

    def __call__(self, seen: Any) -> tuple[Any, ...]:
        with self.lock:
            if seen.path == "/auth/user/emailpass":
                body = seen.json()
                if body != {"email": "ops@shop.example.com", "password": self.password}:
                    return 401, {"type": "unauthorized", "message": "Invalid email or password"}
                self.logins += 1
                token = jwt(self.logins)
                self.sessions[token] = 0
                return 200, {"token": token}
            token = seen.headers.get("authorization", "").removeprefix("Bearer ")
            if token not in self.sessions or self.sessions[token] >= self.session_requests:
                return 401, {"type": "unauthorized", "message": "Unauthorized"}
            self.sessions[token] += 1
            since = seen.query.get("updated_at[$gte]", "")
            offset, limit = int(seen.query.get("offset", 0)), int(seen.query.get("limit", 50))
            found = sorted(
                (o for o in self.orders.values() if o["updated_at"] >= since),
                key=lambda o: (o["updated_at"], o["id"]),
            )
            return 200, {
                "orders": found[offset : offset + limit],
                "count": len(found),
                "offset": offset,
                "limit": limit,
            }


MEDUSA_YAML = """
systems:
  shop:
    type: rest
    base_url: {url}
    auth:
      type: login
      path: /auth/user/emailpass
      body: {{email: ops@shop.example.com}}
      secret_body: {{password: "${{MEDUSA_PASSWORD}}"}}
      token: {{body: token}}
    list:
      path: /admin/orders
      params: {{"updated_at[$gte]": "{{cursor}}", order: updated_at}}
      records: orders
      # overlap 0: no records of the page before asked for again, so a poll is exactly 3 requests
      paging: {{style: offset, param: offset, size_param: limit, size: 2, overlap: 0}}
    cursor: {{field: updated_at, overlap: 1m}}
    order_id: {{field: display_id, format: "SO-{{0:0>6}}"}}
    fields: {{record_id: id, updated: updated_at}}
    status:
      dimension: fulfillment
      field: fulfillment_status
      map: {{not_fulfilled: placed, fulfilled: shipped, delivered: delivered}}
"""


def settings_of(text: str, environ: dict[str, str]) -> HttpSystemSettings:
    settings = parse_config(text, environ=environ).systems["shop"]
    assert isinstance(settings, HttpSystemSettings)
    return settings


def stored(store: Store) -> dict[str, str | None]:
    with store.engine.connect() as conn:
        keys = observations.order_keys(conn)
        found, _ = observations.load_orders(conn, keys)
    return {o.record_id: o.status(Dimension.fulfillment) for group in found.values() for o in group}


def counted(store: Store, system: str) -> int:
    with store.engine.connect() as conn:
        return observations.counts_by_system(conn).get(system, 0)


def test_login_first_api_syncs_incrementally_and_logs_in_again_when_the_session_expires(
    store: Store, live_server: Any
) -> None:
    """Medusa: one login serves the first poll's three requests; the session then expires, so the next
    poll's first request is refused, a new login follows and the poll goes on. Every order is stored
    once, the changed ones with their new status, and the password was sent only to the login."""
    shop = MedusaShop(password="medusa-pw-6078", session_requests=3)
    for number in range(1, 6):
        shop.put(number, "not_fulfilled", START + timedelta(minutes=number))
    server = live_server(shop)
    settings = settings_of(MEDUSA_YAML.format(url=server.url), {"MEDUSA_PASSWORD": "medusa-pw-6078"})

    first = sync_system(store, "shop", settings, ConnectorContext())
    assert (first.records, first.new) == (5, 5) and shop.logins == 1

    shop.put(2, "fulfilled", START + timedelta(hours=1))
    shop.put(4, "delivered", START + timedelta(hours=1, minutes=1))
    shop.put(6, "not_fulfilled", START + timedelta(hours=1, minutes=2))
    second: SyncResult = sync_system(store, "shop", settings, ConnectorContext())

    assert shop.logins == 2
    assert (second.new, second.changed) == (1, 2)
    assert counted(store, "shop") == 6
    assert stored(store) == {
        "order_01JD0001": FulfillmentStatus.placed,
        "order_01JD0002": FulfillmentStatus.shipped,
        "order_01JD0003": FulfillmentStatus.placed,
        "order_01JD0004": FulfillmentStatus.delivered,
        "order_01JD0005": FulfillmentStatus.placed,
        "order_01JD0006": FulfillmentStatus.placed,
    }
    second_poll = [s for s in server.seen if s.path == "/admin/orders"][3:]
    assert second_poll[0].query["updated_at[$gte]"] == "2026-11-20T08:04:00+00:00"  # cursor minus the overlap
    with_password = [
        s.path for s in server.seen if b"medusa-pw-6078" in s.body or "medusa-pw-6078" in repr(s.query)
    ]
    assert with_password == ["/auth/user/emailpass", "/auth/user/emailpass"]


SF_LOGIN = "https://login.salesforce.com"
SF_INSTANCE = "https://acme.my.salesforce.com"

SALESFORCE_YAML = f"""
systems:
  shop:
    type: rest
    base_url: {SF_LOGIN}
    auth:
      type: oauth2
      token_url: /services/oauth2/token
      client_id: 3MVG9-connected-app
      client_secret: "${{SF_CLIENT_SECRET}}"
      instance_url_field: instance_url
    list:
      path: /services/data/v60.0/query
      params:
        q: >-
          SELECT Id, OrderNumber, Status, SystemModstamp FROM Order
          WHERE SystemModstamp > {{cursor}} ORDER BY SystemModstamp, Id
      records: records
    cursor: {{field: SystemModstamp, overlap: 1m}}
    order_id: {{field: OrderNumber, pattern: '(\\d+)$', format: "SO-{{0:0>6}}"}}
    fields: {{record_id: Id, updated: SystemModstamp}}
    status:
      dimension: fulfillment
      field: Status
      map: {{Draft: placed, Activated: approved, Shipped: shipped}}
"""


class SalesforceOrg:
    """Token endpoint and SOQL query shaped like Salesforce's; tokens are revoked on demand."""

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.valid: set[str] = set()
        self.issued = 0

    def put(self, number: int, status: str, at: datetime) -> None:
        ident = f"8015g00000{number:05d}AAK"
        self.orders[ident] = {
            "attributes": {"type": "Order", "url": f"/services/data/v60.0/sobjects/Order/{ident}"},
            "Id": ident,
            "OrderNumber": f"{number:08d}",
            "Status": status,
            "SystemModstamp": at.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        }

    def token(self, request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        if form.get("client_secret") != ["sf-secret-5F1E"]:
            return httpx.Response(
                400, json={"error": "invalid_client", "error_description": "invalid client credentials"}
            )
        self.issued += 1
        token = f"00D5g000008XYZ!AQ4AQToken{self.issued}"
        self.valid.add(token)
        return httpx.Response(
            200,
            json={
                "access_token": token,
                "instance_url": SF_INSTANCE,
                "token_type": "Bearer",
                "issued_at": "1732276800000",
            },
        )

    def query(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.valid:
            return httpx.Response(
                401, json=[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
            )
        soql = request.url.params["q"]
        since = datetime.fromisoformat(soql.split("SystemModstamp > ")[1].split(" ")[0])
        found = [
            o
            for o in self.orders.values()
            if datetime.strptime(o["SystemModstamp"], "%Y-%m-%dT%H:%M:%S.%f%z") > since
        ]
        found.sort(key=lambda o: (o["SystemModstamp"], o["Id"]))
        return httpx.Response(200, json={"totalSize": len(found), "done": True, "records": found})


def test_oauth2_client_credentials_sync_refreshes_a_revoked_token_once(store: Store) -> None:
    """Salesforce: the first poll gets a token and reads the orders from the instance; the token is then
    revoked (401 INVALID_SESSION_ID), so the next poll refreshes it once and reads the changes. Nothing
    lost, nothing stored twice."""
    TOKENS.clear()
    org = SalesforceOrg()
    for number in (100, 101, 102):
        org.put(number, "Draft", START + timedelta(minutes=number - 100))
    settings = settings_of(SALESFORCE_YAML, {"SF_CLIENT_SECRET": "sf-secret-5F1E"})
    with respx.mock(assert_all_called=True) as router:
        token = router.post(f"{SF_LOGIN}/services/oauth2/token").mock(side_effect=org.token)
        router.get(f"{SF_INSTANCE}/services/data/v60.0/query").mock(side_effect=org.query)
        first = sync_system(store, "shop", settings, ConnectorContext())
        org.valid.clear()  # revoked: the cached token is refused from now on
        org.put(101, "Activated", START + timedelta(hours=2))
        org.put(103, "Draft", START + timedelta(hours=2, seconds=1))
        second = sync_system(store, "shop", settings, ConnectorContext())
    assert (first.new, second.new, second.changed) == (3, 1, 1)
    assert token.call_count == 2
    assert counted(store, "shop") == 4
    assert stored(store)["8015g0000000101AAK"] == FulfillmentStatus.approved


def test_an_errors_field_absent_from_normal_pages_syncs_every_record(store: Store) -> None:
    """`errors: {field: success, ok: [true]}` with pages that carry no `success`: all records stored
    (before, each page was rejected: 0 of 300); a page that does say `success: false` still fails."""
    text = """
systems:
  shop:
    type: rest
    base_url: https://api.example.com
    auth: {bearer: "tok-1234"}
    list: {path: /orders, records: data, paging: {style: page, param: page, size_param: per_page, size: 100}}
    errors: {field: success, ok: [true], message: errorMessage}
    order_id: {field: ref}
    fields: {record_id: id}
    status: {dimension: fulfillment, field: status, map: {open: placed}}
"""
    settings = settings_of(text, {})
    pages = [
        [{"id": i, "ref": f"SO-{i:06d}", "status": "open"} for i in range(n, n + 100)] for n in (1, 101, 201)
    ]
    with respx.mock(assert_all_called=True) as router:
        route = router.get("https://api.example.com/orders")
        route.side_effect = [httpx.Response(200, json={"data": page}) for page in [*pages, []]]
        result = sync_system(store, "shop", settings, ConnectorContext())
    assert result.records == 300 and counted(store, "shop") == 300
