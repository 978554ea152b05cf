"""The settings models on their own, as code that builds a configuration without a file uses them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from orderbridge.config.errors import format_key_path
from orderbridge.config.models import (
    LogSettings,
    OrderbridgeConfig,
    ServerSettings,
    StoreSettings,
    reference_problems,
)
from orderbridge.connectors.rest.settings import RestSettings
from orderbridge.connectors.spreadsheet.settings import SpreadsheetSettings


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///orderbridge.db",
        "sqlite:////var/lib/orderbridge/ob.db",
        "sqlite:///:memory:",
        "postgresql://ob:pw@db.example.com:5432/orderbridge",
        "postgresql+psycopg://ob:pw@db.example.com/orderbridge",
    ],
)
def test_store_accepts_sqlite_and_postgresql(url: str) -> None:
    """The two databases the store runs on are accepted as written."""
    assert StoreSettings(url=url).url == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("mysql://ob:hunter2@db/orders", "database 'mysql' is not supported"),
        ("postgres://ob:hunter2@db/orders", "not postgres://"),
        ("postgresql+psycopg2://ob:hunter2@db/orders", "driver 'psycopg2' is not supported"),
        ("sqlite://relative.db", "three slashes"),
        ("orderbridge.db", "not a database URL"),
        ("postgresql://ob:hunter2@db:port/orders", "port of the database URL is not a number"),
    ],
)
def test_store_refuses_other_urls_without_quoting_them(url: str, reason: str) -> None:
    """Anything else is refused with a reason that never repeats the URL (it may hold a password)."""
    with pytest.raises(ValidationError) as caught:
        StoreSettings(url=url)

    message = caught.value.errors()[0]["msg"]
    assert reason in message
    assert "hunter2" not in message
    assert "url" not in repr(StoreSettings())


@pytest.mark.parametrize(
    ("listen", "host", "port"),
    [("127.0.0.1:8080", "127.0.0.1", 8080), ("localhost:0", "localhost", 0), ("[::1]:65535", "::1", 65535)],
)
def test_server_listen_is_host_and_port(listen: str, host: str, port: int) -> None:
    """`listen` splits into the host and port a server binds; IPv6 hosts lose their brackets."""
    server = ServerSettings(listen=listen)

    assert (server.host, server.port) == (host, port)


@pytest.mark.parametrize("listen", ["8080", 8080, ":8080", "0.0.0.0:65536", "0.0.0.0:http", "::1:8080"])
def test_server_listen_refuses_what_is_not_host_port(listen: object) -> None:
    """A port alone, a port out of range or an unbracketed IPv6 address is refused."""
    with pytest.raises(ValidationError):
        ServerSettings.model_validate({"listen": listen})


def test_log_settings_take_any_case() -> None:
    """`level: INFO` means info; an unknown format is refused."""
    assert LogSettings.model_validate({"level": "INFO", "format": "Console"}).level == "info"
    with pytest.raises(ValidationError):
        LogSettings.model_validate({"format": "text"})


def test_config_built_from_plain_data_picks_connector_models() -> None:
    """OrderbridgeConfig validated directly still turns each system into its connector's settings."""
    config = OrderbridgeConfig.model_validate(
        {
            "systems": {
                "wms": {"type": "rest", "base_url": "https://wms.example.com", "list": {"path": "/orders"}},
                "sheet": {"type": "spreadsheet", "path": "a.csv"},
            },
            "reconcile": {"authority": {"fulfillment": "wms"}},
        }
    )

    assert isinstance(config.systems["wms"], RestSettings)
    assert isinstance(config.systems["sheet"], SpreadsheetSettings)


def test_config_built_from_plain_data_checks_references() -> None:
    """The cross-checks hold for a configuration built in code too, and unknown types are refused."""
    with pytest.raises(ValidationError, match=r"reconcile\.authority\.fulfillment: not a configured system"):
        OrderbridgeConfig.model_validate({"reconcile": {"authority": {"fulfillment": "wms"}}})
    with pytest.raises(
        ValidationError, match="unknown connector type 'acme_erp'; known types: 17track, aftership"
    ):
        OrderbridgeConfig.model_validate({"systems": {"erp": {"type": "acme_erp"}}})
    with pytest.raises(ValidationError, match="system names must"):
        OrderbridgeConfig.model_validate({"systems": {"WMS": {"type": "spreadsheet", "path": "a.csv"}}})


def test_reference_checks() -> None:
    """Each name in `reconcile` that points nowhere is found, and only those."""
    reconcile = {
        "authority": {"fulfillment": "wms", "shipment": "courier"},
        "grace": {"default": "30m", "wms": "1h", "stuck": "2h", "nobody": "1h"},
        "sla": {
            "preparing": ["1d"],
            "shipment.in_transit": ["5d"],
            "billing.shipped": ["1d"],
            "bogus": ["1d"],
        },
        "expect": [{"system": "wms", "after": "approved"}, {"system": "erp", "after": "cancelled"}],
        "rules": ["status_lag", "orphan", "typo"],
    }

    found = {format_key_path(p.path): p.found for p in reference_problems(["wms"], reconcile)}

    assert found == {
        "authority.shipment": "courier",
        "grace.nobody": None,
        "sla['billing.shipped']": None,
        "sla.bogus": None,
        "expect[1].system": "erp",
        "expect[1].after": "cancelled",
        "rules[2]": "typo",
    }


def test_key_paths_read_like_the_file() -> None:
    """Key paths use dots and [index]; keys that hold dots or spaces are quoted."""
    assert format_key_path(("systems", "wms", "list", "paging")) == "systems.wms.list.paging"
    assert format_key_path(("reconcile", "expect", 0, "system")) == "reconcile.expect[0].system"
    assert (
        format_key_path(("reconcile", "sla", "shipment.in_transit")) == "reconcile.sla['shipment.in_transit']"
    )
    assert format_key_path(("systems", "sheet", "columns", "订单号")) == "systems.sheet.columns.订单号"
