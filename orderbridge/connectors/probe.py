"""See before you trust: read one page (or one file) of a system through its connector, store nothing,
and report what each configured field path finds in it, which status words the tables do not map, and
what the answer says about a next page — so a wrong path or an unmapped vocabulary is seen before the
first sync."""

from __future__ import annotations

import difflib
import threading
from collections import Counter
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import httpx

from orderbridge.connectors import registry
from orderbridge.connectors.base import ConnectorContext, SourceError, SystemSettings, blanked, get_path
from orderbridge.connectors.paging import Page, PageRequest, PagingSettings, paginator
from orderbridge.mapping.model import UNMAPPED

EXAMPLES = 3
SHOWN = 40  # characters of an example value


@dataclass
class FieldReport:
    role: str  # what the path is for, named by its setting: "order (order_id.field)"
    path: str
    found: int
    examples: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)  # paths in the records close to a missing one


@dataclass
class StatusReport:
    dimension: str
    fields: list[str]
    words: dict[str, int]  # native word -> records
    unmapped: dict[str, int]


@dataclass
class ProbeReport:
    system: str
    source: str = ""  # what was read: the request (credentials masked) or the file
    records: int = 0
    fields: list[FieldReport] = field(default_factory=list)
    statuses: list[StatusReport] = field(default_factory=list)
    paging: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # records (or the file) the connector refused
    paging_problem: str | None = None
    error: str | None = None

    @property
    def problems(self) -> list[str]:
        """What should be fixed before trusting a sync: empty when everything configured was found."""
        found = [f"{self.system}: {self.error}"] if self.error else []
        if not self.records:
            found += self.unreadable  # nothing could be read: why is the problem (a column not found)
        else:
            found += [
                f"{f.role}: no record has {f.path!r}"
                + (f" (did you mean {', '.join(repr(s) for s in f.suggestions)}?)" if f.suggestions else "")
                for f in self.fields
                if f.found == 0
            ]
        if self.paging_problem:
            found.append(self.paging_problem)
        found += [
            f"{s.dimension} status: {sum(s.unmapped.values())} records with words the table does not map: "
            + ", ".join(f"{word!r}" for word in s.unmapped)
            for s in self.statuses
            if s.unmapped
        ]
        return found


def configured_paths(settings: SystemSettings) -> list[tuple[str, str]]:
    """(role, path) of every field path a system block configures."""
    fm = settings.fields
    paths = [("order (order_id.field)", settings.order_id.field)]
    if fm.record_id:
        paths.append(("record id (fields.record_id)", fm.record_id))
    for table in settings.status:
        paths += [(f"{table.dimension.value} status (status.field)", name) for name in table.fields]
    cursor = getattr(settings, "cursor", None)
    if cursor is not None and getattr(cursor, "field", None):
        paths.append(("cursor (cursor.field)", cursor.field))
    for name in (
        "updated",
        "updated_time",
        "external_ref",
        "ordered_qty",
        "shipped_qty",
        "invoiced_qty",
        "order_amount",
        "invoiced_amount",
        "paid_amount",
        "currency",
        "reason",
    ):
        if (path := getattr(fm, name)) is not None:
            paths.append((f"{name} (fields.{name})", path))
    paths += [(f"link {kind} (fields.links.{kind})", path) for kind, path in fm.links.items()]
    return paths


def probe(name: str, settings: SystemSettings, context: ConnectorContext | None = None) -> ProbeReport:
    """One page or file of `name`, analysed; a failing source is reported, not raised."""
    report = ProbeReport(system=name)
    connector = registry.create(name, settings, context)
    settings = settings.effective()  # a preset's paths and paging are those it expands to
    stop = threading.Event()
    items: list[Any] = []
    try:
        batches = connector.poll(None, stop)
        try:
            batch = next(batches, None)
        finally:
            stop.set()  # one page only: the listing is not read further
            if isinstance(batches, Generator):
                batches.close()
        if batch is not None:
            report.source = batch.label
            # The status fields a connector derives (Shopify's `fulfillment`) count as found.
            items = [_with_native(r.raw, r.native_status) for r in batch.records]
            for problem in batch.problems:
                if isinstance(problem.raw, dict) and problem.location != batch.label:
                    items.append(problem.raw)  # a record it could not read still shows its fields
                report.unreadable.append(f"{problem.location}: {problem.reason}")
    except SourceError as exc:
        report.error = str(exc)
    finally:
        api = getattr(connector, "api", None)
        connector.close()
    response = getattr(api, "last_response", None)
    if isinstance(response, httpx.Response) and api is not None:
        report.source = api.describe(response.request)
        report.paging = next_page_report(settings, response, items)
        single = getattr(getattr(getattr(settings, "list", None), "paging", None), "style", None) == "none"
        hints = [line for line in report.paging if line.startswith("the answer has")]
        if single and hints and items:
            report.paging_problem = (
                f"paging: list.paging.style is none, but {hints[0][4:]}: only this page would be read"
            )
    empty = getattr(getattr(settings, "list", None), "empty", None) or []
    analyse(report, settings, [blanked(item, empty) for item in items if isinstance(item, dict)])
    return report


def analyse(report: ProbeReport, settings: SystemSettings, items: list[dict[str, Any]]) -> None:
    """Fill the field and status parts of `report` from the native records of one page or file."""
    columns: dict[str, str] = getattr(settings, "columns", {}) or {}

    def value(item: dict[str, Any], path: str) -> Any:
        found = get_path(item, columns.get(path, path))
        return None if found is None or (isinstance(found, str) and not found.strip()) else found

    report.records = len(items)
    known = sorted({p for item in items[:20] for p in _paths(item)})
    for role, path in configured_paths(settings):
        values = [v for item in items if (v := value(item, path)) is not None]
        examples = list(dict.fromkeys(_shorten(v) for v in values))[:EXAMPLES]
        suggestions = difflib.get_close_matches(path, known, n=3, cutoff=0.5) if not values else []
        report.fields.append(FieldReport(role, path, len(values), examples, suggestions))
    for table in settings.status:
        words: Counter[str] = Counter()
        unmapped: Counter[str] = Counter()
        for item in items:
            found = table.lookup({name: value(item, name) for name in table.fields})
            if found is None or found.native is None:
                continue
            words[found.native] += 1
            if found.status == UNMAPPED:
                unmapped[found.native] += 1
        report.statuses.append(
            StatusReport(
                table.dimension.value, table.fields, dict(words.most_common()), dict(unmapped.most_common())
            )
        )


# Where APIs say that more pages follow (see the reference: Link, next, nextRecordsUrl, odata.nextLink,
# next_cursor, has_more/hasMore, info.more_records, done, next_page_token, and totals).
NEXT_PAGE_HINTS = (
    "next",
    "next_cursor",
    "nextCursor",
    "next_page",
    "nextPageToken",
    "nextRecordsUrl",
    "@odata.nextLink",
    "odata.nextLink",
    "has_more",
    "hasMore",
    "done",
    "info.more_records",
    "info.next_page_token",
    "paging.next",
    "pageInfo.hasNextPage",
    "pageInfo.endCursor",
    "total",
    "totalSize",
    "totalResults",
    "count",
    "recordCount",
    "data.recordCount",
    "pageCount",
)


def next_page_report(settings: SystemSettings, response: httpx.Response, items: list[Any]) -> list[str]:
    """What the configured paging makes of the first answer, and what else in the answer tells of a
    next page (for choosing the paging settings)."""
    lines: list[str] = []
    listing = getattr(settings, "list", None)
    paging = getattr(listing, "paging", None)
    try:
        body = response.json() if response.content.strip() else None
    except (ValueError, RecursionError):
        body = None
    if isinstance(paging, PagingSettings):
        # The configured style's own reading of this answer: the next request, or the end.
        pager = paginator(paging, {}, lambda item: None)
        request = pager.first(PageRequest(response.request.method, str(response.request.url)))
        page = Page(request, response.request.url, response.status_code, response.headers, body, items)
        lines.append(pager.explain(page))
    link = response.links.get("next")
    if link and link.get("url"):
        lines.append(f'the answer has a Link header rel="next": {_shorten(link["url"])}')
    for hint in NEXT_PAGE_HINTS:
        found = get_path(body, hint) if isinstance(body, dict) else None
        if found is not None and not isinstance(found, dict | list):
            lines.append(f"the answer has {hint} = {_shorten(found)!r}")
    for hint in ("links",):
        found = get_path(body, hint) if isinstance(body, dict) else None
        if isinstance(found, list) and any(isinstance(x, dict) and x.get("rel") == "next" for x in found):
            lines.append("the answer has links[rel=next]")
    return lines


def _with_native(raw: Any, native: dict[str, Any]) -> Any:
    if not isinstance(raw, dict):
        return raw
    return {**raw, **{name: value for name, value in native.items() if name not in raw}}


def _paths(item: Any, prefix: str = "", depth: int = 3) -> list[str]:
    if not isinstance(item, dict) or depth == 0:
        return []
    found = []
    for key, value in item.items():
        path = f"{prefix}{key}"
        found.append(path)
        found += _paths(value, f"{path}.", depth - 1)
    return found


def _shorten(value: Any) -> str:
    text = str(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"
