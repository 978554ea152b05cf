"""Paging: how a listing asks for its next page. One small class per style behind one interface
(`first`, `next`), picked by `style:` through REGISTRY; each sees the whole answer (status, headers,
body) and says what the next request is, or that the listing ended."""

from __future__ import annotations

import copy
import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from orderbridge.config.types import tagged_union
from orderbridge.connectors.base import get_path

Location = Literal["query", "body"]
Identity = Callable[[Any], str | None]


class PagingLoop(RuntimeError):
    """Following the source's paging would loop; the message names the setting to fix."""


@dataclass(frozen=True)
class PageRequest:
    """One request of a listing: `url` is a path below base_url or an absolute URL (a next link)."""

    method: str
    url: str
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None

    def with_value(self, where: Location, name: str, value: Any) -> PageRequest:
        if where == "query":
            return replace(self, params={**self.params, name: value})
        body = copy.deepcopy(self.body) if isinstance(self.body, dict) else {}
        node = body
        *parents, last = name.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
        return replace(self, body=body)

    def key(self) -> str:
        """What makes two requests the same request."""
        text = json.dumps(
            [self.method, self.url, sorted(self.params.items()), sorted(self.headers.items()), self.body],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha1(text.encode()).hexdigest()


@dataclass(frozen=True)
class Page:
    """One answer of a listing: the request, the URL it went to, and the whole response."""

    request: PageRequest
    url: httpx.URL
    status: int
    headers: httpx.Headers
    body: Any
    records: list[Any]


class PastEnd(BaseModel):
    """An answer after the first page that means "no more pages" rather than an error."""

    model_config = ConfigDict(extra="forbid")

    status: int = Field(ge=300, le=599, description="The HTTP status of that answer, e.g. 404.")
    contains: str | None = Field(
        default=None,
        description="Text its body must contain, e.g. 'Invalid page.' (DRF), so that a wrong path is "
        "still an error.",
    )

    def matches(self, response: httpx.Response) -> bool:
        return response.status_code == self.status and (
            self.contains is None or self.contains in response.text
        )


class PagingSettings(BaseModel):
    """What every paging style has: a safety stop and the signs of a last page."""

    model_config = ConfigDict(extra="forbid")

    style: str
    max_pages: int = Field(default=10000, ge=1, description="Safety stop for a source that never ends.")
    done: str | None = Field(
        default=None, description="Path of a field that is true on the last page (Salesforce: `done`)."
    )
    has_more: str | None = Field(
        default=None,
        description="Path of a field that is false on the last page (Zoho: `info.more_records`, "
        "NetSuite: `hasMore`).",
    )
    past_end: PastEnd | None = Field(
        default=None,
        description="An answer after the first page that means there are no more pages, e.g. DRF's "
        "`{status: 404, contains: 'Invalid page.'}`.",
    )


class SizedSettings(PagingSettings):
    """Styles that ask for a page size and read a short page as a possible end."""

    size_param: str | None = Field(default=None, description="Parameter carrying the page size.")
    size: int = Field(default=100, ge=1, le=10000, description="Records asked for per page.")
    param_in: Location = Field(
        default="query", description="Where the paging parameters go: the query string or the JSON body."
    )
    total: str | None = Field(
        default=None,
        description="Path of the total record count in the answer: the listing ends once that many "
        "were read.",
    )


class Paginator(ABC):
    """Asks for the pages of one listing. `first` turns the listing's request into the first page's;
    `next` gets each answer and returns the next request, or None when the listing ended.

    `restartable` paginators address pages by position (page number, offset): a listing sorted by its
    cursor may restart them from a newer cursor value instead of moving the position on."""

    style: ClassVar[str]
    settings_model: ClassVar[type[PagingSettings]]
    restartable: ClassVar[bool] = False
    settings: PagingSettings

    def __init__(self, settings: PagingSettings, state: dict[str, Any], identity: Identity) -> None:
        self.settings, self.state, self.identity = settings, state, identity
        self.gaps = 0  # pages that could not be tied to the one before (records may have been skipped)
        self.notes: list[str] = []  # things the user should hear about, once

    @abstractmethod
    def first(self, request: PageRequest) -> PageRequest: ...

    @abstractmethod
    def next(self, page: Page) -> PageRequest | None: ...

    @property
    def setting(self) -> str:
        """The setting that makes the source move to the next page (named in loop errors)."""
        return "list.paging.style"

    def explain(self, page: Page) -> str:
        """What this style makes of one answer: the next request, or the end (`orderbridge probe`)."""
        head = f"list.paging.style {self.style}"
        try:
            following = self.next(page)
        except PagingLoop as exc:
            return f"{head}: {exc}"
        if following is None:
            return f"{head}: this is the last page"
        return f"{head}: a next page follows, asked {_difference(page.request, following)}"

    def last_by_body(self, page: Page) -> bool:
        if not page.records:
            return True
        if self.settings.done and get_path(page.body, self.settings.done) is True:
            return True
        return bool(self.settings.has_more and get_path(page.body, self.settings.has_more) is False)


class NoPaging(Paginator):
    """A single request."""

    style = "none"

    class NoPagingSettings(PagingSettings):
        style: Literal["none"] = Field(default="none", description="A single request.")

    settings_model = NoPagingSettings

    def first(self, request: PageRequest) -> PageRequest:
        return request

    def next(self, page: Page) -> PageRequest | None:
        return None


class PositionPaginator(Paginator):
    """Page number or offset: the position moves on by what was received. A short page ends the listing
    only once the source is known to honour the size asked for; a source that does not is reported."""

    restartable = True
    settings: SizedSettings

    def __init__(self, settings: PagingSettings, state: dict[str, Any], identity: Identity) -> None:
        super().__init__(settings, state, identity)
        self.received = 0
        self.short: int | None = None  # a short page seen before this one in the listing

    @property
    def setting(self) -> str:
        return "list.paging.param"

    def sized(self, request: PageRequest) -> PageRequest:
        if self.settings.size_param:
            return request.with_value(self.settings.param_in, self.settings.size_param, self.settings.size)
        return request

    def ended(self, page: Page, fresh: int | None = None) -> bool:
        """Whether `page` was the last one (`fresh` of its records are new: the rest re-read the page
        before); notes a server that gives another number of records than asked for."""
        count, size = len(page.records), self.settings.size
        self.received += count if fresh is None else fresh
        if self.last_by_body(page):
            return True
        total = get_path(page.body, self.settings.total) if self.settings.total else None
        if isinstance(total, int) and not isinstance(total, bool):
            return self.received >= total
        if self.settings.size_param is None:
            return False  # the server picks the size: a short page says nothing
        if count == size:
            self.state["size_honoured"] = True
            return False
        if count > size:
            self.note(count)
            return False
        if self.short is not None:
            self.note(self.short)
        self.short = count
        return bool(self.state.get("size_honoured"))

    def explain(self, page: Page) -> str:
        said = super().explain(page)
        count, size = len(page.records), self.settings.size
        if self.settings.size_param and 0 < count < size and not self.state.get("size_honoured"):
            said += (
                f"; {count} records on this page, {size} asked ({self.settings.size_param}): a shorter page "
                "ends the listing only once the server has shown it honours the size; if every page has "
                f"{count}, set size: {count}"
            )
        return said

    def note(self, got: int) -> None:
        if self.state.get("size_seen") == got:
            return
        self.state["size_seen"] = got
        self.notes.append(
            f"asked for {self.settings.size} records per page, got {got}: the server ignores the size; "
            f"set `list.paging.size: {got}`"
        )


class PageNumberPaginator(PositionPaginator):
    """`param` is the page number, counted from `start`."""

    style = "page"

    class PageNumberSettings(SizedSettings):
        style: Literal["page"] = Field(default="page", description="Page numbers.")
        param: str = Field(default="page", description="Parameter carrying the page number.")
        start: int = Field(default=1, ge=0, description="Number of the first page.")

    settings_model = PageNumberSettings
    settings: PageNumberSettings

    def first(self, request: PageRequest) -> PageRequest:
        self.number, self.received, self.short = self.settings.start, 0, None
        self.request = self.sized(request)
        return self.request.with_value(self.settings.param_in, self.settings.param, self.number)

    def next(self, page: Page) -> PageRequest | None:
        if self.ended(page):
            return None
        self.number += 1
        return self.request.with_value(self.settings.param_in, self.settings.param, self.number)


class OffsetPaginator(PositionPaginator):
    """`param` is the offset of the page's first record. Each page re-reads the last `overlap` records of
    the one before: when none of them is found again, records moved while reading and some may have been
    skipped (counted in `gaps`)."""

    style = "offset"

    class OffsetSettings(SizedSettings):
        style: Literal["offset"] = Field(default="offset", description="Record offsets.")
        param: str = Field(default="offset", description="Parameter carrying the offset.")
        start: int = Field(default=0, ge=0, description="Offset of the first record.")
        overlap: int | None = Field(
            default=None,
            ge=0,
            description="Records of the previous page asked for again, to see records shift while "
            "reading; default 2 for a listing with a cursor it is not sorted by, else 0 (some APIs "
            "want offsets that are multiples of the size).",
        )

    settings_model = OffsetSettings
    settings: OffsetSettings

    def __init__(self, settings: PagingSettings, state: dict[str, Any], identity: Identity) -> None:
        super().__init__(settings, state, identity)
        self.overlap = self.settings.overlap or 0

    def first(self, request: PageRequest) -> PageRequest:
        self.offset, self.received, self.short = self.settings.start, 0, None
        self.anchors: list[str] = []
        self.request = self.sized(request)
        return self.request.with_value(self.settings.param_in, self.settings.param, self.offset)

    def next(self, page: Page) -> PageRequest | None:
        ids = [self.identity(record) for record in page.records]
        count, repeated = len(page.records), 0
        if self.anchors:
            found = [index for index, key in enumerate(ids) if key is not None and key in self.anchors]
            if found:
                repeated = found[-1] + 1
            elif page.records:
                self.gaps += 1
        if repeated >= count and self.anchors:
            return None  # nothing after the records asked for again
        if self.ended(page, count - repeated):
            return None
        overlap = min(self.overlap, count - 1)
        self.anchors = [key for key in ids[count - overlap :] if key is not None] if overlap > 0 else []
        self.offset += count - len(self.anchors)
        return self.request.with_value(self.settings.param_in, self.settings.param, self.offset)


class TokenPaginator(Paginator):
    """The answer carries the next page's token at `next`; it is sent back as `param`."""

    style = "cursor"

    class TokenSettings(PagingSettings):
        style: Literal["cursor"] = Field(default="cursor", description="A page token in the answer.")
        param: str = Field(default="cursor", description="Parameter carrying the page token.")
        next: str = Field(description="Path of the next page's token in the answer.")
        param_in: Location = Field(default="query", description="Where the token goes: query or JSON body.")
        size_param: str | None = Field(default=None, description="Parameter carrying the page size.")
        size: int = Field(default=100, ge=1, le=10000, description="Records asked for per page.")

    settings_model = TokenSettings
    settings: TokenSettings

    @property
    def setting(self) -> str:
        return "list.paging.next"

    def first(self, request: PageRequest) -> PageRequest:
        self.tokens: set[str] = set()
        if self.settings.size_param:
            request = request.with_value(self.settings.param_in, self.settings.size_param, self.settings.size)
        self.request = request
        return request

    def next(self, page: Page) -> PageRequest | None:
        token = get_path(page.body, self.settings.next)
        if token in (None, "") or self.last_by_body(page):
            return None
        token = str(token)
        if token in self.tokens:
            raise PagingLoop(f"gave the page token {token[:40]!r} again")
        self.tokens.add(token)
        return self.request.with_value(self.settings.param_in, self.settings.param, token)


class KeysetPaginator(PositionPaginator):
    """The next page asks for records after the last one's key (`field`), sent as `param`."""

    style = "keyset"
    restartable = False

    class KeysetPagingSettings(SizedSettings):
        style: Literal["keyset"] = Field(default="keyset", description="The last record's key.")
        param: str = Field(description="Parameter carrying the last key seen, e.g. `data_id`, `since_id`.")
        field: str = Field(description="Record field holding the key, e.g. `_id`, `id`.")

    settings_model = KeysetPagingSettings
    settings: KeysetPagingSettings

    @property
    def setting(self) -> str:
        return "list.paging.field"

    def first(self, request: PageRequest) -> PageRequest:
        self.received, self.short = 0, None
        self.request = self.sized(request)
        return self.request

    def next(self, page: Page) -> PageRequest | None:
        if self.ended(page):
            return None
        last = page.records[-1]
        key = get_path(last, self.settings.field) if isinstance(last, dict) else None
        if key is None:
            raise PagingLoop(f"the last record of the page has no {self.settings.field!r}")
        return self.request.with_value(self.settings.param_in, self.settings.param, key)


class LinkFollower(Paginator):
    """Styles that follow a URL the answer gives, as it is: the next request keeps the method, headers
    and body, and takes its query from the link alone (Shopify refuses filters beside `page_info`)."""

    def first(self, request: PageRequest) -> PageRequest:
        self.request, self.links = request, set[str]()
        return request

    def next(self, page: Page) -> PageRequest | None:
        link = self.link(page)
        if not link or self.last_by_body(page):
            return None
        target = follow(page.url, str(link))
        if str(target) in self.links:
            raise PagingLoop(f"gave the next link {str(target)[:80]!r} again")
        self.links.add(str(target))
        return replace(self.request, url=str(target), params={})

    @abstractmethod
    def link(self, page: Page) -> str | None: ...


class NextLinkPaginator(LinkFollower):
    """A next link in the body, absolute or relative: `next` (DRF), `nextRecordsUrl` (Salesforce),
    `@odata.nextLink` (SAP B1), `links[rel=next].href` (NetSuite)."""

    style = "next_link"

    class NextLinkSettings(PagingSettings):
        style: Literal["next_link"] = Field(default="next_link", description="A next link in the answer.")
        next: str = Field(
            default="next",
            description="Path of the next page's URL in the answer; `links[rel=next].href` picks from a "
            "list by a field.",
        )

    settings_model = NextLinkSettings
    settings: NextLinkSettings

    @property
    def setting(self) -> str:
        return "list.paging.next"

    def link(self, page: Page) -> str | None:
        found = select(page.body, self.settings.next)
        return found if isinstance(found, str) else None


class LinkHeaderPaginator(LinkFollower):
    """The `Link` response header's `rel="next"` URL (Shopify, GitHub)."""

    style = "link_header"

    class LinkHeaderSettings(PagingSettings):
        style: Literal["link_header"] = Field(default="link_header", description="The Link header.")
        rel: str = Field(default="next", description="Relation of the link to follow.")

    settings_model = LinkHeaderSettings
    settings: LinkHeaderSettings

    def link(self, page: Page) -> str | None:
        links = httpx.Response(page.status, headers=page.headers).links
        return links.get(self.settings.rel, {}).get("url")


def _difference(before: PageRequest, after: PageRequest) -> str:
    if after.url != before.url:
        return f"at {after.url}"
    changed = [f"{k}={v}" for k, v in after.params.items() if before.params.get(k) != v]
    if isinstance(after.body, dict) and after.body != before.body:
        old = before.body if isinstance(before.body, dict) else {}
        changed += [f"{k}={v} (in the body)" for k, v in after.body.items() if old.get(k) != v]
    return "with " + ", ".join(changed) if changed else "again"


def follow(current: httpx.URL, link: str) -> httpx.URL:
    """The URL a next link points to, resolved against the page that gave it. A link to another host is
    refused (it would carry the credentials there); an `http` link to an `https` host is read as https
    (servers behind a TLS proxy often write their own scheme)."""
    target = current.join(link)
    if target.host != current.host:
        raise PagingLoop(f"gave a next link to another host ({target.host}); it is not followed")
    if current.scheme == "https" and target.scheme == "http":
        target = target.copy_with(scheme="https", port=current.port)
    return target


def select(data: Any, path: str) -> Any:
    """`get_path` plus list selection by a field: `links[rel=next].href`."""
    if "[" not in path:
        return get_path(data, path)
    head, _, rest = path.partition("[")
    condition, _, tail = rest.partition("]")
    name, _, wanted = condition.partition("=")
    items = get_path(data, head) if head else data
    if not isinstance(items, list):
        return None
    chosen = next((i for i in items if isinstance(i, dict) and str(i.get(name)) == wanted), None)
    return select(chosen, tail.lstrip(".")) if tail.strip(".") else chosen


REGISTRY: dict[str, type[Paginator]] = {
    cls.style: cls
    for cls in (
        NoPaging,
        PageNumberPaginator,
        OffsetPaginator,
        TokenPaginator,
        NextLinkPaginator,
        LinkHeaderPaginator,
        KeysetPaginator,
    )
}


if TYPE_CHECKING:
    AnyPaging = PagingSettings
else:
    # The settings of every registered style, told apart by `style`.
    AnyPaging = tagged_union((cls.settings_model for cls in REGISTRY.values()), "style", NoPaging.style)


def paginator(settings: PagingSettings, state: dict[str, Any], identity: Identity) -> Paginator:
    return REGISTRY[settings.style](settings, state, identity)
