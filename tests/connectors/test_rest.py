"""The declarative REST connector: paging styles, cursor handling, quarantine of bad records."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
from pydantic import ValidationError
from structlog.testing import capture_logs

from orderbridge.config.errors import ConfigError
from orderbridge.config.loader import parse_config
from orderbridge.connectors.base import Batch, SourceError
from orderbridge.connectors.rest.connector import RestConnector
from orderbridge.connectors.rest.listing import Recent
from orderbridge.connectors.rest.settings import RestSettings

BASE = "https://wms.example.com/api"
ORDERS = f"{BASE}/orders"
TOKEN = "wms-bearer-7f3a9c"


def order(number: int, updated: str = "2024-05-01T10:00:00Z", status: str = "PICKING") -> dict[str, Any]:
    return {"id": number, "order_ref": f"SO-{number:06d}", "status": status, "updated_at": updated}


def listing(**settings: Any) -> dict[str, Any]:
    return {"path": "/orders", "records": "data", **settings}


def wms(**overrides: Any) -> RestConnector:
    """A WMS described the way a user writes it in YAML; `overrides` replace top-level keys."""
    block: dict[str, Any] = {
        "type": "rest",
        "base_url": BASE,
        "auth": {"bearer": TOKEN},
        "list": {"path": "/orders", "records": "data"},
        "order_id": {"field": "order_ref"},
        "fields": {"record_id": "id", "updated": "updated_at"},
        "status": {"field": "status", "dimension": "fulfillment", "map": {"PICKING": "preparing"}},
        "retry": {"attempts": 3, "initial_wait": "1s", "max_wait": "10s"},
        **overrides,
    }
    connector = RestConnector("wms", RestSettings.model_validate(block))
    connector.api.sleep = lambda seconds: None
    return connector


def poll(connector: RestConnector, cursor: dict[str, Any] | None = None) -> list[Batch]:
    return list(connector.poll(cursor, threading.Event()))


def ids(batches: list[Batch]) -> list[str]:
    return [record.record_id for batch in batches for record in batch.records]


def page(*records: dict[str, Any], next_cursor: str | None = None) -> httpx.Response:
    return httpx.Response(200, json={"data": list(records), "next_cursor": next_cursor})


class SortedApi:
    """A listing sorted by (updated_at, id), filtered by `since` (inclusive), paged by `page`/`per_page`."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records

    def answer(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        since = params.get("since", "")
        chosen = sorted(
            (r for r in self.records if r["updated_at"] >= since.replace("+00:00", "Z")),
            key=lambda r: (r["updated_at"], r["id"]),
        )
        size, number = int(params.get("per_page", "100")), int(params.get("page", "1"))
        return page(*chosen[(number - 1) * size : number * size])


def test_page_paging_stops_at_a_short_page() -> None:
    """Page numbers count up from `start`, the size is sent, and a page shorter than the size is the last."""
    connector = wms(
        list=listing(paging={"style": "page", "param": "page", "size_param": "per_page", "size": 2})
    )
    with respx.mock(assert_all_called=True) as router:
        route = router.get(ORDERS)
        route.side_effect = [page(order(1), order(2)), page(order(3))]
        batches = poll(connector)
    assert [dict(call.request.url.params) for call in route.calls] == [
        {"page": "1", "per_page": "2"},
        {"page": "2", "per_page": "2"},
    ]
    assert ids(batches) == ["1", "2", "3"]
    assert [b.done for b in batches] == [2, 3]
    assert batches[0].records[0].native_status == {"status": "PICKING"}


def test_offset_paging_stops_at_an_empty_page() -> None:
    """Offsets advance by the records received; an empty page ends the listing."""
    connector = wms(
        list=listing(paging={"style": "offset", "param": "offset", "size_param": "limit", "size": 2})
    )
    with respx.mock(assert_all_called=True) as router:
        route = router.get(ORDERS)
        route.side_effect = [page(order(1), order(2)), page(order(3), order(4)), page()]
        batches = poll(connector)
    assert [call.request.url.params["offset"] for call in route.calls] == ["0", "2", "4"]
    assert ids(batches) == ["1", "2", "3", "4"]


def test_cursor_paging_follows_next_cursor_until_it_is_missing() -> None:
    """The token at `next` is sent back as `param`; a null token ends the listing."""
    connector = wms(list=listing(paging={"style": "cursor", "param": "cursor", "next": "next_cursor"}))
    with respx.mock(assert_all_called=True) as router:
        route = router.get(ORDERS)
        route.side_effect = [page(order(1), next_cursor="eyJpZCI6MX0"), page(order(2), next_cursor=None)]
        batches = poll(connector)
    assert "cursor" not in route.calls[0].request.url.params
    assert route.calls[1].request.url.params["cursor"] == "eyJpZCI6MX0"
    assert ids(batches) == ["1", "2"]


def test_repeated_cursor_token_fails_the_poll_after_delivering_what_was_read() -> None:
    """A source that hands out the same token again is not followed into an endless loop: the pages
    read are delivered, then the poll fails saying so, and an unsorted cursor is not committed."""
    connector = wms(
        list=listing(paging={"style": "cursor", "param": "cursor", "next": "next_cursor"}),
        cursor={"field": "updated_at"},
    )
    batches: list[Batch] = []
    with respx.mock(assert_all_called=True) as router:
        route = router.get(ORDERS)
        route.side_effect = [page(order(1), next_cursor="abc"), page(order(2), next_cursor="abc")]
        with pytest.raises(SourceError) as failure:
            batches.extend(connector.poll(None, threading.Event()))
    assert route.call_count == 2
    assert ids(batches) == ["1", "2"]
    assert [b.cursor for b in batches] == [None, None]
    assert str(failure.value) == (
        "wms: page 2 of /orders gave the page token 'abc' again; the listing was stopped so as not to loop "
        "(check list.paging.next)"
    )


def test_max_pages_cuts_a_listing_without_cursor_short_with_an_error() -> None:
    """A full listing longer than max_pages is read for max_pages pages, whose records are delivered,
    then the poll fails: the rest would otherwise never be read, silently."""
    connector = wms(list=listing(paging={"style": "page", "max_pages": 3}))
    batches: list[Batch] = []
    with respx.mock(assert_all_called=True) as router:
        route = router.get(ORDERS)
        route.side_effect = lambda request: page(order(int(request.url.params["page"])))
        with pytest.raises(SourceError, match=r"more than list\.paging\.max_pages=3 pages"):
            batches.extend(connector.poll(None, threading.Event()))
    assert route.call_count == 3 and ids(batches) == ["1", "2", "3"]


def test_max_pages_on_a_sorted_listing_commits_and_the_next_poll_goes_on() -> None:
    """An oldest-first listing stops after max_pages pages without an error: its cursor advanced with
    every page, so the next poll asks from where this one stopped and reads the rest."""
    connector = wms(
        list=listing(
            params={"since": "{cursor}"},
            paging={"style": "page", "size_param": "per_page", "size": 3, "max_pages": 2},
        ),
        cursor={"field": "updated_at", "sorted": True, "overlap": "0s"},
    )
    source = SortedApi([order(n, f"2024-05-0{n}T10:00:00Z") for n in range(1, 10)])
    with respx.mock(assert_all_called=True) as router:
        router.get(ORDERS).mock(side_effect=source.answer)
        first = poll(connector)
        later = [first]
        for _ in range(3):  # two pages a poll, each reading on from the newest value read in full
            later.append(poll(connector, later[-1][-1].cursor))
    assert len(first) == 2 and set(ids(first)) == {"1", "2", "3", "4"}
    # Page 2 asked from 05-02 (the newest value page 1 read in full) and got it back: `since` is
    # inclusive, so the listing may go on from the newest value it read, 05-04.
    assert first[-1].cursor is not None and first[-1].cursor["value"] == "2024-05-04T10:00:00+00:00"
    assert {i for batches in later for i in ids(batches)} == {str(n) for n in range(1, 10)}
    assert later[-1][-1].cursor == {"value": "2024-05-09T10:00:00+00:00", "paging": {"size_honoured": True}}


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("iso", "2024-05-01T09:55:00+00:00"), ("epoch", "1714557300"), ("epoch_ms", "1714557300000")],
)
def test_cursor_param_is_the_saved_cursor_minus_overlap(fmt: str, expected: str) -> None:
    """`{cursor}` in a param becomes the saved cursor minus `overlap`, in the configured format."""
    connector = wms(
        list=listing(params={"updated_since": "{cursor}"}),
        cursor={"field": "updated_at", "overlap": "5m", "format": fmt},
    )
    with respx.mock(assert_all_called=True) as router:
        route = router.get(ORDERS).respond(json={"data": []})
        poll(connector, {"value": "2024-05-01T10:00:00+00:00"})
    assert route.calls.last.request.url.params["updated_since"] == expected


def test_first_poll_starts_at_the_initial_cursor() -> None:
    """Without a saved cursor the first poll asks from exactly `cursor.initial`: the overlap re-reads
    ties at a saved cursor, it never reaches before the start the user chose."""
    connector = wms(
        list=listing(params={"since": "{cursor}", "sort": "asc"}),
        cursor={"field": "updated_at", "overlap": "1h", "initial": "2024-01-01T00:00:00+08:00"},
    )
    with respx.mock(assert_all_called=True) as router:
        route = router.get(ORDERS).respond(json={"data": [order(1, "2024-03-01T00:00:00Z")]})
        batches = poll(connector)
    assert dict(route.calls.last.request.url.params) == {"since": "2024-01-01T00:00:00+08:00", "sort": "asc"}
    assert batches[-1].cursor == {"value": "2024-03-01T00:00:00+00:00"}


def test_sorted_listing_advances_the_cursor_page_by_page() -> None:
    """Oldest-first listings commit the cursor with every page, so a crash resumes mid-listing."""
    connector = wms(
        list=listing(paging={"style": "page", "size_param": "per_page", "size": 2}),
        cursor={"field": "updated_at", "sorted": True},
    )
    with respx.mock(assert_all_called=True) as router:
        router.get(ORDERS).side_effect = [
            page(order(1, "2024-05-01T08:00:00Z"), order(2, "2024-05-01T09:00:00Z")),
            page(order(3, "2024-05-01T10:00:00Z")),
        ]
        batches = poll(connector, {"value": "2024-05-01T07:00:00+00:00"})
    # After page 1 only 08:00 is known to be read in full: more records of 09:00 may follow.
    assert [b.cursor for b in batches] == [
        {"value": "2024-05-01T08:00:00+00:00", "paging": {"size_honoured": True}},
        {"value": "2024-05-01T10:00:00+00:00", "paging": {"size_honoured": True}},
    ]


def test_unsorted_listing_commits_the_cursor_only_with_the_last_page() -> None:
    """Newest-first listings keep cursor=None until every page was read, then commit the overall maximum."""
    connector = wms(
        list=listing(paging={"style": "page", "size_param": "per_page", "size": 2}),
        cursor={"field": "updated_at"},
    )
    with respx.mock(assert_all_called=True) as router:
        router.get(ORDERS).side_effect = [
            page(order(3, "2024-05-01T10:00:00Z"), order(2, "2024-05-01T09:00:00Z")),
            page(order(1, "2024-05-01T08:00:00Z")),
        ]
        batches = poll(connector, {"value": "2024-05-01T07:00:00+00:00"})
    assert [b.cursor for b in batches] == [
        None,
        {"value": "2024-05-01T10:00:00+00:00", "paging": {"size_honoured": True}},
    ]


def test_stop_between_pages_ends_the_poll_without_committing_an_unsorted_cursor() -> None:
    """On shutdown no further page is fetched, and a half-read unsorted listing does not move the cursor."""
    connector = wms(
        list=listing(paging={"style": "page", "size_param": "per_page", "size": 1}),
        cursor={"field": "updated_at"},
    )
    stop = threading.Event()
    with respx.mock(assert_all_called=True) as router:
        route = router.get(ORDERS).respond(json={"data": [order(1)]})
        batches = []
        for batch in connector.poll(None, stop):
            batches.append(batch)
            stop.set()
    assert route.call_count == 1
    assert len(batches) == 1 and batches[0].cursor is None


def test_cursor_never_moves_backwards() -> None:
    """Records older than the saved cursor (from the overlap window) leave the saved cursor where it was."""
    connector = wms(cursor={"field": "updated_at"})
    with respx.mock(assert_all_called=True) as router:
        router.get(ORDERS).respond(json={"data": [order(1, "2024-05-01T09:58:00Z")]})
        batches = poll(connector, {"value": "2024-05-01T10:00:00+00:00"})
    assert batches[-1].cursor == {"value": "2024-05-01T10:00:00+00:00"}
    assert ids(batches) == ["1"]


def test_duplicates_within_a_poll_are_dropped() -> None:
    """A record repeated on the next page (shifted by an insert) is returned once; a real change is kept."""
    connector = wms(
        list=listing(paging={"style": "page", "size_param": "per_page", "size": 2}),
        cursor={"field": "updated_at"},
    )
    with respx.mock(assert_all_called=True) as router:
        router.get(ORDERS).side_effect = [
            page(order(1, "2024-05-01T08:00:00Z"), order(2, "2024-05-01T09:00:00Z")),
            page(order(2, "2024-05-01T09:00:00Z"), order(2, "2024-05-01T09:30:00Z", status="PACKED")),
            page(),
        ]
        batches = poll(connector)
    assert ids(batches) == ["1", "2", "2"]
    assert batches[1].records[0].native_status == {"status": "PACKED"}
    assert [b.done for b in batches] == [2, 4, 4]


def test_malformed_records_are_quarantined_and_the_rest_of_the_page_kept() -> None:
    """A non-object, a bad timestamp and a missing id become problems with their place; good records pass."""
    connector = wms(cursor={"field": "updated_at"})
    bad_time = order(3, updated="yesterday-ish")
    no_id = {"status": "PICKING", "updated_at": "2024-05-01T10:00:00Z"}
    no_cursor = {"id": 5, "order_ref": "SO-000005", "status": "PICKING"}
    with respx.mock(assert_all_called=True) as router:
        router.get(ORDERS).respond(
            json={"data": [order(1), "SO-000002", bad_time, no_id, no_cursor, order(6)]}
        )
        (batch,) = poll(connector)
    assert [r.record_id for r in batch.records] == ["1", "6"]
    assert [p.location for p in batch.problems] == [
        "page 1, record 2",
        "page 1, record 3",
        "page 1, record 4",
        "page 1, record 5",
    ]
    assert "not a JSON object" in batch.problems[0].reason
    assert "updated_at" in batch.problems[1].reason and batch.problems[1].raw == bad_time
    assert "no record id" in batch.problems[2].reason
    assert "cursor field 'updated_at' is missing" in batch.problems[3].reason
    assert batch.cursor == {"value": "2024-05-01T10:00:00+00:00"}


def test_nested_records_with_ok_code_envelope() -> None:
    """`{"code":0,"data":{"items":[...]}}`: records are read at a dotted path once the code says ok."""
    connector = wms(list=listing(records="data.items"), errors={"field": "code", "message": "msg"})
    with respx.mock(assert_all_called=True) as router:
        router.get(ORDERS).respond(json={"code": 0, "msg": "ok", "data": {"items": [order(7)], "total": 1}})
        batches = poll(connector)
    assert ids(batches) == ["7"]


def test_error_code_in_a_200_envelope_fails_the_poll() -> None:
    """`{"code":1001,"msg":"token expired"}` with HTTP 200 fails the poll with the API's message."""
    connector = wms(list=listing(records="data.items"), errors={"field": "code", "message": "msg"})
    with respx.mock(assert_all_called=True) as router:
        router.get(ORDERS).respond(json={"code": 1001, "msg": "token expired", "data": None})
        with pytest.raises(SourceError, match="code=1001: token expired"):
            poll(connector)


def test_null_records_mean_an_empty_page() -> None:
    """`"items": null` (how many APIs say "nothing changed") is an empty page, not an error."""
    connector = wms(list=listing(records="data.items"), cursor={"field": "updated_at"})
    with respx.mock(assert_all_called=True) as router:
        router.get(ORDERS).respond(json={"code": 0, "data": {"items": None}})
        batches = poll(connector, {"value": "2024-05-01T10:00:00+00:00"})
    assert len(batches) == 1 and batches[0].records == []
    assert batches[0].cursor == {"value": "2024-05-01T10:00:00+00:00"}


@pytest.mark.parametrize("body", [{"data": {"id": 1}}, {"orders": []}, {"data": "none"}])
def test_records_that_are_not_a_list_fail_the_poll(body: dict[str, Any]) -> None:
    """A wrong `records` path or an unexpected body shape is reported, not read as "no changes"."""
    connector = wms()
    with respx.mock(assert_all_called=True) as router:
        router.get(ORDERS).respond(json=body)
        with pytest.raises(SourceError, match="expected a list of records at 'data'"):
            poll(connector)


def test_body_that_is_the_list_itself() -> None:
    """`records: ''` reads a body that is a bare JSON array."""
    connector = wms(list=listing(records=""))
    with respx.mock(assert_all_called=True) as router:
        router.get(ORDERS).respond(json=[order(1), order(2)])
        batches = poll(connector)
    assert ids(batches) == ["1", "2"]


def test_without_cursor_settings_every_poll_is_a_full_listing() -> None:
    """No `cursor` block: no `{cursor}` substitution, no cursor saved, the whole list read each time."""
    connector = wms()
    with respx.mock(assert_all_called=True) as router:
        route = router.get(ORDERS).respond(json={"data": [order(1)]})
        first, second = poll(connector), poll(connector, None)
    assert route.call_count == 2
    assert ids(first) == ids(second) == ["1"]
    assert first[0].cursor is None


def test_failing_source_raises_without_leaking_the_token() -> None:
    """A listing that keeps failing ends the poll with a SourceError that names the system, not the token."""
    connector = wms(
        list=listing(params={"since": "{cursor}"}),
        cursor={"field": "updated_at"},
    )
    with respx.mock(assert_all_called=True) as router:
        route = router.get(ORDERS).respond(503, json={"error": f"upstream rejected Bearer {TOKEN}"})
        with pytest.raises(SourceError) as failure:
            poll(connector)
    assert route.call_count == 3
    message = str(failure.value)
    assert message.startswith(
        "wms: GET wms.example.com/api/orders?since=1970-01-01T00:00:00+00:00 failed after 3 attempts"
    )
    assert TOKEN not in message


def test_close_closes_the_http_client() -> None:
    """close() releases the connection pool."""
    connector = wms()
    connector.close()
    assert connector.api.client.is_closed


def test_a_sorted_listing_asks_each_page_from_the_newest_value_read_in_full() -> None:
    """Sorted by its cursor, with the cursor in the request, a listing pages by the cursor: page 2 asks
    from the newest value page 1 read in full (`since` inclusive re-reads it), never by page number,
    so a record changing meanwhile moves on to be read later instead of shifting others past."""
    connector = wms(
        list=listing(
            params={"since": "{cursor}"}, paging={"style": "page", "size_param": "per_page", "size": 3}
        ),
        cursor={"field": "updated_at", "sorted": True, "overlap": "0s"},
    )
    source = SortedApi([order(n, f"2024-05-01T10:0{n}:00Z") for n in range(1, 6)])
    with respx.mock(assert_all_called=True) as router:
        route = router.get(ORDERS).mock(side_effect=source.answer)
        batches = poll(connector)
    assert [(c.request.url.params["since"], c.request.url.params["page"]) for c in route.calls] == [
        ("1970-01-01T00:00:00+00:00", "1"),
        ("2024-05-01T10:02:00+00:00", "1"),
        ("2024-05-01T10:04:00+00:00", "1"),
    ]
    assert ids(batches) == ["1", "2", "3", "4", "5"]
    assert [b.cursor["value"] for b in batches if b.cursor] == [
        "2024-05-01T10:02:00+00:00",
        "2024-05-01T10:04:00+00:00",
        "2024-05-01T10:05:00+00:00",
    ]


def test_a_run_of_ties_ending_inside_a_page_of_an_inclusive_filter_moves_on() -> None:
    """A run of equal timestamps longer than a page, read by position, that ends inside a page: with an
    inclusive `since` the listing goes on from that page's newest value (re-reading only its ties),
    instead of asking from the run's own value again and again; every record is read once."""
    connector = wms(
        list=listing(
            params={"since": "{cursor}"},
            paging={"style": "page", "size_param": "per_page", "size": 2, "max_pages": 200},
        ),
        cursor={"field": "updated_at", "sorted": True, "overlap": "0s"},
    )
    times = ["10:00", "10:00", "10:01", "10:01", "10:01", "10:02", "10:02", "10:02", "10:03"]
    source = SortedApi([order(n, f"2024-05-01T{t}:00Z") for n, t in enumerate(times, 1)])
    with respx.mock(assert_all_called=True) as router:
        route = router.get(ORDERS).mock(side_effect=source.answer)
        batches = poll(connector)
    assert sorted(ids(batches), key=int) == [str(n) for n in range(1, 10)]
    assert len(ids(batches)) == 9
    assert route.call_count < 30
    assert [b.cursor["value"] for b in batches if b.cursor][-1] == "2024-05-01T10:03:00+00:00"


def test_an_ignored_page_parameter_stops_at_the_second_identical_page() -> None:
    """A server that does not know the page parameter answers page 1 again and again; the listing
    stops at once with an error naming the setting, after two requests, not thousands."""
    connector = wms(
        list=listing(paging={"style": "page", "param": "pagenum", "size_param": "limit", "size": 2})
    )
    with respx.mock(assert_all_called=True) as router:
        route = router.get(ORDERS).respond(json={"data": [order(1), order(2)]})
        with pytest.raises(SourceError) as failure:
            poll(connector)
    assert route.call_count == 2
    assert "answered exactly the 2 records of the page before: the server ignores list.paging.param" in str(
        failure.value
    )


def test_a_listing_said_to_be_sorted_that_is_not_stops_before_its_cursor_moves() -> None:
    """`sorted: true` on a listing that is not sorted would move the cursor past unread records: the
    page's records are kept, its cursor is not, and the error says what to change."""
    connector = wms(
        list=listing(
            params={"since": "{cursor}"}, paging={"style": "page", "size_param": "per_page", "size": 2}
        ),
        cursor={"field": "updated_at", "sorted": True},
    )
    batches: list[Batch] = []
    with respx.mock(assert_all_called=True) as router:
        router.get(ORDERS).respond(
            json={"data": [order(2, "2024-05-02T00:00:00Z"), order(1, "2024-05-01T00:00:00Z")]}
        )
        with pytest.raises(SourceError, match=r"is not sorted by updated_at .*set cursor\.sorted: false"):
            batches.extend(connector.poll(None, threading.Event()))
    assert ids(batches) == ["2", "1"] and batches[0].cursor is None


@pytest.mark.parametrize("status", [304, 204])
def test_not_modified_and_no_content_mean_nothing_new(status: int) -> None:
    """Zoho answers 304 when nothing changed since If-Modified-Since, 204 when the module is empty:
    no records, no error, the cursor where it was."""
    connector = wms(
        list=listing(
            headers={"If-Modified-Since": "{cursor}"}, paging={"style": "page", "size_param": "per_page"}
        ),
        cursor={"field": "updated_at", "sorted": True, "format": "http_date", "overlap": "0s"},
    )
    with respx.mock(assert_all_called=True) as router:
        route = router.get(ORDERS).respond(status)
        batches = poll(connector, {"value": "2024-05-01T10:00:00+00:00"})
    assert route.calls.last.request.headers["If-Modified-Since"] == "Wed, 01 May 2024 10:00:00 GMT"
    assert [(b.records, b.cursor) for b in batches] == [([], {"value": "2024-05-01T10:00:00+00:00"})]


def test_a_configured_answer_past_the_last_page_ends_the_listing() -> None:
    """DRF's `404 {"detail": "Invalid page."}` after the last page ends the listing; on the first page,
    or with another body, a 404 is still an error (a wrong path must not look like "no orders")."""
    paging = {"style": "page", "past_end": {"status": 404, "contains": "Invalid page."}}
    invalid = httpx.Response(404, json={"detail": "Invalid page."})
    with respx.mock(assert_all_called=True) as router:
        router.get(ORDERS).side_effect = [page(order(1)), invalid]
        assert ids(poll(wms(list=listing(paging=paging)))) == ["1"]
    with respx.mock(assert_all_called=True) as router:
        router.get(ORDERS).side_effect = [invalid]
        with pytest.raises(SourceError, match="HTTP 404"):
            poll(wms(list=listing(paging=paging)))
    with respx.mock(assert_all_called=True) as router:
        router.get(ORDERS).side_effect = [page(order(1)), httpx.Response(404, json={"detail": "Not found."})]
        with pytest.raises(SourceError, match="HTTP 404"):
            poll(wms(list=listing(paging=paging)))


def test_records_older_than_the_cursor_say_the_filter_is_not_known() -> None:
    """Every record older than the cursor asked from: the server ignores the filter (a misspelt
    parameter); the poll still works, and the log says what to check."""
    connector = wms(
        list=listing(params={"updatedsince": "{cursor}"}), cursor={"field": "updated_at", "overlap": "0s"}
    )
    with respx.mock(assert_all_called=True) as router, capture_logs() as logs:
        router.get(ORDERS).respond(json={"data": [order(1, "2024-01-01T00:00:00Z")]})
        poll(connector, {"value": "2024-05-01T10:00:00+00:00"})
    assert any("records older than the cursor" in entry["event"] for entry in logs)


def test_the_recent_window_forgets_the_oldest_keys() -> None:
    """Duplicate dropping remembers a bounded number of records, so a long listing's memory stays flat;
    a repeat older than that is written as unchanged by the store."""
    window = Recent(3)
    assert [window.add(("r", str(n))) for n in (1, 2, 3, 1)] == [True, True, True, False]
    assert window.add(("r", "4")) and len(window.keys) == 3
    assert window.add(("r", "1")), "the oldest key was forgotten"


def test_child_listings_report_as_their_own_system_with_their_own_cursor() -> None:
    """Deliveries listed by their own request, with their own cursor kept under `children`, come as
    batches of the system `wms.deliveries`, mapped by the child's settings (order found by `order_field`
    with the system's order-id rule)."""
    connector = wms(
        list=listing(params={"since": "{cursor}"}),
        cursor={"field": "updated_at", "overlap": "0s"},
        order_id={"field": "order_ref", "pattern": r"(\d+)$", "format": "SO-{0:0>6}"},
        children={
            "deliveries": {
                "list": {"path": "/deliveries", "params": {"changed": "{cursor}"}, "records": "data"},
                "cursor": {"field": "write_date", "overlap": "0s"},
                "order_field": "origin",
                "fields": {"record_id": "name", "updated": "write_date"},
                "status": {"dimension": "shipment", "field": "state", "map": {"done": "delivered"}},
            }
        },
    )
    delivery = {
        "name": "WH/OUT/00012",
        "origin": "S00042",
        "state": "done",
        "write_date": "2024-05-02 08:00:00",
    }
    with respx.mock(assert_all_called=True) as router:
        router.get(ORDERS).respond(json={"data": [order(42)]})
        deliveries = router.get(f"{BASE}/deliveries").respond(json={"data": [delivery]})
        batches = poll(
            connector,
            {
                "value": "2024-05-01T00:00:00+00:00",
                "children": {"deliveries": {"value": "2024-05-02T00:00:00+00:00"}},
            },
        )
    assert deliveries.calls.last.request.url.params["changed"] == "2024-05-02T00:00:00+00:00"
    order_batch, child_batch = batches
    assert (order_batch.system, child_batch.system) == (None, "wms.deliveries")
    assert child_batch.label == "deliveries page 1" and child_batch.records[0].record_id == "WH/OUT/00012"
    delivered = child_batch.records[0]
    assert (delivered.system, delivered.order_ref, delivered.parent_ref) == ("wms.deliveries", None, "S00042")
    assert child_batch.settings is not None and child_batch.settings.order_id.field == "origin"
    assert child_batch.cursor == {
        "value": "2024-05-01T10:00:00+00:00",
        "children": {"deliveries": {"value": "2024-05-02T08:00:00+00:00"}},
    }


def test_full_every_rereads_the_whole_listing_when_due() -> None:
    """`poll.full_every: 1d`: a poll more than a day after the last full read asks from the initial
    cursor and notes when it read everything; the next poll is incremental again."""
    clock = [datetime(2024, 5, 10, tzinfo=UTC)]
    settings = RestSettings.model_validate(
        {
            "type": "rest",
            "base_url": BASE,
            "poll": {"every": "5m", "full_every": "1d"},
            "list": {"path": "/orders", "params": {"since": "{cursor}"}, "records": "data"},
            "cursor": {"field": "updated_at", "overlap": "0s", "initial": "2024-01-01T00:00:00Z"},
            "order_id": {"field": "order_ref"},
        }
    )
    connector = RestConnector("wms", settings, clock=lambda: clock[0])
    saved = {"value": "2024-05-09T00:00:00+00:00", "full_at": "2024-05-08T00:00:00+00:00"}
    with respx.mock(assert_all_called=True) as router:
        route = router.get(ORDERS).respond(json={"data": [order(1, "2024-05-09T12:00:00Z")]})
        full = poll(connector, saved)
        clock[0] += timedelta(hours=1)
        incremental = poll(connector, full[-1].cursor)
    assert [c.request.url.params["since"] for c in route.calls] == [
        "2024-01-01T00:00:00+00:00",
        "2024-05-09T12:00:00+00:00",
    ]
    assert full[-1].cursor == {"value": "2024-05-09T12:00:00+00:00", "full_at": "2024-05-10T00:00:00+00:00"}
    assert incremental[-1].cursor == full[-1].cursor


def test_child_systems_can_be_named_in_reconcile_and_a_misspelt_one_is_refused() -> None:
    """`erp.deliveries` is a system the reconcile section may name (authority, grace); a name that is
    neither a system nor a child listing is refused, listing the ones there are."""
    text = """
systems:
  erp:
    type: rest
    base_url: https://erp.example.com
    list: {path: /orders}
    children:
      deliveries: {list: {path: /deliveries}, order_field: origin}
reconcile:
  authority: {fulfillment: erp.deliveries}
  grace: {erp.deliveries: 1h}
"""
    assert parse_config(text).streams() == {"erp": [], "erp.deliveries": []}
    with pytest.raises(ConfigError) as refused:
        parse_config(text.replace("fulfillment: erp.deliveries", "fulfillment: erp.delivery"))
    [problem] = refused.value.problems
    assert problem.key_path == "reconcile.authority.fulfillment"
    assert "not a configured system" in problem.message and "erp.deliveries" in problem.message


def test_a_child_without_a_way_to_its_order_is_refused() -> None:
    """A child listing must say how its records find their order."""
    with pytest.raises(ValidationError, match="a child needs `order_field`"):
        RestSettings.model_validate(
            {
                "type": "rest",
                "base_url": BASE,
                "list": {"path": "/o"},
                "children": {"x": {"list": {"path": "/x"}}},
            }
        )


def test_a_small_incremental_poll_costs_one_request_once_the_size_is_known() -> None:
    """A poll that finds a few changes asks once, when the API is known to honour the page size (it
    once gave a full page): request budgets matter more than anything on the small polls of a day."""
    connector = wms(
        list=listing(
            params={"since": "{cursor}"}, paging={"style": "page", "size_param": "per_page", "size": 50}
        ),
        cursor={"field": "updated_at", "sorted": True, "overlap": "0s"},
    )
    source = SortedApi([order(n, f"2024-05-01T10:0{n}:00Z") for n in range(1, 4)])
    with respx.mock(assert_all_called=True) as router:
        route = router.get(ORDERS).mock(side_effect=source.answer)
        batches = poll(connector, {"value": "2024-05-01T00:00:00+00:00", "paging": {"size_honoured": True}})
    assert route.call_count == 1 and ids(batches) == ["1", "2", "3"]
    assert batches[-1].cursor == {"value": "2024-05-01T10:03:00+00:00", "paging": {"size_honoured": True}}


def test_stopping_ends_a_wait_between_retries_of_a_listing() -> None:
    """Shutdown during a retry wait of the listing's request ends the poll at once, not after the
    backoff (the poll's stop event reaches the HTTP layer)."""
    connector = wms(retry={"attempts": 5, "initial_wait": "30s", "max_wait": "60s"})
    connector.api.sleep = None  # wait on the stop event, as the daemon does
    stop = threading.Event()

    def unavailable(request: httpx.Request) -> httpx.Response:
        stop.set()  # SIGTERM arrives while the source is down
        return httpx.Response(503, json={"error": "maintenance"})

    with respx.mock(assert_all_called=True) as router:
        route = router.get(ORDERS).mock(side_effect=unavailable)
        with pytest.raises(SourceError, match="stopped while waiting to retry"):
            list(connector.poll(None, stop))
    assert route.call_count == 1
