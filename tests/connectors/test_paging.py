"""Each paging style on its own: the request it asks next, the answer that ends a listing, a loop it
refuses. Answers are shaped like the reference's recorded responses (DRF, Salesforce, SAP B1 Service
Layer, NetSuite, Shopify, Zoho, Jiandaoyun)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from orderbridge.connectors.paging import (
    REGISTRY,
    KeysetPaginator,
    LinkHeaderPaginator,
    NextLinkPaginator,
    OffsetPaginator,
    Page,
    PageNumberPaginator,
    PageRequest,
    Paginator,
    PagingLoop,
    TokenPaginator,
    follow,
    paginator,
    select,
)
from orderbridge.connectors.rest.settings import ListSettings

LISTING = PageRequest("GET", "/orders", params={"status": "any"})


def make(paging: dict[str, Any], state: dict[str, Any] | None = None) -> Paginator:
    settings = ListSettings.model_validate({"path": "/orders", "paging": paging}).paging
    return paginator(settings, {} if state is None else state, lambda r: str(r.get("id")))


def answer(
    request: PageRequest,
    records: list[Any],
    body: Any = None,
    *,
    url: str = "https://shop.example.com/api/orders",
    headers: dict[str, str] | None = None,
) -> Page:
    return Page(request, httpx.URL(url), 200, httpx.Headers(headers or {}), body, records)


def rows(*numbers: int) -> list[dict[str, Any]]:
    return [{"id": n} for n in numbers]


def test_every_registered_style_is_a_settings_model_picked_by_style() -> None:
    """`style:` picks the settings model of the registered class; left out, it is `none`."""
    for style, cls in REGISTRY.items():
        block: dict[str, Any] = {"style": style, "next": "n", "param": "p", "field": "id"}
        allowed = {k: v for k, v in block.items() if k in cls.settings_model.model_fields}
        settings = ListSettings.model_validate({"path": "/o", "paging": allowed}).paging
        assert type(settings) is cls.settings_model and isinstance(make(allowed), cls)
    assert ListSettings.model_validate({"path": "/o", "paging": {"max_pages": 3}}).paging.style == "none"
    with pytest.raises(ValidationError, match=r"'pages' .* does not match any of the expected tags"):
        ListSettings.model_validate({"path": "/o", "paging": {"style": "pages"}})


def test_page_numbers_count_from_start_and_carry_the_size() -> None:
    """Page numbers count up from `start`; the size goes beside them; the listing's own params stay."""
    pager = make({"style": "page", "param": "p", "start": 0, "size_param": "per_page", "size": 2})
    first = pager.first(LISTING)
    assert first.params == {"status": "any", "per_page": 2, "p": 0}
    second = pager.next(answer(first, rows(1, 2)))
    assert second is not None and second.params == {"status": "any", "per_page": 2, "p": 1}


def test_a_short_first_page_is_not_taken_as_the_last() -> None:
    """Asked for 100, got 20: that may be all there is, or a server that ignores the size (django-oscar
    fixes 20). Reading goes on until an empty page; a second short page shows the size is ignored, and
    the user is told once what to set."""
    state: dict[str, Any] = {}
    pager = make({"style": "page", "size_param": "page_size", "size": 100}, state)
    request = pager.first(LISTING)
    for number in (1, 2):
        following = pager.next(answer(request, rows(*range(number * 20, number * 20 + 20))))
        assert following is not None and following.params["page"] == number + 1
        request = following
    assert pager.notes == [
        "asked for 100 records per page, got 20: the server ignores the size; set `list.paging.size: 20`"
    ]
    assert pager.next(answer(request, [])) is None
    again = make({"style": "page", "size_param": "page_size", "size": 100}, state)
    request = again.first(LISTING)
    again.next(answer(request, rows(*range(20))))
    again.next(answer(request, rows(*range(20, 40))))
    assert again.notes == [], "said once, not on every poll"


def test_a_short_page_ends_the_listing_once_the_size_was_honoured() -> None:
    """A server that gave exactly the size asked for honours it: its short page is the last, now and in
    later polls (the paging state is kept with the cursor)."""
    state: dict[str, Any] = {}
    pager = make({"style": "page", "size_param": "page_size", "size": 3}, state)
    request = pager.first(LISTING)
    following = pager.next(answer(request, rows(1, 2, 3)))
    assert following is not None
    assert pager.next(answer(following, rows(4))) is None
    assert state == {"size_honoured": True}
    later = make({"style": "page", "size_param": "page_size", "size": 3}, state)
    assert later.next(answer(later.first(LISTING), rows(1))) is None


def test_total_count_decides_the_end() -> None:
    """With `total`, the listing ends once that many records were read, whatever the page lengths."""
    pager = make({"style": "page", "size_param": "pageSize", "size": 10, "total": "data.recordCount"})
    request = pager.first(LISTING)
    body = {"data": {"recordCount": 13}}
    following = pager.next(answer(request, rows(*range(7)), body))
    assert following is not None, "7 of 13: a short page, but the total says more"
    assert pager.next(answer(following, rows(*range(7, 13)), body)) is None


@pytest.mark.parametrize(
    ("paging", "body"),
    [
        ({"style": "page", "has_more": "info.more_records"}, {"info": {"more_records": False}}),
        ({"style": "page", "done": "done"}, {"done": True}),
    ],
)
def test_a_field_of_the_answer_says_it_was_the_last_page(paging: dict[str, Any], body: Any) -> None:
    """Zoho's `info.more_records: false` and Salesforce's `done: true` end the listing."""
    pager = make(paging)
    assert pager.next(answer(pager.first(LISTING), rows(1, 2), body)) is None


def test_paging_parameters_in_a_json_body() -> None:
    """YonSuite pages inside the POST body: `pageIndex` and `pageSize` go there, at their paths."""
    pager = make(
        {"style": "page", "param": "pageIndex", "size_param": "pageSize", "size": 2, "param_in": "body"}
    )
    request = pager.first(PageRequest("POST", "/list", body={"isSum": False}))
    assert request.body == {"isSum": False, "pageSize": 2, "pageIndex": 1}
    following = pager.next(answer(request, rows(1, 2)))
    assert following is not None and following.body == {"isSum": False, "pageSize": 2, "pageIndex": 2}


def test_offsets_advance_by_what_was_received() -> None:
    """A server that sends fewer than asked is not skipped over: the offset moves by the records got."""
    pager = make({"style": "offset", "size_param": "limit", "size": 100})
    request = pager.first(LISTING)
    assert request.params["offset"] == 0
    following = pager.next(answer(request, rows(*range(40))))
    assert following is not None and following.params["offset"] == 40


def test_offset_overlap_sees_records_shift_while_reading() -> None:
    """With an overlap of 2 each page asks again for the last two of the one before. Found again: no
    record was skipped. None found: records moved back while reading, and the gap is counted."""
    pager = make({"style": "offset", "size_param": "limit", "size": 4, "overlap": 2})
    assert isinstance(pager, OffsetPaginator)
    request = pager.first(LISTING)
    second = pager.next(answer(request, rows(1, 2, 3, 4)))
    assert second is not None and second.params["offset"] == 2
    third = pager.next(answer(second, rows(3, 4, 5, 6)))
    assert third is not None and third.params["offset"] == 4 and pager.gaps == 0
    fourth = pager.next(answer(third, rows(8, 9, 10, 11)))  # 5 and 6 gone: 7 may have been skipped
    assert fourth is not None and pager.gaps == 1
    assert pager.next(answer(fourth, rows(10, 11))) is None, "only the overlap came back: the end"


def test_token_paging_sends_the_token_back_and_refuses_one_it_gave_before() -> None:
    """The token at `next` is sent as `param`; none ends the listing; the same token twice is a loop."""
    pager = make({"style": "cursor", "param": "page_token", "next": "info.next_page_token"})
    assert isinstance(pager, TokenPaginator)
    request = pager.first(LISTING)
    following = pager.next(answer(request, rows(1), {"info": {"next_page_token": "t1"}}))
    assert following is not None and following.params == {"status": "any", "page_token": "t1"}
    with pytest.raises(PagingLoop, match="gave the page token 't1' again"):
        pager.next(answer(following, rows(2), {"info": {"next_page_token": "t1"}}))
    assert pager.next(answer(request, rows(3), {"info": {"next_page_token": None}})) is None


def test_drf_absolute_next_link_is_followed_as_it_is() -> None:
    """DRF's `next` is a whole URL with its own query: it is requested as it is, the listing's params
    dropped. Written as http by a server behind a TLS proxy, it is read as https."""
    pager = make({"style": "next_link", "next": "next"})
    request = pager.first(LISTING)
    body = {"count": 45, "next": "http://shop.example.com/api/orders/?page=2", "previous": None}
    following = pager.next(answer(request, rows(1), body))
    assert following is not None
    assert following.url == "https://shop.example.com/api/orders/?page=2" and following.params == {}
    assert pager.next(answer(following, rows(2), {"next": None})) is None


def test_salesforce_next_records_url_is_relative_to_the_instance_until_done() -> None:
    """`nextRecordsUrl` is a path from the host's root; `done: true` ends the listing."""
    pager = make({"style": "next_link", "next": "nextRecordsUrl", "done": "done"})
    first = pager.first(PageRequest("GET", "/query", params={"q": "SELECT Id FROM Order"}))
    url = "https://na1.salesforce.com/services/data/v60.0/query?q=SELECT+Id+FROM+Order"
    body = {
        "totalSize": 3,
        "done": False,
        "nextRecordsUrl": "/services/data/v60.0/query/01gD0000002HU6KIAW-2000",
    }
    following = pager.next(answer(first, rows(1, 2), body, url=url))
    assert following is not None and following.params == {}
    assert following.url == "https://na1.salesforce.com/services/data/v60.0/query/01gD0000002HU6KIAW-2000"
    last = {"totalSize": 3, "done": True, "nextRecordsUrl": "/services/data/v60.0/query/x-4000"}
    assert pager.next(answer(following, rows(3), last, url=following.url)) is None


def test_odata_next_link_relative_to_the_collection() -> None:
    """SAP B1 v1 answers `"odata.nextLink": "Orders?$skip=20"`, relative to the collection's URL."""
    pager = make({"style": "next_link", "next": "odata.nextLink"})
    request = pager.first(PageRequest("GET", "/Orders"))
    body = {"odata.metadata": "$metadata#Orders", "value": [], "odata.nextLink": "Orders?$skip=20"}
    following = pager.next(answer(request, rows(1), body, url="https://b1.example.com:50000/b1s/v1/Orders"))
    assert following is not None and following.url == "https://b1.example.com:50000/b1s/v1/Orders?$skip=20"


def test_netsuite_next_link_from_the_links_list_keeps_the_post_body() -> None:
    """SuiteQL is a POST with the query in the body; `links[rel=next].href` carries only the offset, so
    the body is sent again with it."""
    pager = make({"style": "next_link", "next": "links[rel=next].href", "has_more": "hasMore"})
    query = {"q": "SELECT id FROM transaction"}
    request = pager.first(PageRequest("POST", "/query/v1/suiteql", params={"limit": 2}, body=query))
    href = "https://1234567.suitetalk.api.netsuite.com/services/rest/query/v1/suiteql?limit=2&offset=2"
    body = {"links": [{"rel": "self", "href": "x"}, {"rel": "next", "href": href}], "hasMore": True}
    url = "https://1234567.suitetalk.api.netsuite.com/services/rest/query/v1/suiteql?limit=2"
    following = pager.next(answer(request, rows(1, 2), body, url=url))
    assert following is not None
    assert (following.method, following.url, following.params, following.body) == ("POST", href, {}, query)
    assert pager.next(answer(following, rows(3), {"links": [], "hasMore": False}, url=href)) is None


def test_next_links_to_another_host_or_seen_before_are_refused() -> None:
    """A link to another host would carry the credentials there; a link given twice is a loop."""
    pager = make({"style": "next_link"})
    assert isinstance(pager, NextLinkPaginator)
    request = pager.first(LISTING)
    with pytest.raises(PagingLoop, match="another host"):
        pager.next(answer(request, rows(1), {"next": "https://evil.example.net/api/orders?page=2"}))
    link = {"next": "https://shop.example.com/api/orders?page=2"}
    following = pager.next(answer(request, rows(1), link))
    assert following is not None
    with pytest.raises(PagingLoop, match="again"):
        pager.next(answer(following, rows(2), link))


def test_shopify_link_header_carries_only_page_info_and_limit() -> None:
    """Shopify's `Link` header gives the next page as a URL with `page_info` and `limit`; the request
    takes exactly that query (Shopify refuses `updated_at_min` beside `page_info`), previous ignored."""
    pager = make({"style": "link_header"})
    assert isinstance(pager, LinkHeaderPaginator)
    request = pager.first(PageRequest("GET", "/orders.json", params={"status": "any", "updated_at_min": "x"}))
    shop = "https://demo.myshopify.com/admin/api/2024-10/orders.json"
    link = (
        f'<{shop}?limit=2&page_info=eyJsYXN0X2lkIjo0fQ>; rel="next", '
        f'<{shop}?limit=2&page_info=ab>; rel="previous"'
    )
    following = pager.next(answer(request, rows(1, 2), {"orders": []}, url=shop, headers={"Link": link}))
    assert following is not None and following.params == {}
    assert httpx.URL(following.url).params == httpx.QueryParams(
        {"limit": "2", "page_info": "eyJsYXN0X2lkIjo0fQ"}
    )
    only_previous = {"Link": f'<{shop}?limit=2&page_info=ab>; rel="previous"'}
    assert pager.next(answer(following, rows(3), {}, url=shop, headers=only_previous)) is None


def test_keyset_sends_the_last_key_in_the_body() -> None:
    """Jiandaoyun: each page asks for records after the last `_id`, as `data_id` in the POST body."""
    pager = make(
        {
            "style": "keyset",
            "param": "data_id",
            "field": "_id",
            "size_param": "limit",
            "size": 2,
            "param_in": "body",
        }
    )
    assert isinstance(pager, KeysetPaginator)
    request = pager.first(
        PageRequest("POST", "/api/v5/app/entry/data/list", body={"app_id": "a", "entry_id": "e"})
    )
    assert request.body == {"app_id": "a", "entry_id": "e", "limit": 2}
    records = [{"_id": "6818417bca66cb3cc212a021"}, {"_id": "6818417bca66cb3cc212a022"}]
    following = pager.next(answer(request, records))
    assert following is not None and following.body["data_id"] == "6818417bca66cb3cc212a022"
    assert pager.next(answer(following, [{"_id": "6818417bca66cb3cc212a023"}])) is None


def test_follow_and_select() -> None:
    """Links resolve against the page's URL; `[field=value]` picks an item of a list."""
    base = httpx.URL("https://erp.example.com/api/v1/orders?page=1")
    assert str(follow(base, "?page=2")) == "https://erp.example.com/api/v1/orders?page=2"
    assert str(follow(base, "/other")) == "https://erp.example.com/other"
    body = {"meta": {"links": [{"rel": "prev", "href": "a"}, {"rel": "next", "href": "b"}]}}
    assert select(body, "meta.links[rel=next].href") == "b"
    assert select(body, "meta.links[rel=last].href") is None
    assert select(body, "meta.links[rel=next]") == {"rel": "next", "href": "b"}


def test_page_request_keys_tell_requests_apart() -> None:
    """Two requests are the same request only when method, URL, params, headers and body all agree."""
    one = PageRequest("GET", "/o", params={"a": 1})
    assert one.key() == PageRequest("GET", "/o", params={"a": 1}).key()
    assert one.key() != one.with_value("query", "page", 2).key()
    assert one.key() != PageRequest("GET", "/o", params={"a": 1}, headers={"If-Modified-Since": "x"}).key()
    assert isinstance(make({"style": "page"}), PageNumberPaginator)


def test_each_style_explains_what_it_makes_of_an_answer() -> None:
    """`orderbridge probe` shows the configured style's own reading of the first answer: the next
    request it would send, or that this was the last page, and a short page's possible meaning."""
    link = make({"style": "next_link", "next": "nextRecordsUrl", "done": "done"})
    request = link.first(PageRequest("GET", "/query", params={"q": "SELECT Id FROM Order"}))
    url = "https://acme.my.salesforce.com/services/data/v60.0/query"
    body = {"done": False, "nextRecordsUrl": "/services/data/v60.0/query/01g-2000"}
    assert link.explain(answer(request, rows(1), body, url=url)) == (
        "list.paging.style next_link: a next page follows, asked at "
        "https://acme.my.salesforce.com/services/data/v60.0/query/01g-2000"
    )
    numbers = make({"style": "page", "size_param": "page_size", "size": 100})
    first = numbers.first(LISTING)
    said = numbers.explain(answer(first, rows(*range(20))))
    assert said.startswith("list.paging.style page: a next page follows, asked with page=2")
    assert said.endswith("if every page has 20, set size: 20")
    single = make({"style": "none"})
    assert (
        single.explain(answer(single.first(LISTING), rows(1)))
        == "list.paging.style none: this is the last page"
    )
