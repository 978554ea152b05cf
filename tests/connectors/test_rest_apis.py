"""Real APIs' listing styles, each configured in YAML alone and synced into a store twice, the source
changing in between: nothing lost, nothing stored twice. The APIs are faked with respx, keeping their
rules and answering with payloads shaped like the reference's recorded responses:

- Shopify: `Link` header paging whose `page_info` requests must carry nothing but `page_info`/`limit`;
- Salesforce: SOQL with the cursor in `q`, `nextRecordsUrl` (a path from the instance root) until `done`;
- Zoho CRM: `If-Modified-Since` header, 304 when nothing changed, 204 when the module is empty;
- a Django REST Framework shop: absolute `next` links, newest first, no filter: a snapshot scan while
  new orders push the others back a page;
- django-oscar: page numbers with the size fixed by the server, `404 {"detail": "Invalid page."}` past
  the last page."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import respx
from sqlalchemy import func, select
from structlog.testing import capture_logs

from orderbridge.config.loader import load_config
from orderbridge.connectors.base import ConnectorContext
from orderbridge.mapping.model import Dimension
from orderbridge.reconciler.engine import Reconciler
from orderbridge.scheduler.sync import SyncResult, sync_system
from orderbridge.storage import discrepancies
from orderbridge.storage.db import Store
from orderbridge.storage.observations import observations_of
from orderbridge.storage.tables import observations, status_history

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)


def sync(tmp_path: Path, text: str, system: str, at: datetime = NOW) -> SyncResult:
    path = tmp_path / "orderbridge.yaml"
    path.write_text(text, encoding="utf-8")
    loaded = load_config(path)
    store = Store(loaded.config.store.url, loaded.base_dir)
    try:
        context = ConnectorContext(base_dir=loaded.base_dir)
        return sync_system(store, system, loaded.config.systems[system], context, clock=lambda: at)
    finally:
        store.close()


def stored(store_url: str, system: str) -> dict[str, dict[str, Any]]:
    store = Store(store_url)
    try:
        with store.engine.connect() as conn:
            query = select(observations).where(observations.c.system == system)
            return {row["record_id"]: dict(row) for row in conn.execute(query).mappings()}
    finally:
        store.close()


def history(store_url: str, system: str) -> int:
    store = Store(store_url)
    try:
        with store.engine.connect() as conn:
            query = select(func.count()).select_from(status_history).where(status_history.c.system == system)
            return int(conn.execute(query).scalar_one())
    finally:
        store.close()


# -- Shopify ---------------------------------------------------------------------------------------

SHOP = "https://demo-shop.myshopify.com/admin/api/2024-10"
SHOPIFY_TOKEN = "shpat_0a1b2c3d4e5f"


class Shopify:
    """GET /orders.json: `status`, `updated_at_min`, `order=updated_at asc`, `limit`; further pages via
    the `Link` header's `page_info`, with which Shopify accepts only `limit` and `fields`."""

    def __init__(self) -> None:
        self.orders: list[dict[str, Any]] = []

    def add(self, number: int, updated: str, financial: str, fulfillment: str | None) -> None:
        self.orders = [o for o in self.orders if o["order_number"] != number]
        self.orders.append(
            {
                "id": 450789000 + number,
                "admin_graphql_api_id": f"gid://shopify/Order/{450789000 + number}",
                "name": f"#{number}",
                "order_number": number,
                "financial_status": financial,
                "fulfillment_status": fulfillment,
                "cancelled_at": None,
                "closed_at": None,
                "currency": "USD",
                "total_price": "199.65",
                "updated_at": updated,
            }
        )

    def answer(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("X-Shopify-Access-Token") != SHOPIFY_TOKEN:
            return httpx.Response(401, json={"errors": "[API] Invalid API key or access token"})
        params = dict(request.url.params)
        limit = int(params.get("limit", 50))
        if "page_info" in params:
            extra = sorted(set(params) - {"page_info", "limit", "fields"})
            if extra:
                return httpx.Response(
                    400, json={"errors": {"page_info": [f"cannot be combined with {extra}"]}}
                )
            since, after = json.loads(base64.urlsafe_b64decode(params["page_info"]))
        else:
            if params.get("status") != "any" or params.get("order") != "updated_at asc":
                return httpx.Response(
                    400, json={"errors": "this fake wants status=any, order=updated_at asc"}
                )
            since, after = params["updated_at_min"], None
        key = lambda o: (datetime.fromisoformat(o["updated_at"]), o["id"])  # noqa: E731
        chosen = sorted(
            (
                o
                for o in self.orders
                if datetime.fromisoformat(o["updated_at"]) >= datetime.fromisoformat(since)
            ),
            key=key,
        )
        if after is not None:
            chosen = [o for o in chosen if [key(o)[0].isoformat(), o["id"]] > after]
        page, more = chosen[:limit], len(chosen) > limit
        headers = {}
        if more:
            token = base64.urlsafe_b64encode(
                json.dumps([since, [key(page[-1])[0].isoformat(), page[-1]["id"]]]).encode()
            ).decode()
            headers["Link"] = f'<{SHOP}/orders.json?limit={limit}&page_info={token}>; rel="next"'
        return httpx.Response(200, json={"orders": page}, headers=headers)


SHOPIFY_CONFIG = f"""
store: {{url: "@STORE@"}}
systems:
  shop:
    type: rest
    base_url: {SHOP}
    auth: {{api_key: {{header: X-Shopify-Access-Token, value: "{SHOPIFY_TOKEN}"}}}}
    list:
      path: /orders.json
      params: {{status: any, updated_at_min: "{{cursor}}", order: "updated_at asc", limit: 2}}
      records: orders
      paging: {{style: link_header}}
    cursor: {{field: updated_at, overlap: 1m, sorted: true, initial: "2024-01-01T00:00:00-04:00"}}
    order_id: {{field: name, strip_prefix: ["#"], format: "SO-{{0:0>6}}"}}
    fields: {{record_id: id, updated: updated_at, order_amount: total_price, currency: currency}}
    status:
      - {{dimension: fulfillment, field: fulfillment_status, map: {{fulfilled: shipped, partial: preparing}},
         rules: [{{when: {{fulfillment_status: {{empty: true}}}}, then: approved}}]}}
      - {{dimension: billing, field: financial_status,
          map: {{pending: unbilled, authorized: unbilled, paid: paid, refunded: refunded}}}}
"""


def test_shopify_link_header_paging_syncs_incrementally(tmp_path: Path, store_url: str) -> None:
    """Five orders over three pages followed by their `Link` header (each `page_info` request carries
    only `page_info` and `limit`: the fake refuses anything else, as Shopify does); then one order is
    paid and fulfilled and one is new: the second sync stores exactly those, and `-04:00` times are
    read as such."""
    shopify, text = Shopify(), SHOPIFY_CONFIG.replace("@STORE@", store_url)
    for n in range(1001, 1006):
        shopify.add(n, f"2024-05-01T0{n - 1000}:00:00-04:00", "authorized", None)
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{SHOP}/orders.json").mock(side_effect=shopify.answer)
        first = sync(tmp_path, text, "shop")
        assert route.call_count == 3 and first.new == 5
        shopify.add(1002, "2024-05-02T09:00:00-04:00", "paid", "fulfilled")
        shopify.add(1006, "2024-05-02T10:00:00-04:00", "pending", None)
        second = sync(tmp_path, text, "shop", NOW + timedelta(minutes=5))
    assert (second.new, second.changed) == (1, 1)
    records = stored(store_url, "shop")
    assert len(records) == 6
    assert records["450790002"]["statuses"]["fulfillment"]["status"] == "shipped"
    assert records["450790002"]["status_at"].astimezone(UTC) == datetime(2024, 5, 2, 13, tzinfo=UTC)
    # Shopify's null fulfillment_status means unfulfilled: the rule for a blank field says so
    assert records["450790006"]["statuses"]["fulfillment"]["status"] == "approved"
    # fulfilment (approved: not yet fulfilled) and billing of each, then 1002 paid and shipped, 1006 both
    assert history(store_url, "shop") == 5 * 2 + 2 + 2


# -- Salesforce ------------------------------------------------------------------------------------

INSTANCE = "https://acme.my.salesforce.com"
SOQL = re.compile(r"WHERE SystemModstamp > (\S+) ORDER BY SystemModstamp, Id$")


class Salesforce:
    """GET /query?q=SOQL answers `totalSize`, `done`, `records` and, while not done, `nextRecordsUrl`:
    a query locator holding the result as it was when the query ran. Batches of 2 (2000 really)."""

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.locators: dict[str, list[dict[str, Any]]] = {}

    def put(self, number: int, status: str, modstamp: str) -> None:
        order_id = f"8015g00000AbC{number:03d}AAA"
        self.orders[order_id] = {
            "attributes": {"type": "Order", "url": f"/services/data/v60.0/sobjects/Order/{order_id}"},
            "Id": order_id,
            "OrderNumber": f"{number:08d}",
            "Status": status,
            "StatusCode": "Activated" if status != "Draft" else "Draft",
            "PoNumber": f"PO-{number}",
            "TotalAmount": 1200.0,
            "SystemModstamp": modstamp,
        }

    def query(self, request: httpx.Request) -> httpx.Response:
        match = SOQL.search(request.url.params.get("q", ""))
        if match is None:
            return httpx.Response(400, json=[{"message": "unexpected token", "errorCode": "MALFORMED_QUERY"}])
        since = datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
        stamp = lambda o: datetime.fromisoformat(o["SystemModstamp"])  # noqa: E731
        result = sorted(
            (o for o in self.orders.values() if stamp(o) > since), key=lambda o: (stamp(o), o["Id"])
        )
        locator = f"01gD0000002HU{len(self.locators):02d}IAW"
        self.locators[locator] = [dict(o) for o in result]
        return self.batch(locator, 0)

    def more(self, request: httpx.Request, locator: str, offset: str) -> httpx.Response:
        if request.url.params:
            return httpx.Response(
                400, json=[{"message": "no parameters here", "errorCode": "MALFORMED_QUERY"}]
            )
        return self.batch(locator, int(offset))

    def batch(self, locator: str, offset: int) -> httpx.Response:
        result = self.locators[locator]
        body: dict[str, Any] = {"totalSize": len(result), "done": offset + 2 >= len(result)}
        if not body["done"]:
            body["nextRecordsUrl"] = f"/services/data/v60.0/query/{locator}-{offset + 2}"
        body["records"] = result[offset : offset + 2]
        return httpx.Response(200, json=body)


SALESFORCE_CONFIG = f"""
store: {{url: "@STORE@"}}
systems:
  crm:
    type: rest
    base_url: {INSTANCE}/services/data/v60.0
    auth: {{bearer: "00D5g000004Xyz!AQ4AQ"}}
    list:
      path: /query
      params:
        q: "SELECT Id, OrderNumber, Status, PoNumber, TotalAmount, SystemModstamp FROM Order
            WHERE SystemModstamp > {{cursor}} ORDER BY SystemModstamp, Id"
      records: records
      paging: {{style: next_link, next: nextRecordsUrl, done: done}}
    cursor: {{field: SystemModstamp, format: "%Y-%m-%dT%H:%M:%SZ", timezone: UTC, overlap: 1m, sorted: true,
              initial: "2024-01-01T00:00:00Z"}}
    order_id: {{field: OrderNumber, format: "SO-{{0:0>6}}"}}
    fields: {{record_id: Id, external_ref: PoNumber, updated: SystemModstamp, order_amount: TotalAmount}}
    status: {{dimension: fulfillment, field: Status,
              map: {{Draft: placed, Activated: approved, "In Fulfillment": preparing, Shipped: shipped}}}}
"""


def test_salesforce_next_records_url_until_done_syncs_incrementally(tmp_path: Path, store_url: str) -> None:
    """Five orders: the query, then two `nextRecordsUrl` requests without any parameter (a `q` beside
    the locator would restart the query) until `done: true`. The next sync asks `SystemModstamp >` the
    newest stamp minus the overlap, written as SOQL wants it, and stores the one order that moved on."""
    salesforce, text = Salesforce(), SALESFORCE_CONFIG.replace("@STORE@", store_url)
    for n in range(1, 6):
        salesforce.put(n, "Activated", f"2024-05-01T10:0{n}:00.000+0000")
    with respx.mock(assert_all_called=True) as router:
        query = router.get(f"{INSTANCE}/services/data/v60.0/query").mock(side_effect=salesforce.query)
        more = router.get(
            url__regex=rf"{INSTANCE}/services/data/v60\.0/query/(?P<locator>\w+)-(?P<offset>\d+)$"
        )
        more.mock(side_effect=salesforce.more)
        first = sync(tmp_path, text, "crm")
        salesforce.put(3, "Shipped", "2024-05-02T08:00:00.000+0000")
        second = sync(tmp_path, text, "crm", NOW + timedelta(minutes=5))
    assert first.new == 5 and more.call_count == 2
    assert query.calls.last.request.url.params["q"].endswith(
        "WHERE SystemModstamp > 2024-05-01T10:04:00Z ORDER BY SystemModstamp, Id"
    )
    assert (second.new, second.changed) == (0, 1)
    records = stored(store_url, "crm")
    assert (
        len(records) == 5 and records["8015g00000AbC003AAA"]["statuses"]["fulfillment"]["status"] == "shipped"
    )
    assert history(store_url, "crm") == 6


# -- Zoho CRM --------------------------------------------------------------------------------------

ZOHO = "https://www.zohoapis.com/crm/v8"


class Zoho:
    """GET /Sales_Orders sorted by Modified_Time with `If-Modified-Since` (records modified after it):
    304 when there are none newer, 204 when the module holds nothing, else `data` and `info`."""

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}

    def put(self, number: int, status: str, modified: str) -> None:
        record_id = f"48768760000006{number:05d}"
        self.orders[record_id] = {
            "id": record_id,
            "SO_Number": f"{number}",
            "Subject": f"Order {number}",
            "Status": status,
            "Grand_Total": 1200.0,
            "Modified_Time": modified,
        }

    def answer(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization") != "Zoho-oauthtoken 1000.abc.def":
            return httpx.Response(
                401, json={"code": "INVALID_TOKEN", "status": "error", "message": "invalid"}
            )
        if not self.orders:
            return httpx.Response(204)
        since = datetime.fromisoformat(request.headers["If-Modified-Since"])
        modified = lambda o: datetime.fromisoformat(o["Modified_Time"])  # noqa: E731
        chosen = sorted(
            (o for o in self.orders.values() if modified(o) > since), key=lambda o: (modified(o), o["id"])
        )
        if not chosen:
            return httpx.Response(304)
        size, number = int(request.url.params["per_page"]), int(request.url.params["page"])
        page = chosen[(number - 1) * size : number * size]
        info = {
            "per_page": size,
            "count": len(page),
            "page": number,
            "sort_by": "Modified_Time",
            "sort_order": "asc",
            "more_records": number * size < len(chosen),
        }
        return httpx.Response(200, json={"data": page, "info": info})


ZOHO_CONFIG = f"""
store: {{url: "@STORE@"}}
systems:
  zoho:
    type: rest
    base_url: {ZOHO}
    auth: {{api_key: {{header: Authorization, prefix: "Zoho-oauthtoken ", value: "1000.abc.def"}}}}
    list:
      path: /Sales_Orders
      params: {{fields: "id,SO_Number,Status,Grand_Total,Modified_Time", sort_by: Modified_Time,
               sort_order: asc}}
      headers: {{If-Modified-Since: "{{cursor}}"}}
      records: data
      paging: {{style: page, param: page, size_param: per_page, size: 2, has_more: info.more_records}}
    cursor: {{field: Modified_Time, overlap: 0s, sorted: true, timezone: Asia/Kolkata,
              initial: "2024-01-01T00:00:00+05:30"}}
    order_id: {{field: SO_Number, format: "SO-{{0:0>6}}"}}
    fields: {{record_id: id, updated: Modified_Time, order_amount: Grand_Total}}
    status: {{dimension: fulfillment, field: Status,
              map: {{Created: placed, Approved: approved, Delivered: delivered, Cancelled: cancelled}}}}
"""


def test_zoho_if_modified_since_with_304_and_204_syncs_incrementally(tmp_path: Path, store_url: str) -> None:
    """The cursor goes into the If-Modified-Since header (ISO 8601 in the org's zone). An empty module
    (204) and nothing newer (304) are syncs with nothing new, not errors; in between, five orders come
    over three pages and later one is approved: each is stored once."""
    zoho, text = Zoho(), ZOHO_CONFIG.replace("@STORE@", store_url)
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{ZOHO}/Sales_Orders").mock(side_effect=zoho.answer)
        empty = sync(tmp_path, text, "zoho")
        for n in range(1, 6):
            zoho.put(n, "Created", f"2024-05-01T10:0{n}:00+05:30")
        full = sync(tmp_path, text, "zoho", NOW + timedelta(minutes=5))
        unchanged = sync(tmp_path, text, "zoho", NOW + timedelta(minutes=10))
        assert route.calls.last.response.status_code == 304
        zoho.put(2, "Approved", "2024-05-02T09:00:00+05:30")
        changed = sync(tmp_path, text, "zoho", NOW + timedelta(minutes=15))
    assert (empty.records, full.new, unchanged.records, changed.changed) == (0, 5, 0, 1)
    assert route.calls.last.request.headers["If-Modified-Since"] == "2024-05-01T10:05:00+05:30"
    records = stored(store_url, "zoho")
    assert len(records) == 5 and history(store_url, "zoho") == 6
    assert records["4876876000000600002"]["statuses"]["fulfillment"]["status"] == "approved"


# -- Django REST Framework: a snapshot scan --------------------------------------------------------

DRF = "https://shop.example.com/api"


class DrfShop:
    """GET /orders/?page=N, newest first, 3 a page fixed by the server: `count`, absolute `next` (written
    `http://`: the app sits behind a TLS proxy) and `previous`, `results`. No change time, no filter.
    `during` runs after the answer to a request has been computed, to change the shop mid-scan."""

    def __init__(self) -> None:
        self.orders: list[dict[str, Any]] = []
        self.during: Callable[[int], None] = lambda number: None

    def add(self, number: int, status: str = "Pending") -> None:
        self.orders.insert(
            0,
            {
                "id": number,
                "number": f"1000{number:02d}",
                "status": status,
                "total_incl_tax": "12.00",
                "currency": "GBP",
            },
        )

    def answer(self, request: httpx.Request) -> httpx.Response:
        number = int(request.url.params.get("page", "1"))
        results = [dict(o) for o in self.orders[(number - 1) * 3 : number * 3]]
        more = number * 3 < len(self.orders)
        body = {
            "count": len(self.orders),
            "next": f"http://shop.example.com/api/orders/?page={number + 1}" if more else None,
            "previous": f"http://shop.example.com/api/orders/?page={number - 1}" if number > 1 else None,
            "results": results,
        }
        self.during(number)
        return httpx.Response(200, json=body)


DRF_CONFIG = f"""
store: {{url: "@STORE@"}}
systems:
  shop:
    type: rest
    base_url: {DRF}
    auth: {{api_key: {{header: Authorization, prefix: "Token ",
                     value: "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"}}}}
    list:
      path: /orders/
      records: results
      paging: {{style: next_link, next: next}}
    order_id: {{field: number, format: "SO-{{0:0>6}}"}}
    fields: {{record_id: id, order_amount: total_incl_tax, currency: currency}}
    status: {{dimension: fulfillment, field: status,
              map: {{Pending: placed, Processing: preparing, Shipped: shipped}}}}
"""


def test_drf_snapshot_scan_follows_absolute_next_links_while_orders_shift(
    tmp_path: Path, store_url: str
) -> None:
    """Without a cursor every sync reads every page. Mid-scan a new order arrives at the front and pushes
    each order one place back, so page 2 begins with the last order of page 1: it is read once. Orders
    that did not change write nothing; the one whose status changed records the time the scan saw it
    as its status time; the new one is found by the next scan."""
    shop, text = DrfShop(), DRF_CONFIG.replace("@STORE@", store_url)
    for n in range(1, 8):
        shop.add(n)
    with respx.mock(assert_all_called=True) as router:
        route = router.get(url__regex=rf"{DRF}/orders/").mock(side_effect=shop.answer)
        first = sync(tmp_path, text, "shop")
        shop.during = lambda number: shop.add(8) if number == 1 else None
        shop.orders[-1]["status"] = "Shipped"  # order 1, on the last page
        later = NOW + timedelta(hours=1)
        second = sync(tmp_path, text, "shop", later)
        shop.during = lambda number: None
        third = sync(tmp_path, text, "shop", later + timedelta(hours=1))
    assert all(str(c.request.url).startswith("https://") for c in route.calls)
    assert (first.new, second.new, second.changed, second.unchanged) == (7, 0, 1, 6)
    assert (third.new, third.changed) == (1, 0)
    records = stored(store_url, "shop")
    assert sorted(records, key=int) == [str(n) for n in range(1, 9)]
    assert records["1"]["status_at"].astimezone(UTC) == later
    assert records["2"]["status_at"].astimezone(UTC) == NOW
    assert history(store_url, "shop") == 9


# -- django-oscar: a server that ignores the page size -----------------------------------------------


def oscar(orders: int) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params.get("page", "1"))
        if (number - 1) * 20 >= orders:
            return httpx.Response(404, json={"detail": "Invalid page."})
        numbers = range(orders - (number - 1) * 20, max(orders - number * 20, 0), -1)
        results = [
            {"number": f"{100000 + n}", "status": "Pending", "total_incl_tax": "9.99"} for n in numbers
        ]
        more = number * 20 < orders
        return httpx.Response(
            200, json={"count": orders, "next": None if not more else "…", "results": results}
        )

    return answer


OSCAR_CONFIG = """
store: {url: "@STORE@"}
systems:
  oscar:
    type: rest
    base_url: https://oscar.example.com/api
    list:
      path: /orders/
      records: results
      paging: {style: page, size_param: page_size, size: 100,
               past_end: {status: 404, contains: "Invalid page."}}
    order_id: {field: number}
    status: {dimension: fulfillment, field: status, map: {Pending: placed}}
"""


def test_a_server_that_ignores_the_page_size_and_404s_past_the_end(tmp_path: Path, store_url: str) -> None:
    """Asked for 100 a page, django-oscar gives 20: a short page is not the end, so all 60 orders are
    read; the log says once what to set; Oscar's `404 Invalid page.` after the last page ends the sync
    successfully. A new order comes with the next sync, nothing twice."""
    text = OSCAR_CONFIG.replace("@STORE@", store_url)
    with respx.mock(assert_all_called=True) as router, capture_logs() as logs:
        route = router.get("https://oscar.example.com/api/orders/").mock(side_effect=oscar(60))
        first = sync(tmp_path, text, "oscar")
        route.mock(side_effect=oscar(61))
        second = sync(tmp_path, text, "oscar", NOW + timedelta(minutes=5))
    assert (first.new, second.new, second.unchanged) == (60, 1, 60)
    notes = [e["event"] for e in logs if "ignores the size" in e["event"]]
    assert notes == [
        "asked for 100 records per page, got 20: the server ignores the size; set `list.paging.size: 20`"
    ]
    assert len(stored(store_url, "oscar")) == 61 and history(store_url, "oscar") == 61


# -- Odoo JSON-2: child listings --------------------------------------------------------------------

ODOO = "https://odoo.example.com"


class Odoo:
    """POST /json/2/<model>/search_read with `domain`, `fields`, `order`, `limit`, `offset` in the body;
    the answer is the list of records. `write_date` is UTC without a zone; a picking's or an invoice's
    change leaves its sale order's `write_date` alone."""

    def __init__(self) -> None:
        self.models: dict[str, list[dict[str, Any]]] = {
            "sale.order": [],
            "stock.picking": [],
            "account.move": [],
        }

    def put(self, model: str, record: dict[str, Any]) -> None:
        rows = self.models[model]
        rows[:] = [r for r in rows if r["id"] != record["id"]] + [record]

    def answer(self, request: httpx.Request, model: str) -> httpx.Response:
        body = json.loads(request.content)
        (field, op, value), *others = [c for c in body["domain"] if c[0] == "write_date"] + [
            c for c in body["domain"] if c[0] != "write_date"
        ]
        assert (field, op, body["order"]) == ("write_date", ">", "write_date asc, id asc")
        chosen = sorted(
            (
                r
                for r in self.models[model]
                if r["write_date"] > value and all(r.get(c[0]) == c[2] for c in others)
            ),
            key=lambda r: (r["write_date"], r["id"]),
        )
        return httpx.Response(200, json=chosen[body["offset"] : body["offset"] + body["limit"]])


ODOO_CONFIG = f"""
store: {{url: "@STORE@"}}
systems:
  erp:
    type: rest
    base_url: {ODOO}
    auth: {{api_key: {{header: Authorization, prefix: "bearer ", value: "6f3c1e0a9b8d7c6e5f4a3b2c1d0e9f8a"}}}}
    timezone: UTC
    list:
      path: /json/2/sale.order/search_read
      method: POST
      body: {{domain: [[write_date, ">", "{{cursor}}"]], fields: [name, state, amount_total, write_date],
              order: "write_date asc, id asc"}}
      paging: {{style: offset, param: offset, size_param: limit, size: 2, param_in: body}}
    cursor: {{field: write_date, format: "%Y-%m-%d %H:%M:%S", overlap: 0s, sorted: true,
              initial: "2024-01-01 00:00:00"}}
    order_id: {{field: name, pattern: 'S(\\d+)', format: 'SO-{{0:0>6}}'}}
    fields: {{record_id: id, updated: write_date, order_amount: amount_total}}
    status: {{dimension: fulfillment, field: state,
              map: {{draft: placed, sent: placed, sale: approved, cancel: cancelled}}}}
    children:
      deliveries:
        list:
          path: /json/2/stock.picking/search_read
          method: POST
          body: {{domain: [[picking_type_code, "=", outgoing], [write_date, ">", "{{cursor}}"]],
                  order: "write_date asc, id asc"}}
          paging: {{style: offset, param: offset, size_param: limit, size: 2, param_in: body}}
        cursor: {{field: write_date, format: "%Y-%m-%d %H:%M:%S", overlap: 0s, sorted: true,
                  initial: "2024-01-01 00:00:00"}}
        order_field: origin
        fields: {{record_id: name, updated: write_date}}
        status: {{dimension: fulfillment, field: state,
                  map: {{waiting: preparing, confirmed: preparing, assigned: ready_to_ship, done: shipped}}}}
      invoices:
        list:
          path: /json/2/account.move/search_read
          method: POST
          body: {{domain: [[move_type, "=", out_invoice], [write_date, ">", "{{cursor}}"]],
                  order: "write_date asc, id asc"}}
          paging: {{style: offset, param: offset, size_param: limit, size: 2, param_in: body}}
        cursor: {{field: write_date, format: "%Y-%m-%d %H:%M:%S", overlap: 0s, sorted: true,
                  initial: "2024-01-01 00:00:00"}}
        order_field: invoice_origin
        fields: {{record_id: name, updated: write_date, invoiced_amount: amount_total}}
        status: {{dimension: billing, field: payment_state,
                  map: {{not_paid: invoiced, in_payment: invoiced, partial: partially_paid, paid: paid}}}}
reconcile:
  authority: {{fulfillment: erp.deliveries, billing: erp.invoices}}
  grace: {{default: 0s}}
"""


def test_odoo_deliveries_and_invoices_are_child_listings_the_reconciler_sees(
    tmp_path: Path, store_url: str
) -> None:
    """An order with two deliveries and an invoice, each model read by its own `search_read` with its
    own cursor (`write_date` in an Odoo domain in the JSON body). A delivery done later moves only the
    picking's `write_date`; the next sync still stores it. The records are those of `erp.deliveries`
    and `erp.invoices`, attached to the order by `origin`/`invoice_origin`: two deliveries are no
    duplicate, and the reconciler compares the invoice with the order (100 ordered, 90 invoiced)."""
    odoo, text = Odoo(), ODOO_CONFIG.replace("@STORE@", store_url)
    odoo.put(
        "sale.order",
        {
            "id": 42,
            "name": "S00042",
            "state": "sale",
            "amount_total": 100.0,
            "write_date": "2024-05-01 08:00:00",
        },
    )
    for picking, state in ((12, "assigned"), (13, "confirmed")):
        odoo.put(
            "stock.picking",
            {
                "id": picking,
                "name": f"WH/OUT/000{picking}",
                "origin": "S00042",
                "state": state,
                "picking_type_code": "outgoing",
                "write_date": f"2024-05-01 09:00:{picking}",
            },
        )
    odoo.put(
        "account.move",
        {
            "id": 7,
            "name": "INV/2024/00001",
            "invoice_origin": "S00042",
            "move_type": "out_invoice",
            "payment_state": "not_paid",
            "amount_total": 90.0,
            "write_date": "2024-05-01 10:00:00",
        },
    )
    with respx.mock(assert_all_called=True) as router:
        for model in odoo.models:
            router.post(f"{ODOO}/json/2/{model}/search_read").mock(
                side_effect=lambda request, model=model: odoo.answer(request, model)
            )
        first = sync(tmp_path, text, "erp")
        odoo.put(
            "stock.picking",
            {
                "id": 12,
                "name": "WH/OUT/00012",
                "origin": "S00042",
                "state": "done",
                "picking_type_code": "outgoing",
                "write_date": "2024-05-02 07:00:00",
            },
        )
        second = sync(tmp_path, text, "erp", NOW + timedelta(minutes=5))
    assert (first.new, second.new, second.changed) == (4, 0, 1)
    loaded = load_config(tmp_path / "orderbridge.yaml")
    store = Store(store_url)
    try:
        with store.engine.connect() as conn:
            seen = {(o.system, o.record_id): o for o in observations_of(conn, "SO-000042")}
        assert set(seen) == {
            ("erp", "42"),
            ("erp.deliveries", "WH/OUT/00012"),
            ("erp.deliveries", "WH/OUT/00013"),
            ("erp.invoices", "INV/2024/00001"),
        }
        assert seen[("erp.deliveries", "WH/OUT/00012")].status(Dimension.fulfillment) == "shipped"
        streams = loaded.config.streams()
        Reconciler(store, loaded.config.reconcile, tuple(streams), streams).run(NOW + timedelta(hours=1))
        with store.engine.connect() as conn:
            rules = {d.rule for d in discrepancies.listing(conn, order_key="SO-000042")}
        assert "amount_mismatch" in rules and "duplicate" not in rules
    finally:
        store.close()
