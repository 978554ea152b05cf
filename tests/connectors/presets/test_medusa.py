"""The Medusa preset (`type: medusa`) against a local Medusa v2 shop: the conformance suite, and its own
checks on Medusa's shapes (status, payment_status and fulfillment_status each on its axis, an inclusive
`updated_at[$gte]`, a secret API key or an admin login, daily full re-reads)."""

from __future__ import annotations

import base64
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from connectors.conformance import MYSTERY, PICKING, SHIPPED, ApiSource, ApiSuite, Order, StartServer
from connectors.presets.medusa_server import API_KEY, EMAIL, PASSWORD, FakeMedusa, fixture
from live_http import Seen
from pydantic import ValidationError

from orderbridge.config.loader import parse_config
from orderbridge.connectors import registry
from orderbridge.connectors.base import Batch, ConnectorContext, SourceError
from orderbridge.connectors.presets.medusa.settings import MedusaSettings
from orderbridge.mapping.model import SourceRecord
from orderbridge.mapping.status import map_statuses

WORDS = {PICKING: "partially_fulfilled", SHIPPED: "shipped", MYSTERY: "picked_up_by_courier"}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def serve(fake: FakeMedusa) -> Any:
    return lambda seen: fake.handle(seen.method, seen.path, seen.query, seen.headers, seen.body)


class MedusaSource(ApiSource):
    connector_type = "medusa"
    minimal: ClassVar[dict[str, Any]] = {
        "type": "medusa",
        "base_url": "https://shop.example.com",
        "api_key": API_KEY,
    }
    misspelled = ("page_sise", "page_size")
    expected: ClassVar[dict[str, str]] = {PICKING: "preparing", SHIPPED: "shipped"}
    bad_reason = "ambiguous"
    vendor_error_text = "invalid_data"
    rereads_at_cursor = True  # updated_at[$gte] is inclusive: the last order comes again

    def __init__(self, server: StartServer) -> None:
        self.shop = FakeMedusa()
        super().__init__(server)

    def block(self) -> dict[str, Any]:
        return {**self.minimal, "base_url": self.url, "page_size": 2}

    def publish(self, new: list[Order]) -> None:
        for order in new:
            serial = int(order.number.removeprefix("SO-"))
            self.shop.put(
                {
                    "id": f"order_01JD{serial:022d}",
                    "display_id": order.number,
                    "status": "pending",
                    "payment_status": "captured",
                    "fulfillment_status": WORDS[order.status],
                    "total": "1,250" if order.bad else 10 * serial,  # text where a number belongs
                    "currency_code": "eur",
                    "created_at": iso(order.updated),
                    "updated_at": iso(order.updated),
                }
            )

    def answer(self, seen: Seen) -> tuple[Any, ...]:
        return serve(self.shop)(seen)

    def vendor_error(self) -> tuple[Any, ...]:
        return (400, {"type": "invalid_data", "message": "Invalid request: Field 'updated_at' is invalid"})


class TestMedusaConformance(ApiSuite):
    source_class = MedusaSource


# -- Medusa's own shapes ------------------------------------------------------------------------------


@pytest.fixture
def shop(live_server: StartServer) -> tuple[FakeMedusa, str]:
    fake = FakeMedusa()
    fake.put(*fixture("orders.json"))
    return fake, live_server(serve(fake)).url


def settings(url: str, **more: Any) -> MedusaSettings:
    made = registry.lookup("medusa").settings.model_validate({"type": "medusa", "base_url": url, **more})
    assert isinstance(made, MedusaSettings)
    return made


def read(block: MedusaSettings) -> list[Batch]:
    connector = registry.create("shop", block, ConnectorContext())
    try:
        return list(connector.poll(None, threading.Event()))
    finally:
        connector.close()


def of(batches: list[Batch]) -> dict[str, SourceRecord]:
    return {r.order_ref or "": r for b in batches for r in b.records}


def test_orders_map_each_status_onto_its_dimension(shop: tuple[FakeMedusa, str]) -> None:
    """The order's status decides first (canceled, draft, requires_action), then the fulfilment status;
    the payment status is billing; a fulfilment status nobody mapped is `unmapped`."""
    _, url = shop
    block = settings(url, api_key=API_KEY)
    found = {
        key: tuple(s.status for s in map_statuses(block.status, r.native_status).values())
        for key, r in of(read(block)).items()
    }
    assert found == {
        "1041": ("placed", "paid"),
        "1042": ("preparing", "invoiced"),  # authorized: not yet captured
        "1043": ("ready_to_ship", "paid"),  # fulfilled: packed, not shipped
        "1044": ("shipped", "paid"),  # partially refunded: paid, with a refund
        "1045": ("delivered", "paid"),
        "1046": ("cancelled", "voided"),
        "1047": ("on_hold", "invoiced"),
        "1048": ("preparing", "partially_paid"),
        "1049": ("placed", "refunded"),  # archived with nothing fulfilled
        "1050": ("placed", "unbilled"),  # a draft order
        "1051": ("shipped", "invoiced"),  # partially delivered
        "1052": ("unmapped", "paid"),
    }


def test_amounts_are_numbers_in_the_orders_currency(shop: tuple[FakeMedusa, str]) -> None:
    """Medusa v2 writes totals as numbers in the currency's unit (not cents): 45.5 EUR is 45.5."""
    _, url = shop
    order = of(read(settings(url, api_key=API_KEY)))["1041"]
    assert (order.amounts.order, order.amounts.currency) == (45.5, "eur")
    assert order.status_at == datetime(2024, 5, 1, 9, 12, 44, 120000, tzinfo=UTC)


def test_the_listing_asks_from_the_cursor_sorted_with_the_fields_it_reads(
    shop: tuple[FakeMedusa, str],
) -> None:
    """`updated_at[$gte]`, `order=updated_at`, `fields` naming the status fields (Medusa leaves some out
    by default), offset/limit pages; two orders sharing one updated_at across a page are both read."""
    fake, url = shop
    found = of(read(settings(url, api_key=API_KEY, page_size=2)))
    assert len(found) == 12
    first = fake.asked[0]
    assert first["order"] == "updated_at" and first["limit"] == "2"
    assert set(first["fields"].split(",")) >= {"status", "payment_status", "fulfillment_status", "updated_at"}
    assert "updated_at[$gte]" in first


def test_an_admin_login_works_instead_of_a_key(shop: tuple[FakeMedusa, str]) -> None:
    """With `username` and `password` the preset logs in (POST /auth/user/emailpass) and sends the JWT."""
    _, url = shop
    assert len(of(read(settings(url, username=EMAIL, password=PASSWORD)))) == 12
    with pytest.raises(SourceError, match="check the login credentials") as failure:
        read(settings(url, username=EMAIL, password="wrong-password-1"))
    assert "wrong-password-1" not in str(failure.value)


def test_one_credential_is_asked_for() -> None:
    """A key and a login together, or neither, or half a login, is refused with what to give."""
    for more in ({}, {"api_key": API_KEY, "username": EMAIL, "password": PASSWORD}, {"username": EMAIL}):
        with pytest.raises(ValidationError, match=r"api_key|both"):
            settings("https://shop.example.com", **more)


def test_a_full_reread_is_due_daily_by_default() -> None:
    """Payments captured and fulfilments shipped need not move updated_at: a full re-read runs daily."""
    assert settings("https://shop.example.com", api_key=API_KEY).rest().poll.full_every == timedelta(days=1)


def test_the_docs_configuration_loads_as_written() -> None:
    """The configuration on docs/connectors/medusa.md is accepted, in 15 lines or fewer, secrets from
    the environment."""
    page = (Path(__file__).parents[3] / "docs" / "connectors" / "medusa.md").read_text(encoding="utf-8")
    [example] = [b for b in re.findall(r"```yaml\n(.*?)```", page, re.S) if b.startswith("systems:")]
    assert len(example.strip().splitlines()) <= 15
    config = parse_config(example, environ={"MEDUSA_API_KEY": "sk_from_env"})
    assert isinstance(config.systems["shop"], MedusaSettings)


def test_the_key_goes_as_basic_auth_and_never_as_itself(shop: tuple[FakeMedusa, str]) -> None:
    """The secret key is sent as Medusa's SDK sends it, base64 of `sk_…:` after `Basic`; the key itself
    is in no request."""
    seen: list[str] = []
    fake, url = shop
    checked = fake.authorised

    def watching(header: str) -> bool:
        seen.append(header)
        return checked(header)

    fake.authorised = watching  # type: ignore[method-assign]
    read(settings(url, api_key=API_KEY))
    assert seen and all(h == "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode() for h in seen)
