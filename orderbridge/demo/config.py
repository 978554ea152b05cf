"""The demo's configuration file: five systems (simulated ERP and WMS, a purchasing workbook, a finance
CSV, a carrier that pushes) described the way a real deployment would describe them, with comments for
first-time readers."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from orderbridge.demo.carrier import DEMO_SALT, KD100_SALT_VAR
from orderbridge.web.passwords import hash_password

CONFIG_FILE_NAME = "orderbridge.yaml"
PURCHASING_FILE = Path("purchasing") / "tracking.xlsx"  # matched by the config's purchasing/*.xlsx
FINANCE_FILE = Path("finance") / "invoices.csv"
ERP_TOKEN_VAR = "DEMO_ERP_TOKEN"
WMS_KEY_VAR = "DEMO_WMS_KEY"
WEB_PASSWORD_VAR = "DEMO_WEB_PASSWORD"


@dataclass(frozen=True)
class DemoCredentials:
    """What the simulated systems accept; the config refers to them as ${VAR:-default}."""

    erp_token: str = "demo-erp-token"
    wms_api_key: str = "demo-wms-key"
    web_user: str = "demo"
    web_password: str = "demo-password"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DemoCredentials:
        """The credentials the config resolves to in this environment (an empty variable = default)."""
        env = os.environ if environ is None else environ
        return cls(
            erp_token=env.get(ERP_TOKEN_VAR) or cls.erp_token,
            wms_api_key=env.get(WMS_KEY_VAR) or cls.wms_api_key,
            web_password=env.get(WEB_PASSWORD_VAR) or cls.web_password,
        )


DEMO_CREDENTIALS = DemoCredentials()


def write_demo_config(directory: Path, erp_url: str, wms_url: str, store_url: str | None = None) -> Path:
    """Write orderbridge.yaml into `directory` for simulators listening at `erp_url` and `wms_url`,
    storing into `store_url` (default: SQLite next to the file)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / CONFIG_FILE_NAME
    login = DemoCredentials.from_env()
    text = (
        _TEMPLATE.replace("@ERP_URL@", erp_url.rstrip("/"))
        .replace("@WMS_URL@", wms_url.rstrip("/"))
        .replace("@ERP_TOKEN@", f"${{{ERP_TOKEN_VAR}:-{DEMO_CREDENTIALS.erp_token}}}")
        .replace("@WMS_KEY@", f"${{{WMS_KEY_VAR}:-{DEMO_CREDENTIALS.wms_api_key}}}")
        .replace("@WEB_USER@", login.web_user)
        .replace("@WEB_HASH@", hash_password(login.web_password))
        .replace("@KD100_SALT@", f"${{{KD100_SALT_VAR}:-{DEMO_SALT}}}")
        .replace("@PURCHASING_DIR@", PURCHASING_FILE.parent.as_posix())
        .replace("@FINANCE_FILE@", FINANCE_FILE.as_posix())
        .replace('"sqlite:///orderbridge.db"', json.dumps(store_url or "sqlite:///orderbridge.db"))
    )
    path.write_text(text, encoding="utf-8")
    return path


_TEMPLATE = r"""# orderbridge — demo configuration
#
# orderbridge polls what every system says about an order, translates each system's order numbers
# and status words into one canonical model, and flags the orders whose systems disagree, are stuck,
# or are missing somewhere. This file describes four systems of an imaginary trading company:
#
#   erp         the ERP (sale orders, amounts)          - a simulated HTTP API
#   wms         the warehouse system (outbound orders)  - a simulated HTTP API
#   purchasing  the purchasing team's Excel workbook    - purchasing/*.xlsx next to this file
#   finance     finance's invoice export                - finance/invoices.csv next to this file
#   carrier     the parcel carrier (Kuaidi100)          - pushes to POST /webhooks/carrier
#
# Copy it as the starting point of your own: keep the shape, change the addresses, field names and
# status words. Relative paths below are relative to the folder of this file.
# Secrets never go into this file: ${NAME} is read from the environment, ${NAME:-default} falls back
# to the default when NAME is unset or empty.

store:
  url: "sqlite:///orderbridge.db"   # embedded default; production: postgresql+psycopg://user@host/db

log:
  file: orderbridge.log             # structured JSON lines

server:
  listen: "${ORDERBRIDGE_LISTEN:-127.0.0.1:8080}"     # web pages, /healthz, /readyz, /metrics, /api/...
  # Who may log in to the web pages: name -> hash made by `orderbridge hash-password`.
  users:
    @WEB_USER@: "@WEB_HASH@"
  session_secret: "${ORDERBRIDGE_SESSION_SECRET:-}"   # empty: a new key per start
  # The customers' page /track: order number plus the last 4 digits of the phone in the ERP's record.
  track:
    enabled: true
    system: erp
    field: contact.phone
    factor: phone
    digits: 4

display:
  timezone: Asia/Shanghai           # times in tables and explanations; JSON keeps ISO 8601 with offsets

systems:

  # --- The ERP ---------------------------------------------------------------------------------
  # GET /api/v1/sale-orders?modified_since=...&page=1&page_size=50 with a bearer token. Answers
  # {"code": 0, "message": "ok", "data": {"items": [...], "page": 1, "total": 17}}; a failure comes
  # back as HTTP 200 with a non-zero code, which `errors` turns into a real error.
  erp:
    type: rest
    base_url: "@ERP_URL@"
    auth:
      bearer: "@ERP_TOKEN@"
    poll:
      every: 1m
    list:
      path: /api/v1/sale-orders
      params:
        modified_since: "{cursor}"   # replaced by the saved cursor (minus the overlap) on every poll
      records: data.items            # where the list of records is in the answer
      paging:
        style: page                  # page numbers from 1 ...
        param: page
        size_param: page_size        # ... and this many records per page
        size: 50
    cursor:
      field: modified                # the record field the cursor follows
      overlap: 5m                    # re-read a little: timestamps have one-second precision and ties
      sorted: true                   # oldest first, so the cursor may advance page by page
    errors:
      field: code
      ok: [0]
      message: message
    # The ERP sends local time without a zone ("2026-11-22 08:00:00").
    timezone: Asia/Shanghai
    # Canonical order keys look like SO-000042. The ERP writes SO-2026-0042: keep the number after
    # the year, then format it.
    order_id:
      field: bill_no
      pattern: 'SO-\d{4}-(\d+)'
      format: 'SO-{0:0>6}'
    status:
      dimension: fulfillment
      field: status
      map:
        草稿: placed          # draft
        已审核: approved      # approved
        备货中: preparing     # being prepared
        已发货: shipped       # shipped
        已签收: delivered     # delivered, signed for
        已作废: cancelled     # voided
    fields:
      record_id: id
      external_ref: customer_po
      updated: modified
      ordered_qty: qty
      order_amount: amount
      currency: currency

  # --- The warehouse -----------------------------------------------------------------------------
  # GET /v2/outbound-orders?updated_after=...&limit=100 with an X-Api-Key header. Answers
  # {"data": [...], "next_cursor": "..."}; the next page is asked for with cursor=<next_cursor>,
  # and a null next_cursor ends the listing. The warehouse is the authority on fulfilment.
  wms:
    type: rest
    base_url: "@WMS_URL@"
    auth:
      api_key:
        header: X-Api-Key
        value: "@WMS_KEY@"
    poll:
      every: 1m
    list:
      path: /v2/outbound-orders
      params:
        updated_after: "{cursor}"
      records: data
      paging:
        style: cursor
        next: next_cursor            # where the next page's token is in the answer
        param: cursor                # the query parameter that sends it back
        size_param: limit
        size: 100
    cursor:
      field: updated_at
      overlap: 5m
      sorted: true
    # Timestamps arrive in UTC with a Z, so no `timezone` is needed here.
    # The warehouse writes XSDD000042 for order SO-000042.
    order_id:
      field: order_ref
      strip_prefix: [XSDD]
      format: 'SO-{0:0>6}'
    status:
      dimension: fulfillment
      field: status
      map:
        NEW: approved         # the ERP releases only approved orders to the warehouse
        ALLOCATED: preparing
        PICKING: preparing
        PACKED: ready_to_ship
        SHIPPED: shipped
        DELIVERED: delivered
        CANCELLED: cancelled
        # QC_HOLD is missing on purpose: the warehouse added it last week and nobody told us.
        # Records in an unmapped status are kept and reported as `unmapped_status`, never guessed.
    fields:
      record_id: wms_id
      updated: updated_at
      ordered_qty: qty_ordered
      shipped_qty: qty_shipped
      links:
        tracking_number: tracking_no
    # A record without an order number is attached to its order through its tracking number;
    # one that matches nothing is reported as an orphan.
    link_by: [tracking_number]

  # --- The purchasing workbook -------------------------------------------------------------------
  # Every .xlsx in the folder is read, and read again when it changes. Columns are found by their
  # header text, so the order of columns does not matter, nor does the position of a row.
  purchasing:
    type: spreadsheet
    path: "@PURCHASING_DIR@/*.xlsx"
    sheet: 采购跟踪
    poll:
      every: 1m
    timezone: Asia/Shanghai
    columns:                 # a name of our choosing -> the header in the sheet
      order: 订单号
      status: 状态
      updated: 更新时间
      qty: 数量
    # People type order numbers by hand: "so 42", " SO42 ", "SO-0042" all mean SO-000042.
    order_id:
      field: order
      strip_prefix: [SO]
      remove: " -_/"
      format: 'SO-{0:0>6}'
    status:
      dimension: fulfillment
      field: status
      map:
        已下单: placed
        备货中: preparing
        已发货: shipped
    fields:
      updated: updated
      ordered_qty: qty

  # --- The finance export ------------------------------------------------------------------------
  # Finance knows billing only; its order numbers look like "#42" or "SO/0042".
  finance:
    type: spreadsheet
    path: "@FINANCE_FILE@"
    poll:
      every: 1m
    timezone: Asia/Shanghai
    columns:
      order: order_no
      billing: invoice_status
      invoiced: invoiced_amount
      paid: paid_amount
      currency: currency
      updated: updated_at
    order_id:
      field: order
      pattern: '^(?:#|SO\s*/\s*)(\d+)$'
      format: 'SO-{0:0>6}'
    status:
      dimension: billing
      field: billing
      map:
        unbilled: unbilled
        invoiced: invoiced
        paid: paid
    fields:
      updated: updated
      invoiced_amount: invoiced
      paid_amount: paid
      currency: currency

  # --- The carrier --------------------------------------------------------------------------------
  # Kuaidi100 (快递100) pushes parcel updates to POST /webhooks/carrier, signed with the salt given when
  # subscribing; orderbridge stores each push before it answers {"result":true,"returnCode":"200",...}.
  # Parcels are attached to their orders by tracking number, which the warehouse records carry.
  carrier:
    type: kuaidi100
    webhook:
      secret: "@KD100_SALT@"
    link_by: [tracking_number]

reconcile:
  every: 1m
  # Whose word counts when systems disagree, per dimension.
  authority:
    fulfillment: wms
    billing: finance
  # Systems legitimately lag each other by minutes: a disagreement younger than this is not yet
  # a discrepancy. Add per-system or per-rule entries (e.g. `finance: 1d`); the longest applies.
  grace:
    default: 30m
  # Time allowed in a status before the order counts as stuck, in escalating tiers.
  sla:
    preparing: [1d, 3d]
  # An order approved anywhere should reach the warehouse within two hours.
  expect:
    - system: wms
      after: approved
      within: 2h

# --- Telling people ------------------------------------------------------------------------------
# Reports and e-mail alerts go out through this server; chat alerts to the channels below. The demo
# writes what it would send into its folder instead (report/ and alerts/); `--serve` really tries,
# and nothing listens at these addresses, so the messages wait in the outbox (`orderbridge outbox`).
smtp:
  host: "${DEMO_SMTP_HOST:-127.0.0.1}"
  port: 2525
  security: none                   # a local relay; a real server: starttls (587) or tls (465) with a login
  from: "orderbridge demo <orderbridge@example.com>"

reports:
  finance:                         # every weekday at 08:00 Shanghai time, in Chinese
    to: [finance@example.com]
    cron: "0 8 * * 1-5"
    timezone: Asia/Shanghai
    language: zh-CN
    rules: [amount_mismatch, quantity_mismatch, status_conflict, missing]
    only: all_open

alerts:
  language: zh-CN
  channels:
    ops:                           # a DingTalk group robot with signing (加签)
      type: dingtalk
      url: "${DEMO_DINGTALK_URL:-http://127.0.0.1:9/robot/send?access_token=demo}"
      secret: "${DEMO_DINGTALK_SECRET:-SECdemo}"
    boss:
      type: email
      to: [director@example.com]
  rules:
    - {when: {severity: critical}, send: [ops]}     # operations hears of critical conflicts at once
    - {when: {rule: stuck, tier: 1}, send: [ops]}   # ... and of orders past their first SLA tier
    - {when: {age: 3d}, send: [boss]}               # management when a problem stays open 3 days
    - {when: {source: unhealthy}, send: [ops]}      # and when a source keeps failing
"""
