"""The Kingdee preset against a K3 Cloud WebAPI that answers as the real one (tests/connectors/
kingdee_api.py): the password login and its session cookies, ExecuteBillQuery paged by StartRow and
driven by FModifyDate, arrays of values read in FieldKeys order, a lost session renewed, errors inside
an HTTP 200 failing the poll with Kingdee's message, the outbound and receivable child listings with
cursors of their own, and statuses over the three fields."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
import respx
from connectors.conformance import MYSTERY, PICKING, SHIPPED, ApiSource, ApiSuite, Order, StartServer
from connectors.presets.docs_pages import loaded_examples
from connectors.presets.fake_http import answer
from connectors.presets.kingdee_api import BASE, LOGIN, QUERY, FakeKingdee, error, sales_order
from live_http import Seen
from pydantic import ValidationError

from orderbridge.connectors import registry
from orderbridge.connectors.auth import TOKENS
from orderbridge.connectors.base import Batch, SourceError
from orderbridge.connectors.presets.kingdee.settings import KingdeeSettings
from orderbridge.connectors.probe import probe
from orderbridge.mapping.model import Dimension
from orderbridge.mapping.status import map_statuses


@pytest.fixture(autouse=True)
def _fresh_tokens() -> Iterator[None]:
    TOKENS.clear()
    yield
    TOKENS.clear()


def block(page_size: int = 3, **more: Any) -> dict[str, Any]:
    return {
        "type": "kingdee",
        "base_url": BASE,
        "acct_id": "62a1b2c3d4e5f6",
        "username": "orderbridge",
        "password": "kd-pw-7781",
        "page_size": page_size,
        "receivable": False,
        "retry": {"attempts": 3, "initial_wait": "0s", "max_wait": "1s"},
        **more,
    }


def settings(**more: Any) -> KingdeeSettings:
    return KingdeeSettings.model_validate(block(**more))


def poll(api: FakeKingdee, cursor: dict[str, Any] | None = None, **more: Any) -> tuple[list[Batch], Any]:
    with respx.mock(assert_all_called=False) as router:
        router.post(LOGIN).mock(side_effect=api.login)
        router.post(QUERY).mock(side_effect=api.query)
        connector = registry.create("erp", settings(**more))
        batches = list(connector.poll(cursor, threading.Event()))
    saved = next((b.cursor for b in reversed(batches) if b.cursor is not None), cursor)
    return batches, saved


def outbound_line(
    entry: int, order: int, modified: str, document: str = "C", qty: float = 10.0
) -> dict[str, Any]:
    return {
        "FID": 200000 + entry // 10,
        "FEntity_FEntryID": entry,
        "FBillNo": f"XSCKD{entry:06d}",
        "FSoorDerno": f"XSDD{order:06d}",
        "FRealQty": qty,
        "FDocumentStatus": document,
        "FCancelStatus": "A",
        "FModifyDate": modified,
    }


def orders_of(batches: list[Batch], system: str | None = None) -> list[str | None]:
    return [r.order_ref or r.parent_ref for b in batches if b.system == system for r in b.records]


def test_orders_are_read_page_by_page_by_field_keys_and_resumed_from_the_cursor() -> None:
    """Seven orders over pages of three: each read once, in FModifyDate order, with its fields in
    FieldKeys order; the next poll asks from the saved FModifyDate minus the overlap and reads only
    what changed."""
    api = FakeKingdee()
    api.put("SAL_SaleOrder", *(sales_order(n, f"2026-11-20T10:{n:02d}:00.{n}7") for n in range(1, 8)))
    api.put("SAL_OUTSTOCK", outbound_line(11, 2, "2026-11-20T11:00:00.1"))
    first, cursor = poll(api)
    assert orders_of(first) == [f"XSDD{n:06d}" for n in range(1, 8)]
    record = next(r for b in first for r in b.records if r.order_ref == "XSDD000003")
    assert record.record_id == "100003" and str(record.amounts.order) == "1130.0"
    assert record.status_at is not None and record.status_at.utcoffset().total_seconds() == 8 * 3600
    assert api.queries[0]["FilterString"] == "FModifyDate >= '1970-01-01 08:00:00'"
    assert (
        api.queries[0]["FieldKeys"]
        == "FID,FBillNo,FDocumentStatus,FCloseStatus,FCancelStatus,FModifyDate,FBillAllAmount"
    )
    assert api.logins == 1
    assert orders_of(first, "erp.outbound") == ["XSDD000002"]

    api.put("SAL_SaleOrder", sales_order(4, "2026-11-21T09:00:00.5", close="B"))
    asked = len(api.queries)
    second, _ = poll(api, cursor)
    # From the newest FModifyDate read minus the 5-minute overlap: orders 2, 3, 5, 6, 7 are read again
    # (the store writes nothing for them) with order 4's change, order 1 not at all.
    assert api.queries[asked]["FilterString"] == "FModifyDate >= '2026-11-20 10:02:00'"
    assert sorted(orders_of(second)) == [f"XSDD{n:06d}" for n in range(2, 8)]
    changed = next(r for b in second for r in b.records if r.order_ref == "XSDD000004")
    found = map_statuses(settings().status, changed.native_status)
    assert found[Dimension.fulfillment].status == "closed"


def test_a_lost_session_logs_in_again_and_the_page_is_read() -> None:
    """Kingdee forgets sessions (an IIS recycle): the answer `[[{Result: {ResponseStatus: {MsgCode: 1}}}]]`
    in an HTTP 200 logs in once more and the same page is asked again."""
    api = FakeKingdee()
    api.put("SAL_SaleOrder", *(sales_order(n, f"2026-11-20T10:{n:02d}:00") for n in range(1, 5)))
    api.put("SAL_OUTSTOCK", outbound_line(11, 2, "2026-11-20T11:00:00"))
    api.between = lambda answered: api.expire_sessions() if answered == 1 else None
    batches, _ = poll(api)
    assert orders_of(batches) == [f"XSDD{n:06d}" for n in range(1, 5)]
    assert api.logins == 2


def test_an_error_inside_a_200_fails_the_poll_with_kingdees_message() -> None:
    """A field the form does not have (MsgCode 9) is no list of rows: the poll fails naming it."""
    api = FakeKingdee()
    api.put(
        "SAL_SaleOrder",
        {k: v for k, v in sales_order(1, "2026-11-20T10:00:00").items() if k != "FBillAllAmount"},
    )
    with pytest.raises(SourceError, match="元数据中标识为FBillAllAmount的字段不存在"):
        poll(api)


def test_a_wrong_password_fails_without_showing_it() -> None:
    """LoginResultType 0 is a failed login, whatever the HTTP status; the password is never shown."""
    api = FakeKingdee(password="another-password")
    with pytest.raises(SourceError) as caught:
        poll(api)
    assert "check the login credentials" in str(caught.value)
    assert "kd-pw-7781" not in str(caught.value)


def test_a_short_row_is_quarantined_and_the_page_goes_on() -> None:
    """A row with fewer values than FieldKeys (a proxy cutting the answer, a customised form) is one
    bad record; the others of its page are kept."""
    api = FakeKingdee()
    api.put("SAL_SaleOrder", *(sales_order(n, f"2026-11-20T10:{n:02d}:00") for n in range(1, 3)))
    api.put("SAL_OUTSTOCK", outbound_line(11, 2, "2026-11-20T11:00:00"))
    original = api.query

    def cut(request: Any) -> Any:
        answer = original(request)
        rows = answer.json()
        if rows and isinstance(rows[0], list) and len(rows) == 2 and not isinstance(rows[0][0], dict):
            rows[0] = rows[0][:3]
            return type(answer)(200, json=rows)
        return answer

    api.query = cut  # type: ignore[method-assign]
    batches, _ = poll(api)
    assert orders_of(batches) == ["XSDD000002"]
    problems = [p for b in batches for p in b.problems]
    assert len(problems) == 1 and "3 values for" in problems[0].reason


def test_iis_busy_is_retried() -> None:
    """HTTP 503 from IIS (Kingdee's only throttle-like signal) is retried, then the poll goes on."""
    api = FakeKingdee()
    api.put("SAL_SaleOrder", sales_order(1, "2026-11-20T10:00:00"))
    api.put("SAL_OUTSTOCK", outbound_line(11, 1, "2026-11-20T11:00:00"))
    api.throttle_next = 2
    batches, _ = poll(api)
    assert orders_of(batches) == ["XSDD000001"]


def test_outbound_lines_attach_to_their_order_and_keep_their_own_cursor() -> None:
    """An outbound document approved later leaves the order's FModifyDate alone: the outbound listing
    finds it from its own cursor, per line, each naming its order and its shipped quantity."""
    api = FakeKingdee()
    api.put("SAL_SaleOrder", sales_order(1, "2026-11-20T10:00:00"))
    api.put("SAL_OUTSTOCK", outbound_line(11, 1, "2026-11-20T11:00:00", document="B", qty=4.0))
    _, cursor = poll(api)
    api.put(
        "SAL_OUTSTOCK",
        outbound_line(11, 1, "2026-11-22T08:30:00", document="C", qty=4.0),
        outbound_line(12, 1, "2026-11-22T08:30:00", document="C", qty=6.0),
    )
    batches, _ = poll(api, cursor)
    assert orders_of(batches) == ["XSDD000001"]  # unchanged, read again inside the overlap
    lines = [r for b in batches if b.system == "erp.outbound" for r in b.records]
    assert [(r.record_id, r.parent_ref, str(r.quantities.shipped)) for r in lines] == [
        ("11", "XSDD000001", "4.0"),
        ("12", "XSDD000001", "6.0"),
    ]
    outbound = next(b for b in batches if b.system == "erp.outbound").settings
    assert outbound is not None
    assert map_statuses(outbound.status, lines[0].native_status)[Dimension.fulfillment].status == "shipped"
    assert cursor["children"]["outbound"]["value"].startswith("2026-11-20T11:00:00")


# -- the conformance suite ---------------------------------------------------------------------------

# PICKING: approved, not yet closed; SHIPPED: closed (every line shipped); MYSTERY: a letter Kingdee
# does not use.
STATES = {PICKING: ("C", "A"), SHIPPED: ("C", "B"), MYSTERY: ("X", "A")}


class KingdeeSource(ApiSource):
    connector_type = "kingdee"
    minimal: ClassVar[dict[str, Any]] = {
        "type": "kingdee",
        "base_url": BASE,
        "acct_id": "62a1b2c3d4e5f6",
        "username": "orderbridge",
        "password": "kd-pw-7781",
    }
    misspelled = ("page_sise", "page_size")
    expected: ClassVar[dict[str, str]] = {PICKING: "approved", SHIPPED: "closed"}
    bad_reason = "FBillAllAmount"
    vendor_error_text = "元数据中标识为FNoSuchField的字段不存在"
    rereads_at_cursor = True  # FModifyDate >= cursor minus the overlap

    def __init__(self, server: StartServer) -> None:
        self.tenant = FakeKingdee()
        super().__init__(server)

    def block(self) -> dict[str, Any]:
        return {
            **self.minimal,
            "base_url": f"{self.url}/K3Cloud",
            "page_size": 2,
            "outbound": False,
            "receivable": False,
        }

    def publish(self, new: list[Order]) -> None:
        for order in new:
            serial = int(order.number.removeprefix("SO-"))
            document, close = STATES[order.status]
            modified = order.updated.replace(tzinfo=None).isoformat(timespec="milliseconds")
            row = sales_order(serial, modified, document=document, close=close)
            row["FBillNo"] = order.number
            if order.bad:
                row["FBillAllAmount"] = "1,250"  # text where Kingdee writes a number: ambiguous
            self.tenant.put("SAL_SaleOrder", row)

    def listing(self, seen: Seen) -> bool:
        return "ExecuteBillQuery" in seen.path

    def answer(self, seen: Seen) -> tuple[Any, ...]:
        handler = self.tenant.query if self.listing(seen) else self.tenant.login
        return answer(handler, seen)

    def vendor_error(self) -> tuple[Any, ...]:
        return (200, error("元数据中标识为FNoSuchField的字段不存在", 9))


class TestKingdeeConformance(ApiSuite):
    source_class = KingdeeSource


def test_every_configuration_on_the_docs_page_loads_in_15_lines_with_secrets_from_the_environment() -> None:
    """A new user copies the page's YAML: each example (password, application credentials) is
    accepted as written, at most 15 lines, every credential from the environment."""
    loaded = loaded_examples("kingdee.md", {"password", "app_secret"})
    assert {s.login_style() for s in loaded if isinstance(s, KingdeeSettings)} == {"password", "signed"}


def test_check_config_warns_about_the_unconfirmed_receivable_order_field_until_it_is_set() -> None:
    """The receivable's order field is a documented gap: warned about while receivables are read and
    the field is the preset's guess; not once the user set it, nor when receivables are not read."""
    assert any(
        w.startswith("receivable_order_field: FORDERNUMBER") for w in settings(receivable=True).warnings()
    )
    assert settings(receivable=True, receivable_order_field="FORDERNUMBER").warnings() == []
    assert settings(receivable=False).warnings() == []


def test_credentials_of_one_login_generation_are_required_and_never_an_auth_block() -> None:
    """Without a password, app_id and app_secret are needed (LoginBySign); `login: sdk` picks the SDK's
    headers; an `auth:` block is refused: the credentials go by their Kingdee names."""
    base = {k: v for k, v in block().items() if k != "password"}
    with pytest.raises(ValidationError, match="login signed needs `app_id` and `app_secret`"):
        KingdeeSettings.model_validate(base)
    signed = KingdeeSettings.model_validate({**base, "app_id": "301234_x", "app_secret": "s3cr3t-app"})
    assert signed.rest().auth.type == "kingdee_signed"
    sdk = KingdeeSettings.model_validate(
        {**base, "app_id": "301234_x", "app_secret": "s3cr3t", "login": "sdk"}
    )
    assert sdk.rest().auth.type == "kingdee_sdk"
    assert settings().rest().auth.type == "login"
    with pytest.raises(ValidationError, match="not an `auth` block"):
        KingdeeSettings.model_validate({**block(), "auth": {"type": "bearer", "token": "t"}})


def test_the_companys_filter_is_anded_and_children_can_be_left_out() -> None:
    """`filter` joins the FModifyDate condition; `outbound: false` drops that child listing."""
    made = settings(filter="FSaleOrgId.FNumber = '100'", outbound=False, receivable=True)
    assert (
        made.rest().list.body["data"]["FilterString"]
        == "FModifyDate >= '{cursor}' and (FSaleOrgId.FNumber = '100')"
    )
    assert list(made.rest().children) == ["receivable"]
    assert set(made.streams("erp")) == {"erp", "erp.receivable"}


def test_probe_reads_one_page_of_rows_and_finds_every_field() -> None:
    """`orderbridge probe erp` on a working set-up: the rows, decoded by FieldKeys, hold every field
    the preset reads, and no status combination is unmapped: nothing to fix."""
    api = FakeKingdee()
    api.put("SAL_SaleOrder", *(sales_order(n, f"2026-11-20T10:{n:02d}:00") for n in range(1, 4)))
    with respx.mock(assert_all_called=False) as router:
        router.post(LOGIN).mock(side_effect=api.login)
        router.post(QUERY).mock(side_effect=api.query)
        report = probe("erp", settings())
    assert report.records == 3 and report.problems == []
    found = {f.path: f.found for f in report.fields}
    assert found["FBillNo"] == found["FID"] == found["FModifyDate"] == found["FBillAllAmount"] == 3
    assert "ExecuteBillQuery" in report.source and "kd-pw-7781" not in report.source
