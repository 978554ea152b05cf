"""The Salesforce preset (`type: salesforce`) against a local org: the conformance suite, and its own
checks on Salesforce's shapes (SOQL literals, nextRecordsUrl and an absent one at the end, OAuth refresh
on INVALID_SESSION_ID, REQUEST_LIMIT_EXCEEDED, custom picklists mapped in YAML)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from connectors.conformance import MYSTERY, PICKING, SHIPPED, ApiSource, ApiSuite, Order, StartServer, orders
from connectors.presets.bulk import CHANGES, COUNT, sync_then_changes
from connectors.presets.salesforce_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    TOKEN_PATH,
    SalesforceOrg,
    errors,
    order,
)
from live_http import Seen

from orderbridge.connectors import registry
from orderbridge.connectors.base import SourceError
from orderbridge.connectors.presets.salesforce.settings import SalesforceSettings
from orderbridge.mapping.model import Dimension
from orderbridge.mapping.status import map_statuses
from orderbridge.storage.db import Store

WORDS = {PICKING: "In Fulfillment", SHIPPED: "Activated", MYSTERY: "Awaiting Credit Check"}
OWN_WORDS = {"dimension": "fulfillment", "field": "Status", "map": {"In Fulfillment": "preparing"}}


class SalesforceSource(ApiSource):
    connector_type = "salesforce"
    minimal: ClassVar[dict[str, Any]] = {
        "type": "salesforce",
        "base_url": "https://acme.my.salesforce.com",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
    }
    misspelled = ("read_field", "read_fields")
    expected: ClassVar[dict[str, str]] = {PICKING: "preparing", SHIPPED: "approved"}
    bad_reason = "TotalAmount"
    vendor_error_text = "INVALID_FIELD"
    rereads_at_cursor = True  # the overlap re-reads the last minute before the saved cursor

    def __init__(self, server: StartServer) -> None:
        # Salesforce answers smaller batches than asked when records are large: 2 here, so that the
        # suite's listings span several batches.
        self.org = SalesforceOrg(largest_batch=2)
        super().__init__(server)

    def block(self) -> dict[str, Any]:
        return salesforce_block(self.url, page_size=200, status=OWN_WORDS)

    def publish(self, new: list[Order]) -> None:
        publish_to(self.org)(new)
        for item in new:
            if item.bad:
                record = self.org.orders[f"801{int(item.number.removeprefix('SO-')):012d}AAA"]
                record["TotalAmount"] = "1,250"  # text where Salesforce writes a number: ambiguous

    def listing(self, seen: Seen) -> bool:
        return seen.path != TOKEN_PATH

    def answer(self, seen: Seen) -> tuple[Any, ...]:
        return self.org.handle(seen)

    def vendor_error(self) -> tuple[Any, ...]:
        return (400, errors("INVALID_FIELD", "No such column 'Fulfilment__c' on entity 'Order'."))

    def throttle(self, retry_after: int) -> tuple[Any, ...]:
        return (
            429,
            errors("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
            [("Retry-After", str(retry_after))],
        )


class TestSalesforceConformance(ApiSuite):
    source_class = SalesforceSource


def salesforce_block(url: str, **more: Any) -> dict[str, Any]:
    return {
        **SalesforceSource.minimal,
        "base_url": url,
        "token_url": f"{url}{TOKEN_PATH}",
        "retry": {"initial_wait": "0.05s"},
        **more,
    }


def publish_to(org: SalesforceOrg) -> Callable[[list[Order]], None]:
    def publish(new: list[Order]) -> None:
        for item in new:
            record = order(
                item.number, WORDS[item.status], item.updated, int(item.number.removeprefix("SO-"))
            )
            org.orders[record["Id"]] = record

    return publish


def polled(settings: SalesforceSettings, cursor: dict[str, Any] | None = None) -> list[Any]:
    connector = registry.create("crm", settings)
    try:
        return [r for b in connector.poll(cursor, threading.Event()) for r in b.records]
    finally:
        connector.close()


def test_a_thousand_orders_sync_across_batches_then_only_the_changed_ones(
    store: Store, live_server: Any
) -> None:
    """Against an org that answers batches of 200 with nextRecordsUrl, filters by the SOQL literal,
    throttles every 4th request with REQUEST_LIMIT_EXCEEDED and ends sessions after 3 requests: 1,000
    orders stored once each, then the 37 changed ones and nothing else."""
    org = SalesforceOrg(token_uses=3, throttle_every=4)
    server = live_server(org.handle)
    settings = SalesforceSettings.model_validate(salesforce_block(server.url, page_size=200))
    first, second, _ = sync_then_changes(store, settings, publish_to(org))
    assert first.records == COUNT and org.throttled > 0 and len(org.issued) > 1
    assert second.records <= CHANGES + 1  # the changed ones, and the overlap's one at the cursor
    assert len(org.queries) == 2, "one SOQL query a poll; the rest follows nextRecordsUrl"
    assert "WHERE SystemModstamp > 2026-" in org.queries[-1]


def test_the_query_asks_from_the_cursor_as_an_unquoted_utc_literal(live_server: Any) -> None:
    """The saved cursor, less the overlap, is written as SOQL wants it: ISO 8601 in UTC, unquoted, with
    the extra condition and the fields asked for."""
    org = SalesforceOrg()
    server = live_server(org.handle)
    block = salesforce_block(
        server.url, where="Type = 'B2B'", read_fields=["Id", "OrderNumber", "Status", "SystemModstamp"]
    )
    polled(SalesforceSettings.model_validate(block), {"value": "2026-11-20T08:30:00+08:00"})
    assert org.queries == [
        "SELECT Id, OrderNumber, Status, SystemModstamp FROM Order "
        "WHERE SystemModstamp > 2026-11-20T00:29:00Z AND (Type = 'B2B') ORDER BY SystemModstamp, Id"
    ]


def test_salesforce_records_keep_their_ids_offsets_and_nulls(live_server: Any) -> None:
    """`+0000` with milliseconds is that instant; the 18-character Id is the record id; a null PoNumber is
    no external reference; TotalAmount is the amount; the last batch without nextRecordsUrl ends it."""
    org = SalesforceOrg()
    server = live_server(org.handle)
    record = order("00000107", "Activated", datetime(2026, 11, 20, 4, 0, 5, tzinfo=UTC), 107)
    record["PoNumber"] = "PO-88"
    org.orders[record["Id"]] = record
    other = order("00000108", "Draft", datetime(2026, 11, 20, 4, 0, 6, tzinfo=UTC), 108)
    org.orders[other["Id"]] = other
    found = {r.order_ref: r for r in polled(SalesforceSettings.model_validate(salesforce_block(server.url)))}
    assert found["00000107"].record_id == "801000000000107AAA"
    assert found["00000107"].status_at == datetime(2026, 11, 20, 4, 0, 5, tzinfo=UTC)
    assert found["00000107"].external_ref == "PO-88" and found["00000108"].external_ref is None
    assert found["00000107"].amounts.order == Decimal("1250.5")
    settings = SalesforceSettings.model_validate(salesforce_block(server.url))
    assert (
        map_statuses(settings.status, found["00000108"].native_status)[Dimension.fulfillment].status
        == "placed"
    )


def test_a_custom_picklist_is_mapped_in_yaml_on_its_own_dimension(live_server: Any) -> None:
    """A custom field (Shipment_Status__c) added to read_fields and mapped under `status` gives the
    shipment dimension; the Order Status keeps the preset's table."""
    org = SalesforceOrg()
    server = live_server(org.handle)
    record = order("00000109", "Activated", datetime(2026, 11, 20, 4, 0, 5, tzinfo=UTC), 109)
    record["Shipment_Status__c"] = "Handed to Carrier"
    org.orders[record["Id"]] = record
    block = salesforce_block(
        server.url,
        read_fields=["Id", "OrderNumber", "Status", "SystemModstamp", "Shipment_Status__c"],
        status=[
            {
                "dimension": "shipment",
                "field": "Shipment_Status__c",
                "map": {"Handed to Carrier": "in_transit"},
            }
        ],
    )
    settings = SalesforceSettings.model_validate(block)
    [found] = polled(settings)
    statuses = map_statuses(settings.status, found.native_status)
    assert statuses[Dimension.shipment].status == "in_transit"
    assert statuses[Dimension.fulfillment].status == "approved"


def test_a_refused_refresh_token_fails_the_poll_without_showing_it(live_server: Any) -> None:
    """invalid_grant from the token endpoint fails the poll, saying so, never quoting a secret."""
    org = SalesforceOrg()
    server = live_server(org.handle)
    settings = SalesforceSettings.model_validate(
        salesforce_block(server.url, refresh_token="5Aep-revoked-token")
    )
    with pytest.raises(SourceError) as failed:
        polled(settings)
    assert "invalid_grant" in str(failed.value)
    assert "5Aep-revoked-token" not in str(failed.value) and CLIENT_SECRET not in str(failed.value)


def test_publishing_helpers_write_the_conformance_states() -> None:
    """The test org's orders carry the words the suite expects (a check of this file's own fixture)."""
    org = SalesforceOrg()
    publish_to(org)(orders(1, 2))
    assert sorted(r["Status"] for r in org.orders.values()) == ["Activated", "In Fulfillment"]
