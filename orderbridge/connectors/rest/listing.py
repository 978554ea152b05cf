"""One listing of the REST connector (an order list or a child list): its requests page after page, the
records it reads, and the cursor each page may commit.

The cursor never moves past a record not yet read. A listing sorted by its cursor pages by the cursor
itself: each request asks from the newest value the pages so far have read in full, so a record that
changes while the listing runs only moves further on, to be read later. Page numbers and offsets are
used only inside a run of records that share one cursor value, or when there is no other way; then
the cursor stops where a record may have been skipped."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import structlog

from orderbridge.connectors.base import (
    RecordError,
    RecordProblem,
    SourceError,
    blanked,
    build_record,
    content_hash,
    get_path,
    native_record_id,
    record_reason,
)
from orderbridge.connectors.cursors import UNTIL, CursorStyle, cursor_style, replace_cursor
from orderbridge.connectors.http import HttpApi
from orderbridge.connectors.paging import (
    OffsetPaginator,
    Page,
    PageRequest,
    Paginator,
    PagingLoop,
    paginator,
)
from orderbridge.connectors.rest.settings import RestSettings
from orderbridge.connectors.rows import BadRow, row_shape
from orderbridge.mapping.model import SourceRecord
from orderbridge.mapping.timeparse import zone

log = structlog.get_logger(__name__)
NOTHING_NEW = frozenset({204, 304})  # "no content" and "not modified": nothing changed
VERIFY_PASSES = 3  # re-reads of a run of equal cursor values read by page number
REMEMBERED_REQUESTS = 1000
# How one native record becomes records: the system's field map (build_record), or a connector's own
# parse (Shopify's orders carry their fulfilments).
Build = Callable[[str, dict[str, Any], RestSettings], list[SourceRecord]]


@dataclass
class ListedPage:
    """What one page gave: records, problems, the stream state to commit with them (None: commit
    nothing yet), and whether the listing ended with it."""

    label: str
    records: list[SourceRecord]
    problems: list[RecordProblem]
    read: int
    state: dict[str, Any] | None
    last: bool
    total: int | None = None


class Recent:
    """The keys of the records read lately (a bounded window: memory stays flat however long the
    listing). A repeat older than the window is written as unchanged by the store, nothing worse."""

    def __init__(self, size: int) -> None:
        self.size, self.keys = size, OrderedDict[tuple[str, str], None]()

    def add(self, key: tuple[str, str]) -> bool:
        if key in self.keys:
            return False
        self.keys[key] = None
        if len(self.keys) > self.size:
            self.keys.popitem(last=False)
        return True


@dataclass
class _Run:
    """A run of records sharing one cursor value, longer than a page, read by position."""

    origin: Any
    until: Any = None  # where the listing goes on after the run; None until the first read ended
    passes: int = 0
    found: int = 0  # records up to `until` that this re-read found and the reads before missed
    moved: bool = False  # the first read got records from a page after the run's first


@dataclass
class _Read:
    records: list[SourceRecord] = field(default_factory=list)
    problems: list[RecordProblem] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)  # cursor values of every readable record
    fresh: list[Any] = field(default_factory=list)  # those of the records not read before


class Listing:
    def __init__(
        self,
        name: str,
        settings: RestSettings,
        api: HttpApi,
        saved: dict[str, Any] | None,
        *,
        full: bool = False,
        label: str = "page",
        child: bool = False,
        clock: Callable[[], datetime] | None = None,
        build: Build | None = None,
    ) -> None:
        self.name, self.settings, self.api, self.full, self.label = name, settings, api, full, label
        self.child = child
        self.build: Build = build or one_record
        self.state: dict[str, Any] = dict(saved or {})
        self.paging_state: dict[str, Any] = dict(self.state.get("paging") or {})
        self.tz = zone(settings.timezone)
        self.style: CursorStyle | None = (
            cursor_style(settings.cursor, self.tz, clock) if settings.cursor is not None else None
        )
        self.pager: Paginator = paginator(settings.list.paging, self.paging_state, self._identity)
        self.rows = row_shape(settings.list.rows)
        self.recent = Recent(max(2000, 10 * int(getattr(settings.list.paging, "size", 100))))
        self.told: set[str] = set()

    # -- the loop ------------------------------------------------------------------------------------

    def pages(self, stop: threading.Event) -> Iterator[ListedPage]:
        style, pager, paging = self.style, self.pager, self.settings.list.paging
        self.stop = stop  # also ends a wait between retries
        saved = self._saved()
        start = style.start(style.initial() if self.full else saved) if style is not None else None
        sorted_listing = style is not None and style.settings.sorted
        driven = (
            style is not None and sorted_listing and pager.restartable and self.settings.list.uses_cursor()
        )
        if isinstance(pager, OffsetPaginator) and pager.settings.overlap is None and not sorted_listing:
            pager.overlap = 2 if style is not None else 0  # only an unsorted cursor needs the proof
        self.shift_tolerant = isinstance(pager, OffsetPaginator) and pager.overlap > 0
        self.origin: Any = start
        self.run: _Run | None = None
        self.restarted, self.restarted_at, self.inclusive = False, None, False
        request = pager.first(self._request(start))
        committed, newest, self.ceiling = saved, None, None
        sent: OrderedDict[str, None] = OrderedDict()
        previous, moved_on, done, gaps = None, False, 0, 0
        for number in range(1, paging.max_pages + 1):
            if number > 1 and stop.is_set():
                return
            key = request.key()
            if key in sent:
                raise self._loop(
                    number, f"would repeat the request of an earlier page ({self._what(request)})"
                )
            sent[key] = None
            if len(sent) > REMEMBERED_REQUESTS:
                sent.popitem(last=False)
            page, ended = self._fetch(request, first=number == 1)
            digest = _digest(page.records)
            if moved_on and page.records and digest == previous:
                raise self._loop(
                    number,
                    f"answered exactly the {len(page.records)} records of the page before: the server "
                    f"ignores {pager.setting}",
                )
            previous = digest
            read = self._read(page, number)
            done += len(page.records)
            top_before: Any = newest
            if style is not None:
                newest = _higher(style, newest, _top(style, read.values))
            failure: SourceError | None = None
            following: PageRequest | None = None
            try:
                following = None if ended else pager.next(page)
            except PagingLoop as exc:
                failure = self._loop(number, str(exc))
            if sorted_listing and (disorder := _disorder(style, read.values)) is not None:
                failure, driven, sorted_listing = self._unsorted(number, disorder), False, False
            if pager.gaps > gaps:
                gaps = pager.gaps
                # A record may have been skipped before this page: the cursor stays before it.
                self.ceiling = _lower(style, self.ceiling, committed if sorted_listing else saved)
            self._tell(pager.notes, read)
            commit: Any = None
            if style is not None and driven and failure is None:
                following = self._drive(style, read, following, newest)
                commit = newest if following is None else self.origin
            elif style is not None and following is None and failure is None:
                commit = style.complete(newest)
            elif style is not None and sorted_listing:
                page_top = _top(style, read.values)
                below: Any = top_before if page_top is None or _before(style, top_before, page_top) else None
                commit = _higher(style, _second(style, read.values), below)
            last = following is None and failure is None
            if style is not None and commit is None and (last or sorted_listing):
                commit = committed
            if self.restarted:
                sent.clear()
            moved_on, self.restarted = not self.restarted, False
            if commit is not None:
                commit = _higher(style, committed, _lower(style, commit, self.ceiling))
            state = self._state(commit) if commit is not None and (sorted_listing or last) else None
            if state is None and last and self.paging_state != self.state.get("paging", {}):
                state = {**self.state, "paging": dict(self.paging_state)}
            if state is not None:
                committed = commit if commit is not None else committed
                self.state = state
            yield ListedPage(
                f"{self.label} {number}",
                read.records,
                read.problems,
                done,
                state,
                last,
                total=_count(page.body, getattr(paging, "total", None)),
            )
            if failure is not None:
                raise failure
            if following is None:
                return
            request = following
        if sorted_listing:
            # The cursor advanced with every page: the next poll goes on from there.
            log.warning(
                "max_pages reached; next poll continues", system=self.name, max_pages=paging.max_pages
            )
            return
        raise SourceError(
            f"{self.name}: {self.settings.list.path} has more than list.paging.max_pages={paging.max_pages} "
            "pages; the rest was not read (raise max_pages, or filter the listing by a cursor)"
        )

    def _drive(
        self, style: CursorStyle, read: _Read, following: PageRequest | None, newest: Any
    ) -> PageRequest | None:
        """The next request of a listing paged by its cursor (None: the listing ended).

        It asks from the newest value this page read in full (`second`), when that is beyond where the
        current request started. Otherwise the records at that value fill whole pages, and the
        paginator's next position is read, inside a run that starts at the request's origin. Reading
        by position, a record that moves off the run shifts the others back, and one may be skipped:
        unless the paginator sees shifts (an offset with an overlap), a run is read again from its
        origin until a pass finds nothing it missed, and only then does the cursor pass it."""
        second, run = _second(style, read.values), self.run
        if self.restarted_at is not None and read.values:
            # Asked from a value records were read at: do they come back? Then the filter is inclusive
            # (>=), and later requests may ask from the page's newest value, re-reading only its ties.
            bottom = _bottom(style, read.values)
            self.inclusive = style.order(bottom) == style.order(self.restarted_at)
        self.restarted_at = None
        target = _top(style, read.values) if self.inclusive else second
        progress = target is not None and _before(style, self.origin, target)
        if run is None:
            if following is None:
                return None
            if progress:
                return self._restart(target)
            self.run = _Run(self.origin)
            return following
        if run.until is not None:
            run.found += sum(1 for v in read.fresh if not _before(style, run.until, v))
            over = following is None or (second is not None and not _before(style, second, run.until))
        else:
            run.moved = run.moved or bool(read.values)
            over = following is None or progress
        if not over:
            return following
        # With an inclusive filter the page's newest value may be asked again: its ties are re-read.
        reached = newest if following is None else (target if self.inclusive else second)
        if self.shift_tolerant or (run.until is None and not run.moved):
            # Seen directly, or nothing was read by position: no record can have been skipped.
            self.run = None
            return None if following is None else self._restart(reached)
        if run.until is None or (run.found and run.passes < VERIFY_PASSES):
            run.until = _higher(style, run.until, reached)
            run.passes, run.found = run.passes + 1, 0
            return self._restart(run.origin)
        if run.found:
            self._hold(style, run.origin)
        self.run = None
        return None if following is None else self._restart(run.until)

    def _restart(self, value: Any) -> PageRequest:
        self.origin, self.restarted, self.restarted_at = value, True, value
        return self.pager.first(self._request(value))

    def _hold(self, style: CursorStyle, value: Any) -> None:
        """Records kept moving under a run: the cursor may not pass its origin in this poll."""
        self.ceiling = _lower(style, self.ceiling, value)
        self._once(
            f"records kept moving while the records from cursor {style.render(value)} were read "
            f"{VERIFY_PASSES + 1} times; the cursor stays there until a poll reads them unchanged"
        )

    # -- requests ------------------------------------------------------------------------------------

    def _request(self, value: Any) -> PageRequest:
        listing = self.settings.list
        text = typed = None
        if self.style is not None and value is not None:
            text, typed = self.style.render(value), self.style.json_value(value)

        bound: tuple[str, Any] | None = None
        if self.style is not None and (until := self.style.bound()) is not None:
            bound = (self.style.render(until), self.style.json_value(until))

        def fill(part: Any, json_typed: bool) -> Any:
            if text is not None:
                part = replace_cursor(part, text, typed if json_typed else None)
            if bound is not None:
                part = replace_cursor(part, bound[0], bound[1] if json_typed else None, UNTIL)
            return part

        return PageRequest(
            listing.method,
            listing.path,
            params=fill(dict(listing.params), False),
            headers=fill(dict(listing.headers), False),
            body=fill(listing.body, True),
        )

    def _fetch(self, request: PageRequest, *, first: bool) -> tuple[Page, bool]:
        """The page, and whether its answer said the listing ended (nothing new, past the last page)."""
        past_end = self.pager.settings.past_end
        accept = past_end.matches if past_end is not None and not first else None
        response = self.api.send(
            request.method,
            request.url,
            stop=self.stop,
            accept=accept,
            params=request.params or None,
            headers=request.headers or None,
            json=request.body,
        )
        if response.status_code in NOTHING_NEW or (accept is not None and accept(response)):
            return self._page(request, response, None, []), True
        body = self.api.read_json(response)
        return self._page(request, response, body, self._records(body)), False

    def _page(self, request: PageRequest, response: httpx.Response, body: Any, records: list[Any]) -> Page:
        return Page(request, response.request.url, response.status_code, response.headers, body, records)

    def _records(self, body: Any) -> list[Any]:
        path = self.settings.list.records
        items = get_path(body, path) if path else body
        if items is None and _present(body, path):
            return []  # `"data": null` is how many APIs (Go's nil slice) say "no records"
        if not isinstance(items, list):
            found = "nothing" if items is None else f"a {type(items).__name__}"
            raise SourceError(
                f"{self.name}: expected a list of records at {path or 'the body'!r}, found {found}"
            )
        return self.rows.decode(items, body)

    # -- records -------------------------------------------------------------------------------------

    def _read(self, page: Page, number: int) -> _Read:
        read = _Read()
        for position, item in enumerate(page.records, 1):
            try:
                if isinstance(item, BadRow):
                    raise RecordError(item.reason)
                if not isinstance(item, dict):
                    raise RecordError(f"not a JSON object: {item!r:.80}")
                empty = self.settings.list.empty
                data = blanked(item, empty) if empty else item
                built = self.build(self.name, data, self.settings)
                if empty:  # the record is stored as the source sent it
                    built = [r.model_copy(update={"raw": item}) if r.raw == data else r for r in built]
                if self.child:
                    # The child's order field names its order, not itself: several deliveries of one
                    # order are not duplicates.
                    built = [
                        r
                        if r.order_ref is None
                        else r.model_copy(update={"order_ref": None, "parent_ref": r.order_ref})
                        for r in built
                    ]
                value = self.style.read(data) if self.style is not None else None
            except Exception as exc:  # one record, whatever is wrong with it, never fails the page
                where = f"{self.label} {number}, record {position}"
                raw = item.raw if isinstance(item, BadRow) else item
                read.problems.append(
                    RecordProblem(
                        where, record_reason(exc), raw, record_id=native_record_id(item, self.settings)
                    )
                )
                continue
            read.values.append(value)
            marker = str(self.style.dump(value)) if self.style else content_hash(item)
            fresh = [r for r in built if self.recent.add((r.record_id, marker))]
            read.records.extend(fresh)
            if fresh:
                read.fresh.append(value)
        return read

    def _identity(self, item: Any) -> str | None:
        return native_record_id(item, self.settings)

    # -- cursor state --------------------------------------------------------------------------------

    def _saved(self) -> Any:
        if self.style is None:
            return None
        value = self.state.get("value")
        try:
            return self.style.load(value)
        except ValueError as exc:
            raise SourceError(f"{self.name}: the saved cursor {value!r} is unreadable: {exc}") from None

    def _state(self, value: Any) -> dict[str, Any]:
        assert self.style is not None
        state = {**self.state, "value": self.style.dump(value)}
        if self.paging_state:
            state["paging"] = dict(self.paging_state)
        return state

    # -- messages ------------------------------------------------------------------------------------

    def _loop(self, number: int, what: str) -> SourceError:
        return SourceError(
            f"{self.name}: page {number} of {self.settings.list.path} {what}; the listing was stopped so as "
            f"not to loop (check {self.pager.setting})"
        )

    def _unsorted(self, number: int, pair: tuple[Any, Any]) -> SourceError:
        assert self.style is not None
        field = self.style.settings.field
        before, after = (self.style.render(v) for v in pair)
        return SourceError(
            f"{self.name}: page {number} of {self.settings.list.path} is not sorted by {field} ({after} "
            f"after {before}); the listing was stopped before the cursor could pass a record not read: "
            f"sort it by {field}, oldest first, or set cursor.sorted: false"
        )

    def _what(self, request: PageRequest) -> str:
        params = "&".join(f"{k}={v}" for k, v in request.params.items())
        return f"{request.method} {request.url}" + (f"?{params}" if params else "")

    def _tell(self, notes: list[str], read: _Read) -> None:
        for note in notes:
            self._once(note)
        notes.clear()
        style, origin = self.style, self.origin
        if style is None or origin is None or not read.values or not self.settings.list.uses_cursor():
            return
        if all(style.order(v) < style.order(origin) for v in read.values) and not self.full:
            self._once(
                f"records older than the cursor {style.render(origin)} came back: does the server know the "
                "filter in list.params/headers/body?"
            )

    def _once(self, note: str) -> None:
        if note not in self.told:
            self.told.add(note)
            log.warning(note, system=self.name)


def one_record(system: str, item: dict[str, Any], settings: RestSettings) -> list[SourceRecord]:
    """A native record as one record, by the system's field map."""
    return [build_record(system, item, settings)]


def _second(style: CursorStyle, values: list[Any]) -> Any:
    """The newest value of the page below its newest: every record up to it has been read."""
    if not values:
        return None
    top = style.order(max(values, key=style.order))
    below = [v for v in values if style.order(v) < top]
    return max(below, key=style.order) if below else None


def _disorder(style: CursorStyle | None, values: list[Any]) -> tuple[Any, Any] | None:
    """The first pair of neighbours out of order, if any."""
    if style is None:
        return None
    for earlier, later in itertools.pairwise(values):
        if style.order(later) < style.order(earlier):
            return earlier, later
    return None


def _bottom(style: CursorStyle, values: list[Any]) -> Any:
    return min(values, key=style.order) if values else None


def _top(style: CursorStyle, values: list[Any]) -> Any:
    return max(values, key=style.order) if values else None


def _before(style: CursorStyle, a: Any, b: Any) -> bool:
    """Whether `a` comes before `b` (None comes before everything)."""
    return b is not None and (a is None or style.order(a) < style.order(b))


def _lower(style: CursorStyle | None, a: Any, b: Any) -> Any:
    if style is None or a is None:
        return b
    if b is None:
        return a
    return a if style.order(a) <= style.order(b) else b


def _higher(style: CursorStyle | None, a: Any, b: Any) -> Any:
    if style is None or a is None:
        return b
    if b is None:
        return a
    return a if style.order(a) >= style.order(b) else b


def _digest(records: list[Any]) -> str:
    return hashlib.sha1(json.dumps(records, sort_keys=True, default=str).encode()).hexdigest()


def _count(body: Any, path: str | None) -> int | None:
    value = get_path(body, path) if path else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _present(body: Any, path: str) -> bool:
    parent_path, _, key = path.rpartition(".")
    parent = get_path(body, parent_path) if parent_path else body
    return (isinstance(body, dict) and path in body) or (isinstance(parent, dict) and key in parent)
