"""Observations, their status history and order links: writing a batch, reading an order back."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from pydantic_core import to_jsonable_python
from sqlalchemy import (
    Connection,
    RowMapping,
    Text,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    tuple_,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql

from orderbridge.mapping.model import (
    Amounts,
    CanonicalStatus,
    Dimension,
    HistoryEntry,
    Observation,
    Quantities,
)
from orderbridge.storage.bulk import Bulk, encoder, json_text
from orderbridge.storage.queue import ORPHANS, changed
from orderbridge.storage.sql import chunks
from orderbridge.storage.tables import observations, order_links, orphan_links, status_history

EXTERNAL_REF = "external_ref"
OBSERVATION_COLUMNS = tuple(c.name for c in observations.columns if c.computed is None)  # those written
HISTORY_COLUMNS = (
    "order_key",
    "system",
    "record_id",
    "dimension",
    "status",
    "native",
    "status_at",
    "observed_at",
)
LINK_COLUMNS = ("link_type", "value", "order_key", "system", "updated_at")
ORPHAN_COLUMNS = ("link_type", "value", "system", "record_id")
ACTIVE = observations.c.retired_at.is_(None)  # what the rules see: records no complete read has dropped
IN_LIMIT = 5000  # keys in one IN list: far under SQLite's 32,766 bound parameters
# What the rules read of a record (not the raw record, which may be large, nor the content hash), read
# raw: JSON and datetime columns as the driver gives them (see `load_orders`).
_RAW = ("statuses", "native_status", "status_at", "observed_at", "quantities", "amounts", "links")
SEEN = [
    type_coerce(observations.c[name], Text) if name in _RAW else observations.c[name]
    for name in (
        "system",
        "record_id",
        "order_key",
        "order_ref",
        "external_ref",
        "statuses",
        "native_status",
        "status_at",
        "observed_at",
        "quantities",
        "amounts",
        "links",
        "reason",
    )
]


@dataclass
class IngestResult:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    linked: int = 0
    late: int = 0  # older than the record's latest observation: history only (newest_wins)
    orders: set[str] = field(default_factory=set)  # of one batch: queued for reconciliation

    def add(self, other: IngestResult) -> None:
        """Count `other` in. Its orders are not kept: a sync's running total stays the same size
        however many records it reads."""
        self.new += other.new
        self.changed += other.changed
        self.unchanged += other.unchanged
        self.linked += other.linked
        self.late += other.late


def fingerprint(obs: Observation, raw: Any) -> str:
    """What makes a record 'changed': everything but the time we happened to look at it. An empty
    value and an absent one are the same (a workbook saved again turns empty text into empty cells)."""
    return _digest(_kept(_body(obs), raw))


# The fingerprint's version 2: SHA-256 of the kept values as orjson writes them with sorted keys, cut to
# fit the 64-character column beside its mark. Hashes without the mark are version 1 (the standard
# library's JSON of the same values): a record stored with one is compared by that formula, and when
# it is unchanged its hash is rewritten in the new form (see `ingest`), so an upgraded store does not
# see its records as changed. Values orjson cannot write (a lone surrogate, an integer beyond 64 bits,
# a key that is not text) are hashed by version 1.
FINGERPRINT_MARK = "2:"
_FINGERPRINT_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME  # times by `str`, as in 1
_LEGACY_TEXT = encoder(ascii=False, sort_keys=True, default=str)


def _kept(body: dict[str, Any], raw: Any) -> list[Any]:
    """What the fingerprint is made of: the observation's body and its raw record without blanks."""
    return [_without_blanks(body), _without_blanks(raw)]


def _digest(kept: list[Any]) -> str:
    try:
        text = orjson.dumps(kept, default=str, option=_FINGERPRINT_OPTIONS)
    except orjson.JSONEncodeError:
        return _legacy_digest(kept)
    return FINGERPRINT_MARK + hashlib.sha256(text).hexdigest()[: 64 - len(FINGERPRINT_MARK)]


def _legacy_digest(kept: list[Any]) -> str:
    """The fingerprint of version 1, which every hash stored before version 2 was made with."""
    return hashlib.sha256(_LEGACY_TEXT(kept).encode()).hexdigest()


def _unchanged(stored: str, digest: str, kept: list[Any]) -> bool:
    """Whether a record whose stored hash is `stored` is unchanged, by the formula that hash was made
    with."""
    if stored == digest:
        return True
    return not stored.startswith(FINGERPRINT_MARK) and stored == _legacy_digest(kept)


def _body(obs: Observation) -> dict[str, Any]:
    """`obs.model_dump(mode="json", exclude={"observed_at"})`, built directly (a test holds them equal):
    the fingerprint's half and the JSON columns of the row."""
    q, a = obs.quantities, obs.amounts
    return {
        "system": obs.system,
        "record_id": obs.record_id,
        "order_key": obs.order_key,
        "order_ref": obs.order_ref,
        "external_ref": obs.external_ref,
        "statuses": {
            _NAMES[dimension]: {"status": s.status, "native": s.native, "implied": s.implied}
            for dimension, s in obs.statuses.items()
        },
        "native_status": dict(obs.native_status),
        "status_at": None if obs.status_at is None else to_jsonable_python(obs.status_at),
        "quantities": {
            "ordered": _text(q.ordered),
            "shipped": _text(q.shipped),
            "invoiced": _text(q.invoiced),
        },
        "amounts": {
            "order": _text(a.order),
            "invoiced": _text(a.invoiced),
            "paid": _text(a.paid),
            "currency": a.currency,
        },
        "links": dict(obs.links),
        "reason": obs.reason,
    }


_NAMES = {dimension: dimension.value for dimension in Dimension}  # faster than `.value` on Python 3.11


def _text(number: Decimal | None) -> str | None:
    return None if number is None else str(number)


def _without_blanks(value: Any) -> Any:
    # The hot loop of ingest: exact types first (dicts and lists recursed into without asking whether
    # they are blank, which they never are), the general checks only for what remains.
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            kind = type(item)
            if kind is str:
                if item and not item.isspace():
                    kept[key] = item
            elif item is None:
                continue
            elif kind is dict or kind is list:
                kept[key] = _without_blanks(item)
            elif kind is int or kind is float or kind is bool:
                kept[key] = item
            elif not _blank(item):
                kept[key] = _without_blanks(item)
        return kept
    if isinstance(value, list | tuple):
        items = []
        for item in value:
            kind = type(item)
            if kind is str:
                items.append(item if item and not item.isspace() else None)
            elif kind is dict or kind is list:
                items.append(_without_blanks(item))
            elif item is None or kind is int or kind is float or kind is bool:
                items.append(item)
            else:
                items.append(None if _blank(item) else _without_blanks(item))
        return items
    return value


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and (not value or value.isspace()))


def ingest(
    conn: Connection,
    items: Sequence[tuple[Observation, Any]],
    now: datetime,
    link_by: Iterable[str] = (),
    *,
    newest_wins: bool = False,
    scope: str | None = None,
) -> IngestResult:
    """Write observations of one system: new or changed ones replace the latest row, status changes
    append history, linked orders are queued for reconciliation. Unchanged records are dropped.

    With `newest_wins` (systems that push events, which arrive out of order and are retried late), an
    observation whose status time is older than the record's latest one does not replace it: its
    statuses go into the history at their own time, and nothing else changes. Without it the last
    one read wins, as a poll reads a record's current state (a corrected date included).

    `scope` names the unit the records were read from when it was read whole (see `retire_missing`);
    a retired record read again is back."""
    result = IngestResult()
    if not items:
        return result
    system = items[0][0].system
    link_types = list(link_by)
    items = _link(conn, [(o, r) for o, r in items], link_types, result)
    # The latest state of each record, kept up to date through the batch: a record twice in one
    # batch is compared with its own earlier version.
    current: dict[str, dict[str, Any]] = {
        record_id: dict(row)
        for record_id, row in _existing(conn, system, [o.record_id for o, _ in items]).items()
    }
    bulk = Bulk(conn)
    rows: dict[str, tuple[Any, ...]] = {}
    history: list[dict[str, Any]] = []
    written: dict[str, Observation] = {}
    were_orphans: list[str] = []  # records written that linked to no order before
    rescoped: list[str] = []  # unchanged records stored before their scope was known
    rehashed: list[tuple[str, str]] = []  # unchanged records whose stored hash is of an older version
    for obs, raw in items:
        body = _body(obs)
        kept = _kept(body, raw)
        digest = _digest(kept)
        before = current.get(obs.record_id)
        back = before is not None and before["retired_at"] is not None
        if before is not None and not back and _unchanged(before["content_hash"], digest, kept):
            result.unchanged += 1
            if before["content_hash"] != digest:
                rehashed.append((obs.record_id, digest))
                before["content_hash"] = digest
            if scope is not None and before["scope"] != scope:
                rescoped.append(obs.record_id)
            continue
        if newest_wins and before is not None and _older(obs, before):
            result.late += 1
            key = obs.order_key or before["order_key"]
            entries = _late_history(conn, obs.model_copy(update={"order_key": key}), history)
            history.extend(entries)
            if entries and key:
                result.orders.add(key)
            continue
        if obs.record_id in rows:
            result.changed += 1  # the same record again in this batch: the later one wins
        elif before is None:
            result.new += 1
        else:
            result.changed += 1
            if before["order_key"] and before["order_key"] != obs.order_key:
                result.orders.add(before["order_key"])
            if before["order_key"] is None and obs.record_id not in were_orphans:
                were_orphans.append(obs.record_id)
        rows[obs.record_id] = _row(bulk, obs, body, raw, digest, now, scope)
        written[obs.record_id] = obs
        history.extend(_history(obs, before["statuses"] if before is not None else {}))
        current[obs.record_id] = {
            "content_hash": digest,
            "order_key": obs.order_key,
            "statuses": body["statuses"],
            "status_at": obs.status_at,
            "scope": scope,
            "retired_at": None,
        }
        if obs.order_key:
            result.orders.add(obs.order_key)
    bulk.upsert(observations, OBSERVATION_COLUMNS, list(rows.values()), ["system", "record_id"])
    if rehashed:
        conn.execute(
            update(observations)
            .where(observations.c.system == system, observations.c.record_id == bindparam("b_record_id"))
            .values(content_hash=bindparam("b_content_hash")),
            [{"b_record_id": record_id, "b_content_hash": digest} for record_id, digest in rehashed],
        )
    for ids in chunks(rescoped):
        conn.execute(
            update(observations)
            .where(observations.c.system == system, observations.c.record_id.in_(ids))
            .values(scope=scope)
        )
    bulk.insert(status_history, HISTORY_COLUMNS, [_history_row(bulk, e) for e in history])
    at = bulk.time(now)
    links = [
        (kind, value, obs.order_key, obs.system, at)
        for obs in written.values()  # an unchanged record's links are stored already
        if obs.order_key
        for kind, value in _link_values(obs).items()
    ]
    bulk.upsert(order_links, LINK_COLUMNS, links, ["link_type", "value"])
    _track_orphans(conn, bulk, system, list(written.values()), were_orphans, link_types)
    attached = _attach_waiting(conn, links)
    result.orders |= attached
    # An orphan appeared, changed or linked: the orphan rule must look again.
    orphans_moved = were_orphans or attached or any(obs.order_key is None for obs in written.values())
    changed(conn, result.orders | ({ORPHANS} if orphans_moved else set()), now)
    return result


def _older(obs: Observation, before: dict[str, Any]) -> bool:
    return (
        obs.status_at is not None and before["status_at"] is not None and obs.status_at < before["status_at"]
    )


def _late_history(conn: Connection, obs: Observation, pending: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """History entries for an observation older than its record's latest: each status at its own
    time, unless the history already has it there (a replay, a retried delivery) or the entry just
    before it in time already says the same (it only continues that status)."""
    query = select(status_history).where(
        status_history.c.system == obs.system, status_history.c.record_id == obs.record_id
    )
    known = [dict(r) for r in conn.execute(query).mappings()]
    known += [e for e in pending if e["system"] == obs.system and e["record_id"] == obs.record_id]
    assert obs.status_at is not None
    at = obs.status_at
    entries = []
    for dimension, canonical in obs.statuses.items():
        trail = sorted(
            (e for e in known if e["dimension"] == dimension.value),
            key=lambda e: e["status_at"] or e["observed_at"],
        )
        same = [e for e in trail if e["status"] == canonical.status and e["native"] == canonical.native]
        if any(e["status_at"] == at for e in same):
            continue
        earlier = [e for e in trail if (e["status_at"] or e["observed_at"]) < at]
        if (
            earlier
            and earlier[-1]["status"] == canonical.status
            and earlier[-1]["native"] == canonical.native
        ):
            continue
        entries.append(_entry(obs, dimension, canonical))
    return entries


def _track_orphans(
    conn: Connection,
    bulk: Bulk,
    system: str,
    written: list[Observation],
    were_orphans: list[str],
    link_types: list[str],
) -> None:
    """Keep `orphan_links` in step with the records just written: an orphan's usable link values.
    Only records that were orphans have rows to replace."""
    for chunk in chunks(were_orphans):
        conn.execute(
            delete(orphan_links).where(orphan_links.c.system == system, orphan_links.c.record_id.in_(chunk))
        )
    rows = [
        (kind, value, obs.system, obs.record_id)
        for obs in written
        if obs.order_key is None
        for kind, value in _link_values(obs).items()
        if not link_types or kind in link_types
    ]
    bulk.upsert(orphan_links, ORPHAN_COLUMNS, rows, ORPHAN_COLUMNS, update=[])


def _attach_waiting(conn: Connection, links: list[tuple[Any, ...]]) -> set[str]:
    """Attach the orphans waiting for one of these newly known link values (rows of LINK_COLUMNS);
    return their orders."""
    wanted: dict[str, dict[str, str]] = {}
    for kind, value, order_key, *_ in links:
        wanted.setdefault(kind, {})[value] = order_key
    targets: dict[tuple[str, str], str] = {}
    query = select(orphan_links).where(
        orphan_links.c.link_type == bindparam("kind"),
        orphan_links.c.value.in_(bindparam("values", expanding=True)),
    )
    for kind, values in wanted.items():
        for chunk in chunks(sorted(values)):
            for row in conn.execute(query, {"kind": kind, "values": chunk}).mappings():
                targets.setdefault((row["system"], row["record_id"]), values[row["value"]])
    for (system, record_id), key in targets.items():
        _attach(conn, system, record_id, key)
    return set(targets.values())


def _attach(conn: Connection, system: str, record_id: str, key: str) -> None:
    """Give a record that linked to no order its order, in its latest observation and its history."""
    conn.execute(
        update(observations)
        .where(observations.c.system == system, observations.c.record_id == record_id)
        .values(order_key=key)
    )
    conn.execute(
        update(status_history)
        .where(status_history.c.system == system, status_history.c.record_id == record_id)
        .values(order_key=key)
    )
    conn.execute(
        delete(orphan_links).where(orphan_links.c.system == system, orphan_links.c.record_id == record_id)
    )


def retire_missing(
    conn: Connection, system: str, scope: str, keep: Iterable[str], now: datetime
) -> RetireResult:
    """A complete read of `scope` (a whole file) found only the records `keep`: retire the system's
    other records of that scope. They are kept (history, links, raw) but the rules no longer see them,
    so what they alone caused (a duplicate, an orphan) resolves, and their orders are looked at again."""
    kept = set(keep)
    query = select(observations.c.record_id, observations.c.order_key).where(
        observations.c.system == system, observations.c.scope == scope, observations.c.retired_at.is_(None)
    )
    gone = [(rid, key) for rid, key in conn.execute(query) if rid not in kept]
    result = RetireResult(records=sorted(rid for rid, _ in gone))
    if not gone:
        return result
    for chunk in chunks(result.records):
        condition = (observations.c.system == system, observations.c.record_id.in_(chunk))
        conn.execute(update(observations).where(*condition).values(retired_at=now))
        conn.execute(
            delete(orphan_links).where(orphan_links.c.system == system, orphan_links.c.record_id.in_(chunk))
        )
    result.orders = {key for _, key in gone if key is not None}
    orphans = any(key is None for _, key in gone)
    changed(conn, result.orders | ({ORPHANS} if orphans else set()), now)
    return result


@dataclass
class RetireResult:
    records: list[str] = field(default_factory=list)
    orders: set[str] = field(default_factory=set)


def retired(conn: Connection, order_key: str) -> list[RowMapping]:
    """The order's retired records: system, record id, scope and when a read no longer found them."""
    query = select(
        observations.c.system, observations.c.record_id, observations.c.scope, observations.c.retired_at
    ).where(observations.c.order_key == order_key, observations.c.retired_at.is_not(None))
    return list(conn.execute(query).mappings())


def relink_orphans(conn: Connection, now: datetime, link_by: dict[str, list[str]]) -> set[str]:
    """Attach every unlinked observation whose link value is known, with the link types configured
    now; return their orders. Ingest attaches orphans as their links arrive; this full sweep is for a
    full pass (after `link_by` changed, say)."""
    orphans = (
        conn.execute(select(observations).where(observations.c.order_key.is_(None), ACTIVE)).mappings().all()
    )
    linked: set[str] = set()
    for row in orphans:
        obs = _observation(row)
        key = _lookup_link(conn, obs, link_by.get(obs.system, []))
        if key is None:
            continue
        _attach(conn, obs.system, obs.record_id, key)
        linked.add(key)
    changed(conn, linked | ({ORPHANS} if linked else set()), now)
    return linked


def load_orders(
    conn: Connection, keys: Sequence[str]
) -> tuple[dict[str, list[Observation]], dict[str, list[HistoryEntry]]]:
    """The active records and the status history of each order; `keys` go in one statement each (the
    reconcile pass sends a chunk of up to a few thousand). Values are read as the driver gives them and
    converted here, without SQLAlchemy's per-value result processing: this is the pass's inner loop."""
    found: dict[str, list[Observation]] = {k: [] for k in keys}
    history: dict[str, list[HistoryEntry]] = {k: [] for k in keys}
    h = status_history.c
    for chunk in chunks(list(keys), IN_LIMIT):
        query = select(*SEEN).where(observations.c.order_key.in_(chunk), ACTIVE)
        for row in conn.execute(query):
            found[row[2]].append(_seen(row))
        query = (
            select(
                h.order_key,
                h.system,
                h.record_id,
                h.dimension,
                h.status,
                h.native,
                type_coerce(h.status_at, Text),
                type_coerce(h.observed_at, Text),
            )
            .where(h.order_key.in_(chunk))
            .order_by(h.observed_at, h.id)
        )
        for key, system, record_id, dimension, status, native, status_at, observed_at in conn.execute(query):
            seen = _moment(observed_at)
            assert seen is not None  # NOT NULL
            history[key].append(
                HistoryEntry(
                    system=system,
                    record_id=record_id,
                    dimension=Dimension(dimension),
                    status=status,
                    native=native,
                    at=_moment(status_at) or seen,
                    observed_at=seen,
                )
            )
    for entries in history.values():
        entries.sort(key=lambda e: e.at)
    return found, history


def _seen(row: Any) -> Observation:
    """An observation from a row of SEEN (raw values)."""
    system, record_id, key, order_ref, external_ref, statuses, natives, status_at, observed_at = row[:9]
    quantities, amounts, links, reason = row[9:]
    return Observation(
        system=system,
        record_id=record_id,
        order_key=key,
        order_ref=order_ref,
        external_ref=external_ref,
        statuses={Dimension(k): CanonicalStatus.model_validate(v) for k, v in _json(statuses).items()},
        native_status=_json(natives),
        status_at=_moment(status_at),
        observed_at=_moment(observed_at),
        quantities=Quantities.model_validate(_decimals(_json(quantities))),
        amounts=Amounts.model_validate(_json(amounts)),
        links=_json(links),
        reason=reason,
    )


def _json(value: Any) -> Any:
    """A JSON column as read raw: text on SQLite, already decoded by the PostgreSQL driver (JSONB)."""
    return json.loads(value) if isinstance(value, str) else value


def _moment(value: Any) -> datetime | None:
    """A UTC datetime column as read raw: text on SQLite (naive, in UTC), a datetime on PostgreSQL."""
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    assert isinstance(value, datetime)
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


def unlinked(conn: Connection) -> list[Observation]:
    query = select(observations).where(observations.c.order_key.is_(None), ACTIVE)
    return [_observation(r) for r in conn.execute(query).mappings()]


def order_keys(conn: Connection, *, after: str | None = None, limit: int | None = None) -> list[str]:
    """The order keys of active records, in order: all of them, or the next `limit` after `after`."""
    query = (
        select(observations.c.order_key)
        .where(observations.c.order_key.is_not(None), ACTIVE)
        .distinct()
        .order_by(observations.c.order_key)
    )
    if after is not None:
        query = query.where(observations.c.order_key > after)
    if limit is not None:
        query = query.limit(limit)
    return list(conn.execute(query).scalars())


def count_orders(conn: Connection) -> int:
    query = select(func.count(func.distinct(observations.c.order_key))).where(
        observations.c.order_key.is_not(None), ACTIVE
    )
    return int(conn.execute(query).scalar_one())


def timeline(conn: Connection, order_key: str) -> list[HistoryEntry]:
    query = select(status_history).where(status_history.c.order_key == order_key)
    entries = [history_entry(r) for r in conn.execute(query).mappings()]
    return sorted(entries, key=lambda e: (e.at, e.observed_at, e.system))


def observations_of(conn: Connection, order_key: str) -> list[Observation]:
    query = (
        select(observations)
        .where(observations.c.order_key == order_key, ACTIVE)
        .order_by(observations.c.system)
    )
    return [_observation(r) for r in conn.execute(query).mappings()]


def silent(
    conn: Connection, system: str, before: datetime, finished: Iterable[str]
) -> list[tuple[str, dict[str, Any]]]:
    """Records of `system` (parcels) that have not changed since `before` and whose shipment status is
    not one of `finished`, longest silent first: (record id, raw record)."""
    shipment = observations.c.statuses[("shipment", "status")].as_string()
    query = (
        select(observations.c.record_id, observations.c.raw)
        .where(
            observations.c.system == system,
            observations.c.observed_at < before,
            or_(shipment.is_(None), shipment.not_in(list(finished))),
        )
        .order_by(observations.c.observed_at, observations.c.record_id)
    )
    return [(row.record_id, row.raw) for row in conn.execute(query)]


def counts_by_system(conn: Connection) -> dict[str, int]:
    query = select(observations.c.system, func.count()).group_by(observations.c.system)
    return {system: count for system, count in conn.execute(query)}


def forget_system_records(conn: Connection, system: str, record_ids: Sequence[str]) -> None:
    for chunk in chunks(list(record_ids)):
        conn.execute(
            delete(observations).where(observations.c.system == system, observations.c.record_id.in_(chunk))
        )


def history_entry(row: RowMapping) -> HistoryEntry:
    return HistoryEntry(
        system=row["system"],
        record_id=row["record_id"],
        dimension=Dimension(row["dimension"]),
        status=row["status"],
        native=row["native"],
        at=row["status_at"] or row["observed_at"],
        observed_at=row["observed_at"],
    )


def _link(
    conn: Connection, items: list[tuple[Observation, Any]], link_types: list[str], result: IngestResult
) -> list[tuple[Observation, Any]]:
    out = []
    for obs, raw in items:
        if obs.order_key is None:
            key = _lookup_link(conn, obs, link_types)
            if key is not None:
                obs = obs.model_copy(update={"order_key": key})
                result.linked += 1
        out.append((obs, raw))
    return out


def _lookup_link(conn: Connection, obs: Observation, link_types: list[str]) -> str | None:
    values = _link_values(obs)
    pairs = [(kind, value) for kind, value in values.items() if not link_types or kind in link_types]
    if not pairs:
        return None
    query = select(order_links.c.order_key).where(
        or_(*(and_(order_links.c.link_type == k, order_links.c.value == v) for k, v in pairs))
    )
    return conn.execute(query.limit(1)).scalar()


def _link_values(obs: Observation) -> dict[str, str]:
    values = dict(obs.links)
    if obs.external_ref:
        values.setdefault(EXTERNAL_REF, obs.external_ref)
    return values


def _existing(conn: Connection, system: str, record_ids: list[str]) -> dict[str, RowMapping]:
    found: dict[str, RowMapping] = {}
    columns = (
        observations.c.record_id,
        observations.c.content_hash,
        observations.c.order_key,
        observations.c.statuses,
        observations.c.status_at,
        observations.c.scope,
        observations.c.retired_at,
    )
    if conn.dialect.name == "postgresql":
        # The ids as one array, each looked up by the primary key. PostgreSQL plans `record_id IN
        # (...)` on a table it has no statistics of (a new store, autovacuum not run yet) as a scan of
        # the system's rows filtered by every id: each batch then costs as much as the table is large.
        wanted = select(bindparam("system"), func.unnest(bindparam("ids", type_=postgresql.ARRAY(Text))))
        query = select(*columns).where(tuple_(observations.c.system, observations.c.record_id).in_(wanted))
    else:
        query = select(*columns).where(
            observations.c.system == bindparam("system"),
            observations.c.record_id.in_(bindparam("ids", expanding=True)),
        )
    for chunk in chunks(sorted(set(record_ids))):
        # One bound list, not one bound value per id: the statement is not rebuilt for each batch.
        for row in conn.execute(query, {"system": system, "ids": chunk}).mappings():
            found[row["record_id"]] = row
    return found


def _row(
    bulk: Bulk,
    obs: Observation,
    body: dict[str, Any],
    raw: Any,
    digest: str,
    now: datetime,
    scope: str | None,
) -> tuple[Any, ...]:
    """The observations row, in OBSERVATION_COLUMNS order, as the driver takes it."""
    return (
        obs.system,
        obs.record_id,
        obs.order_key,
        obs.order_ref,
        obs.external_ref,
        json_text(body["statuses"]),
        json_text(body["native_status"]),
        # A record that carries no change time changed when we saw it change (a snapshot scan).
        bulk.time(obs.status_at or obs.observed_at),
        bulk.time(obs.observed_at),
        bulk.time(now),
        json_text(body["quantities"]),
        json_text(body["amounts"]),
        json_text(body["links"]),
        obs.reason,
        digest,
        json_text(raw),
        scope,
        None,
    )


def _history_row(bulk: Bulk, entry: dict[str, Any]) -> tuple[Any, ...]:
    return (
        entry["order_key"],
        entry["system"],
        entry["record_id"],
        entry["dimension"],
        entry["status"],
        entry["native"],
        bulk.time(entry["status_at"]),
        bulk.time(entry["observed_at"]),
    )


def _history(obs: Observation, before: dict[str, Any]) -> list[dict[str, Any]]:
    entries = []
    for dimension, canonical in obs.statuses.items():
        old = before.get(dimension.value)
        if (
            old is not None
            and old.get("status") == canonical.status
            and old.get("native") == canonical.native
        ):
            continue
        entries.append(_entry(obs, dimension, canonical))
    return entries


def _entry(obs: Observation, dimension: Dimension, canonical: CanonicalStatus) -> dict[str, Any]:
    return {
        "order_key": obs.order_key,
        "system": obs.system,
        "record_id": obs.record_id,
        "dimension": dimension.value,
        "status": canonical.status,
        "native": canonical.native,
        "status_at": obs.status_at or obs.observed_at,  # no change time: when the change was seen
        "observed_at": obs.observed_at,
    }


def _observation(row: RowMapping) -> Observation:
    return Observation(
        system=row["system"],
        record_id=row["record_id"],
        order_key=row["order_key"],
        order_ref=row["order_ref"],
        external_ref=row["external_ref"],
        statuses={Dimension(k): CanonicalStatus.model_validate(v) for k, v in row["statuses"].items()},
        native_status=row["native_status"],
        status_at=row["status_at"],
        observed_at=row["observed_at"],
        quantities=Quantities.model_validate(_decimals(row["quantities"])),
        amounts=Amounts.model_validate(row["amounts"]),
        links=row["links"],
        reason=row["reason"],
    )


def _decimals(values: dict[str, Any]) -> dict[str, Any]:
    return {k: Decimal(v) if isinstance(v, str) else v for k, v in values.items()}
