"""The Odoo preset (`type: odoo`) against a local Odoo, over JSON-RPC and JSON-2: the conformance suite,
and its own checks on Odoo's shapes (composite statuses, `false` for empty fields, UTC datetimes
without a zone, deliveries and invoices whose changes leave the order's write_date alone)."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
import respx
from connectors.conformance import MYSTERY, PICKING, SHIPPED, ApiSource, ApiSuite, Order, StartServer
from connectors.presets.odoo_server import API_KEY, DATABASE, LOGIN, FakeOdoo, fixture
from connectors.presets.reading import by_id, poll_all, statuses
from live_http import Seen
from pydantic import ValidationError
from typer.testing import CliRunner

from orderbridge.config.errors import ConfigError
from orderbridge.config.loader import parse_config
from orderbridge.connectors import registry
from orderbridge.connectors.base import Batch, ConnectorContext, SourceError
from orderbridge.connectors.presets.odoo.settings import OdooSettings
from orderbridge.connectors.probe import probe
from orderbridge.scheduler.cli import app
from orderbridge.scheduler.sync import sync_system
from orderbridge.storage import observations
from orderbridge.storage.db import Store

ODOO = "https://acme.odoo.example"
RPC = {"type": "odoo", "base_url": ODOO, "database": DATABASE, "username": LOGIN, "api_key": API_KEY}
JSON2 = {"type": "odoo", "base_url": ODOO, "api_key": API_KEY}
# PICKING and SHIPPED as Odoo says them: a confirmed order partly and fully delivered
WORDS = {
    PICKING: {"state": "sale", "delivery_status": "partial"},
    SHIPPED: {"state": "sale", "delivery_status": "full"},
    MYSTERY: {"state": "x_awaiting_credit_check", "delivery_status": False},
}


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


class OdooSource(ApiSource):
    connector_type = "odoo"
    minimal: ClassVar[dict[str, Any]] = RPC
    misspelled = ("usernme", "username")
    bad_reason = "write_date"
    rereads_at_cursor = True  # the overlap (5 min) re-reads the last order before the saved cursor
    vendor_error_text = "error.code=200: The requested operation cannot be completed"

    def __init__(self, server: StartServer) -> None:
        self.odoo = FakeOdoo()
        super().__init__(server)

    def block(self) -> dict[str, Any]:
        return {**self.minimal, "base_url": self.url, "page_size": 2}

    def publish(self, new: list[Order]) -> None:
        for order in new:
            serial = int(order.number.removeprefix("SO-"))
            self.odoo.put(
                "sale.order",
                {
                    "id": serial,
                    "name": order.number,
                    **WORDS[order.status],
                    "invoice_status": "no",
                    "client_order_ref": False,
                    "amount_total": 10.0 * serial,
                    "currency_id": [2, "USD"],
                    # a second no clock has: the record cannot be read
                    "write_date": stamp(order.updated)[:-2] + "60" if order.bad else stamp(order.updated),
                },
            )

    def listing(self, seen: Seen) -> bool:
        return b'"authenticate"' not in seen.body

    def answer(self, seen: Seen) -> tuple[Any, ...]:
        return self.odoo.handle(seen.path, seen.headers, seen.body)

    def vendor_error(self) -> tuple[Any, ...]:
        error = {
            "code": 200,
            "message": "Odoo Server Error",
            "data": {
                "name": "odoo.exceptions.UserError",
                "message": "The requested operation cannot be completed due to security restrictions.",
                "arguments": ["The requested operation cannot be completed due to security restrictions."],
                "context": {},
                "debug": "Traceback (most recent call last): ...",
            },
        }
        return (200, {"jsonrpc": "2.0", "id": 3, "error": error})

    def throttle(self, retry_after: int) -> tuple[Any, ...]:
        return (429, {"error": "Too Many Requests"}, [("Retry-After", str(retry_after))])


class OdooJson2Source(OdooSource):
    minimal: ClassVar[dict[str, Any]] = JSON2
    misspelled = ("api_kye", "api_key")
    vendor_error_text = "HTTP 422"

    def vendor_error(self) -> tuple[Any, ...]:
        body = {
            "name": "odoo.exceptions.UserError",
            "message": "The requested operation cannot be completed due to security restrictions.",
            "arguments": ["The requested operation cannot be completed due to security restrictions."],
            "context": {},
            "debug": "Traceback (most recent call last): ...",
        }
        return (422, body)


class TestOdooJsonRpcConformance(ApiSuite):
    source_class = OdooSource


class TestOdooJson2Conformance(ApiSuite):
    source_class = OdooJson2Source


# -- Odoo's own shapes --------------------------------------------------------------------------------


def settings(**more: Any) -> OdooSettings:
    made = registry.lookup("odoo").settings.model_validate({**RPC, **more})
    assert isinstance(made, OdooSettings)
    return made


def read(odoo: FakeOdoo, block: OdooSettings, cursor: dict[str, Any] | None = None) -> list[Batch]:
    with respx.mock(assert_all_called=False) as router:
        router.post(f"{ODOO}/jsonrpc").mock(side_effect=odoo.respx)
        router.post(url__regex=rf"{re.escape(ODOO)}/json/2/.*").mock(side_effect=odoo.respx)
        return poll_all("erp", block, cursor)


@pytest.fixture
def odoo() -> FakeOdoo:
    made = FakeOdoo()
    made.put("sale.order", *fixture("sale_orders.json"))
    made.put("stock.picking", *fixture("pickings.json"))
    made.put("account.move", *fixture("invoices.json"))
    return made


ORDER_STATUSES = {
    "42": ("preparing", "unbilled"),  # sale, partial, to invoice
    "43": ("placed", "unbilled"),  # draft (delivery_status false)
    "44": ("approved", "invoiced"),  # sale without deliveries (false): services
    "45": ("cancelled", "unbilled"),
    "46": ("shipped", "invoiced"),  # done (locked, Odoo 16) and fully delivered
    "47": ("preparing", "unbilled"),  # started (Odoo 17)
    "48": ("shipped", "invoiced"),  # upselling
    "49": ("placed", "unbilled"),  # sent quotation
    "50": ("approved", "unbilled"),  # pending
    "51": ("unmapped", "unbilled"),  # a state a module added
}


def test_sale_orders_map_state_delivery_and_invoice_status_together(odoo: FakeOdoo) -> None:
    """Each recorded-shape sale order gets the fulfilment its state and delivery status say together,
    and the billing its invoice status says; an empty delivery status (`false`) is no status, and a
    state nobody mapped is `unmapped` with the word kept."""
    block = settings()
    orders = by_id(read(odoo, block), None)
    found = {
        key: (s.get("fulfillment"), s.get("billing"))
        for key, s in ((k, statuses(block, r)) for k, r in orders.items())
    }
    assert found == ORDER_STATUSES
    assert orders["51"].native_status["state"] == "x_awaiting_credit_check"


def test_false_is_no_value_and_datetimes_are_utc(odoo: FakeOdoo) -> None:
    """`client_order_ref: false` is no external reference (not "False"); `write_date` without a zone is
    UTC; the currency comes from the many2one pair; the stored record keeps Odoo's `false`."""
    orders = by_id(read(odoo, settings()), None)
    assert orders["42"].external_ref == "PO-7781" and orders["43"].external_ref is None
    assert orders["43"].raw["client_order_ref"] is False
    assert orders["44"].status_at == datetime(2024, 5, 1, 8, 30, 12, tzinfo=UTC)
    assert (orders["44"].amounts.order, orders["46"].amounts.currency) == (240.5, "EUR")
    assert orders["42"].order_ref == "S00042"


def test_deliveries_and_invoices_attach_to_their_orders_with_their_own_statuses(odoo: FakeOdoo) -> None:
    """Pickings attach by `sale_id` ([42, "S00042"]) and invoices by `invoice_origin`, each with the
    status its own fields say; every draft invoice is named "/", so invoices are told apart by id."""
    block = settings()
    batches = read(odoo, block)
    deliveries, invoices = by_id(batches, "erp.deliveries"), by_id(batches, "erp.invoices")
    assert {
        k: (r.parent_ref, statuses(block, r, "deliveries")["fulfillment"]) for k, r in deliveries.items()
    } == {
        "WH/OUT/00012": ("S00042", "shipped"),
        "WH/OUT/00013": ("S00042", "ready_to_ship"),
        "WH/OUT/00014": ("S00047", "preparing"),
        "WH/OUT/00015": ("S00045", "cancelled"),
        "WH/OUT/00016": ("S00050", "preparing"),
    }
    assert {k: (r.parent_ref, statuses(block, r, "invoices")["billing"]) for k, r in invoices.items()} == {
        "7": ("S00042", "invoiced"),
        "8": ("S00044", "partially_paid"),
        "9": ("S00046", "paid"),
        "10": ("S00048", "refunded"),  # a credit note, paid
        "11": ("S00050", "unbilled"),  # a draft, named "/"
        "12": ("S00048", "invoiced"),  # in_payment: registered, not yet matched with the bank
    }
    assert invoices["8"].amounts.invoiced == 240.5


def test_a_delivery_done_later_is_read_though_the_order_did_not_change(odoo: FakeOdoo) -> None:
    """Validating a picking moves only the picking's write_date: the next poll, from the saved cursor,
    asks each model from its own cursor (5 minutes behind it) and reads the picking in its new state;
    of the orders only the one inside the overlap comes again (the store finds it unchanged)."""
    block = settings()
    first = read(odoo, block)
    cursor = first[-1].cursor
    odoo.put(
        "stock.picking", {**fixture("pickings.json")[1], "state": "done", "write_date": "2024-05-03 08:00:00"}
    )
    odoo.calls.clear()
    again = read(odoo, block, cursor)
    assert list(by_id(again, None)) == ["51"]
    assert sorted(by_id(again, "erp.deliveries")) == ["WH/OUT/00013", "WH/OUT/00016"]
    assert by_id(again, "erp.deliveries")["WH/OUT/00013"].native_status["state"] == "done"
    first_asked = {}
    for model, named in odoo.calls:
        first_asked.setdefault(model, named["domain"])
    assert ["write_date", ">", "2024-05-02 08:55:00"] in first_asked["stock.picking"]
    assert ["write_date", ">", "2024-05-01 10:00:00"] in first_asked["sale.order"]


def test_json2_sends_the_key_as_bearer_and_names_the_database(odoo: FakeOdoo) -> None:
    """Without `username` the preset speaks JSON-2: `Authorization: bearer <key>`, X-Odoo-Database when a
    database is named, the answer's body is the list of records."""
    seen: list[Any] = []

    def answer(request: Any) -> Any:
        seen.append(request)
        return odoo.respx(request)

    block = OdooSettings.model_validate(
        {**JSON2, "database": DATABASE, "deliveries": False, "invoices": False}
    )
    with respx.mock() as router:
        router.post(f"{ODOO}/json/2/sale.order/search_read").mock(side_effect=answer)
        connector = registry.create("erp", block, ConnectorContext())
        found = [r for b in connector.poll(None, threading.Event()) for r in b.records]
    assert len(found) == 10
    assert seen[0].headers["authorization"] == f"bearer {API_KEY}"
    assert seen[0].headers["x-odoo-database"] == DATABASE


def test_turning_off_deliveries_and_invoices_reads_the_orders_alone(odoo: FakeOdoo) -> None:
    """`deliveries: false` and `invoices: false` leave their models unread and their systems out."""
    block = settings(deliveries=False, invoices=False)
    read(odoo, block)
    assert {model for model, _ in odoo.calls} == {"sale.order"}
    assert set(block.streams("erp")) == {"erp"}
    assert set(settings().streams("erp")) == {"erp", "erp.deliveries", "erp.invoices"}


def test_a_field_odoo_lacks_fails_the_poll_naming_it(odoo: FakeOdoo) -> None:
    """Asking for a field the database does not have (delivery_status before Odoo 16) is Odoo's
    ValueError inside a 200; the poll fails quoting it, and says nothing of the key."""
    block = settings(order_fields=["name", "state", "x_missing", "write_date"])
    with pytest.raises(SourceError) as failure:
        read(odoo, block)
    assert "Invalid field 'x_missing' on model 'sale.order'" in str(failure.value)
    assert API_KEY not in str(failure.value)


def test_problems_with_the_block_are_refused_together() -> None:
    """JSON-RPC without its database, a time zone other than UTC: refused at load, each at its place."""
    text = (
        "systems:\n  erp:\n    type: odoo\n    base_url: https://acme.odoo.example\n"
        "    username: ops@acme.example\n    api_key: k\n"
    )
    with pytest.raises(ConfigError, match="api: jsonrpc needs database"):
        parse_config(text)
    with pytest.raises(ValidationError, match="writes every date and time in UTC"):
        settings(timezone="Europe/Paris")


def test_the_docs_configurations_load_as_written() -> None:
    """Each configuration on docs/connectors/odoo.md is accepted, in 15 lines or fewer, with its
    secrets from the environment."""
    page = (Path(__file__).parents[3] / "docs" / "connectors" / "odoo.md").read_text(encoding="utf-8")
    examples = [b for b in re.findall(r"```yaml\n(.*?)```", page, re.S) if b.startswith("systems:")]
    assert len(examples) == 2
    for example in examples:
        assert len(example.strip().splitlines()) <= 15 and "${ODOO_API_KEY}" in example
        config = parse_config(example, environ={"ODOO_API_KEY": "from-env"})
        assert isinstance(config.systems["erp"], OdooSettings)


def test_a_sync_stores_orders_deliveries_and_invoices(odoo: FakeOdoo, store: Store) -> None:
    """A whole sync writes the three systems; the second reads nothing new."""
    block = settings()
    with respx.mock() as router:
        router.post(f"{ODOO}/jsonrpc").mock(side_effect=odoo.respx)
        first = sync_system(store, "erp", block, ConnectorContext())
        again = sync_system(store, "erp", block, ConnectorContext())
    assert first.new == 10 + 5 + 6
    assert (again.new, again.changed) == (0, 0)


def test_probe_shows_the_first_page_as_the_listing_reads_it(odoo: FakeOdoo) -> None:
    """`orderbridge probe` on an Odoo system logs in, reads one page of sale orders and counts a field
    Odoo sent as `false` as absent (no example "False"); the state nobody mapped is pointed out."""
    block = settings(page_size=20)
    with respx.mock(assert_all_called=False) as router:
        router.post(f"{ODOO}/jsonrpc").mock(side_effect=odoo.respx)
        report = probe("erp", block, ConnectorContext())
    assert report.error is None and report.records == 10
    reference = next(f for f in report.fields if f.path == "client_order_ref")
    assert reference.found == 3 and "False" not in reference.examples
    unmapped = {word for s in report.statuses for word in s.unmapped}
    assert any("x_awaiting_credit_check" in word for word in unmapped)
    assert API_KEY not in report.source


@pytest.mark.usefixtures("command_logging")
def test_the_docs_set_up_probes_and_syncs_from_the_command_line(
    tmp_path: Path, store_url: str, live_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's Odoo 17 configuration, pointed at a local Odoo over real HTTP with the key from the
    environment: `probe` reads a page and finds nothing to fix, `sync` stores the orders, deliveries and
    invoices, and neither prints the key."""
    odoo = FakeOdoo()
    odoo.put("sale.order", *[o for o in fixture("sale_orders.json") if o["id"] != 51])  # all mapped
    odoo.put("stock.picking", *fixture("pickings.json"))
    odoo.put("account.move", *fixture("invoices.json"))
    server = live_server(lambda seen: odoo.handle(seen.path, seen.headers, seen.body))
    page = (Path(__file__).parents[3] / "docs" / "connectors" / "odoo.md").read_text(encoding="utf-8")
    example = next(b for b in re.findall(r"```yaml\n(.*?)```", page, re.S) if "username:" in b)
    example = example.replace("https://acme.odoo.com", server.url).replace(
        "database: acme", f"database: {DATABASE}"
    )
    example = example.replace("orderbridge@acme.example", LOGIN)
    config = tmp_path / "orderbridge.yaml"
    config.write_text(f"store: {{url: '{store_url}'}}\n{example}", encoding="utf-8")
    monkeypatch.setenv("ODOO_API_KEY", API_KEY)
    probed = CliRunner().invoke(app, ["probe", "erp", "-c", str(config)])
    assert probed.exit_code == 0, probed.output
    synced = CliRunner().invoke(app, ["sync", "erp", "-c", str(config)])
    assert synced.exit_code == 0, synced.output
    assert API_KEY not in probed.output + synced.output
    store = Store(store_url)
    try:
        with store.engine.connect() as conn:
            counted = observations.counts_by_system(conn)
    finally:
        store.close()
    assert (counted["erp"], counted["erp.deliveries"], counted["erp.invoices"]) == (9, 5, 6)
