"""The declarative REST connector: list request, paging, record path and cursor all come from YAML."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import structlog
from pydantic import ValidationError

from orderbridge.connectors.base import (
    Batch,
    Connector,
    ConnectorContext,
    RecordError,
    RecordProblem,
    SourceError,
    SystemSettings,
    build_record,
    content_hash,
    get_path,
    native_record_id,
)
from orderbridge.connectors.http import HttpApi
from orderbridge.connectors.rest.settings import RestSettings
from orderbridge.mapping.model import SourceRecord
from orderbridge.mapping.timeparse import TimestampError, parse_timestamp, zone

log = structlog.get_logger(__name__)


class RestConnector(Connector):
    settings_model = RestSettings
    settings: RestSettings

    def __init__(self, name: str, settings: SystemSettings, context: ConnectorContext | None = None) -> None:
        if not isinstance(settings, RestSettings):
            raise TypeError(f"{name}: the rest connector needs RestSettings, not {type(settings).__name__}")
        super().__init__(name, settings, context)
        self.api = HttpApi.from_settings(name, settings, self.context)
        self.tz = zone(settings.timezone)

    def poll(self, cursor: dict[str, Any] | None, stop: threading.Event) -> Iterator[Batch]:
        since = self._since(cursor)
        newest, seen, done = since, set[tuple[str, str]](), 0
        # Unsorted listings may hold older changes on later pages: commit only once all were read.
        sorted_listing = self.settings.cursor is not None and self.settings.cursor.sorted
        for number, (items, last) in enumerate(self._pages(self._params(since), stop), 1):
            records, problems, latest = self._read_page(number, items, seen)
            if latest is not None and (newest is None or latest > newest):
                newest = latest
            done += len(items)
            commit = newest is not None and (sorted_listing or last)
            cursor_out = {"value": newest.isoformat()} if newest is not None and commit else None
            yield Batch(f"page {number}", records, problems, cursor=cursor_out, done=done)

    def close(self) -> None:
        self.api.close()

    def _since(self, saved: dict[str, Any] | None) -> datetime | None:
        if self.settings.cursor is None:
            return None
        value = (saved or {}).get("value", self.settings.cursor.initial)
        try:
            moment = parse_timestamp(value, self.tz)
        except TimestampError as exc:
            raise SourceError(f"{self.name}: the saved cursor {value!r} is unreadable: {exc}") from None
        if moment is None:
            raise SourceError(f"{self.name}: the saved cursor is empty")
        return moment

    def _params(self, since: datetime | None) -> dict[str, Any]:
        params = dict(self.settings.list.params)
        for name, value in params.items():
            if isinstance(value, str) and "{cursor}" in value:
                if since is None or self.settings.cursor is None:
                    raise SourceError(f"{self.name}: list.params.{name} uses {{cursor}} but no cursor is set")
                # The overlap re-reads ties at the cursor; it never reaches before the initial cursor.
                initial = parse_timestamp(self.settings.cursor.initial, self.tz) or since
                moment = max(since - self.settings.cursor.overlap, min(since, initial))
                params[name] = value.replace("{cursor}", _format(moment, self.settings.cursor.format))
        return params

    def _pages(self, params: dict[str, Any], stop: threading.Event) -> Iterator[tuple[list[Any], bool]]:
        """Each page's records, and whether the listing ended there (not cut short by stop/max_pages).

        Raises SourceError, after the page that showed it, when the source hands out a page token it
        gave before (following it would loop forever) or when max_pages cuts short a listing whose
        cursor cannot advance page by page (the rest would never be read)."""
        paging, listing = self.settings.list.paging, self.settings.list
        offset, token, tokens = 0, None, set[str]()
        for index in range(paging.max_pages):
            if index and stop.is_set():
                return
            query = dict(params)
            if paging.size_param and paging.style != "none":
                query[paging.size_param] = paging.size
            if paging.style == "page":
                query[paging.param] = paging.start + index
            elif paging.style == "offset":
                query[paging.param] = offset
            elif paging.style == "cursor" and token is not None:
                query[paging.param] = token
            body = self.api.fetch(listing.method, listing.path, stop=stop, params=query)
            items = self._records(body)
            offset += len(items)
            # Without size_param the server picks the page size: a "short" page cannot be told apart.
            last = paging.style == "none" or not items
            if paging.style in ("page", "offset") and paging.size_param:
                last = last or len(items) < paging.size
            if paging.style == "cursor":
                next_token = get_path(body, paging.next or "")
                token = None if next_token in (None, "") else str(next_token)
                last = last or token is None
            yield items, last
            if last:
                return
            if token is not None and token in tokens:
                raise SourceError(
                    f"{self.name}: page {index + 1} of {listing.path} gave the page token {token[:40]!r} "
                    "again; the listing was stopped so as not to loop forever"
                )
            if token is not None:
                tokens.add(token)
        if self.settings.cursor is not None and self.settings.cursor.sorted:
            # The cursor advanced with every page: the next poll goes on from there.
            log.warning(
                "max_pages reached; next poll continues", system=self.name, max_pages=paging.max_pages
            )
            return
        raise SourceError(
            f"{self.name}: {listing.path} has more than list.paging.max_pages={paging.max_pages} pages; "
            "the rest was not read (raise max_pages, or filter the listing by a cursor)"
        )

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
        return items

    def _read_page(
        self, number: int, items: list[Any], seen: set[tuple[str, str]]
    ) -> tuple[list[SourceRecord], list[RecordProblem], datetime | None]:
        records, problems, latest = [], [], None
        for position, item in enumerate(items, 1):
            try:
                if not isinstance(item, dict):
                    raise RecordError(f"not a JSON object: {item!r:.80}")
                record = build_record(self.name, item, self.settings)
                changed = self._changed_at(item)
            except (RecordError, ValidationError) as exc:
                problems.append(
                    RecordProblem(
                        f"page {number}, record {position}",
                        _reason(exc),
                        item,
                        record_id=native_record_id(item, self.settings),
                    )
                )
                continue
            key = (record.record_id, changed.isoformat() if changed else content_hash(item))
            if key in seen:
                continue  # overlapping windows and shifting pages repeat records
            seen.add(key)
            records.append(record)
            if changed is not None and (latest is None or changed > latest):
                latest = changed
        return records, problems, latest

    def _changed_at(self, item: dict[str, Any]) -> datetime | None:
        if self.settings.cursor is None:
            return None
        field = self.settings.cursor.field
        try:
            moment = parse_timestamp(get_path(item, field), self.tz)
        except TimestampError as exc:
            raise RecordError(f"cursor field {field!r}: {exc}") from None
        if moment is None:
            raise RecordError(f"cursor field {field!r} is missing or empty")
        return moment


def _format(moment: datetime, style: str) -> str:
    if style == "iso":
        return moment.isoformat()
    seconds = max(0.0, moment.timestamp())  # an initial cursor of 1970 minus the overlap
    return str(int(seconds * 1000) if style == "epoch_ms" else int(seconds))


def _present(body: Any, path: str) -> bool:
    parent_path, _, key = path.rpartition(".")
    parent = get_path(body, parent_path) if parent_path else body
    return (isinstance(body, dict) and path in body) or (isinstance(parent, dict) and key in parent)


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return str(exc)
