"""The read API for orders on a real socket: listing with each system's status side by side and the
same filters as the command line, an order found by any system's number, unknown names refused."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from rich.console import Console

from orderbridge.config.loader import load_config
from orderbridge.scheduler.demo import run_demo
from orderbridge.scheduler.http import Metrics, create_app
from orderbridge.storage.db import Store
from tests.scheduler.test_http import Served


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    directory = tmp_path_factory.mktemp("demo-api")
    with open(directory / "out.txt", "w", encoding="utf-8") as out:
        assert run_demo(directory, console=Console(file=out)) == 0
    loaded = load_config(directory / "orderbridge.yaml")
    store = Store(loaded.config.store.url, loaded.base_dir)
    app = create_app(store, Metrics(), lambda: {"store": True}, systems=loaded.config.systems)
    with Served(app) as served:
        yield served
    store.close()


def test_orders_lists_each_systems_status_and_filters_like_the_cli(client: httpx.Client) -> None:
    """/api/orders gives every order with each system's records and statuses, canonical and native;
    system, status, since and limit filter as `orderbridge orders` does."""
    every = client.get("/api/orders").json()
    assert len(every) == 18
    order = next(o for o in every if o["order_key"] == "SO-000044")
    assert order["systems"]["erp"][0]["statuses"]["fulfillment"]["native"] == "已作废"
    assert order["systems"]["wms"][0]["statuses"]["fulfillment"]["status"] == "shipped"
    assert order["open_discrepancies"] == 2  # the ERP voided it: the WMS shipped it, the carrier delivered it
    picking = client.get("/api/orders", params={"system": "wms", "status": "preparing"}).json()
    assert [o["order_key"] for o in picking] == ["SO-000049", "SO-000050", "SO-000054", "SO-000058"]
    paid = client.get(
        "/api/orders", params=[("status", "billing.paid"), ("status", "billing.invoiced")]
    ).json()
    assert [o["order_key"] for o in paid] == ["SO-000041", "SO-000043", "SO-000046", "SO-000047"]
    assert len(client.get("/api/orders", params={"since": "1d", "limit": 3}).json()) == 3
    assert client.get("/api/orders", params={"since": "2099-01-01"}).json() == []


@pytest.mark.parametrize(
    ("path", "params", "listed"),
    [
        ("/api/orders", {"system": "crm"}, ("systems", "wms")),
        ("/api/orders", {"status": "prepared"}, ("statuses", "preparing")),
        ("/api/discrepancies", {"rule": "stuk"}, ("rules", "stuck")),
    ],
)
def test_unknown_names_are_a_400_listing_the_valid_ones(
    client: httpx.Client, path: str, params: dict[str, str], listed: tuple[str, str]
) -> None:
    """An unknown system, status or rule is refused with the valid names, not answered with nothing."""
    answer = client.get(path, params=params)
    assert answer.status_code == 400
    key, example = listed
    assert example in answer.json()[key] and "unknown" in answer.json()["error"]


def test_bad_since_or_limit_is_a_400(client: httpx.Client) -> None:
    """`since` that is neither a duration nor a date, or a limit below 1, says why."""
    assert "neither a duration" in client.get("/api/orders", params={"since": "soon"}).json()["error"]
    assert client.get("/api/orders", params={"limit": "0"}).status_code == 400


def test_an_order_is_found_by_any_systems_number(client: httpx.Client) -> None:
    """/api/orders/{number} takes the ERP's document number or the WMS's; the answer names the order's
    key and what matched; an unknown number is a 404 with the closest keys."""
    by_erp = client.get("/api/orders/SO-2026-0044").json()
    assert (by_erp["order_key"], by_erp["matched_by"]) == ("SO-000044", "erp's order number")
    assert client.get("/api/orders/XSDD000044").json()["order_key"] == "SO-000044"
    unknown = client.get("/api/orders/SO-00004")
    assert unknown.status_code == 404 and unknown.json()["candidates"]
