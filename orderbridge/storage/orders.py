"""Orders as people look for them: by any number a system gives them (the canonical key, a record id,
a document number, a customer PO or tracking number, or a number as a system's rule normalises it),
and listed with what each system says about them."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, func, select

from orderbridge.mapping.ids import OrderIdError, OrderIdRule, normalise_order_id
from orderbridge.mapping.model import Observation
from orderbridge.storage.discrepancies import ACTIVE as OPEN_STATES
from orderbridge.storage.observations import ACTIVE, load_orders
from orderbridge.storage.sql import chunks
from orderbridge.storage.tables import discrepancies, observations, order_links


@dataclass(frozen=True)
class Match:
    order_key: str
    how: str  # what the text was found as, e.g. "erp's document number"


def find(conn: Connection, text: str, rules: Mapping[str, OrderIdRule]) -> list[Match]:
    """The orders `text` names, each with how it was found. The canonical key itself wins outright;
    otherwise every order some system knows by that number, or that a system's rule makes of it."""
    wanted = text.strip()
    if not wanted:
        return []
    if _known(conn, wanted):
        return [Match(wanted, "order key")]
    found: dict[str, str] = {}

    def add(key: str | None, how: str) -> None:
        if key is not None:
            found.setdefault(key, how)

    query = select(observations.c.order_key).where(func.upper(observations.c.order_key) == wanted.upper())
    for key in conn.execute(query.distinct()).scalars():
        add(key, "order key")
    by_value = (
        (observations.c.record_id, "record id"),
        (observations.c.order_ref, "order number"),
        (observations.c.external_ref, "external reference"),
    )
    for column, what in by_value:
        query = select(observations.c.system, observations.c.order_key).where(
            column == wanted, observations.c.order_key.is_not(None)
        )
        for system, key in conn.execute(query):
            add(key, f"{system}'s {what}")
    query = select(order_links.c.link_type, order_links.c.order_key).where(order_links.c.value == wanted)
    for kind, key in conn.execute(query):
        add(key, kind.replace("_", " "))
    for system, rule in rules.items():
        try:
            key = normalise_order_id(wanted, rule)
        except (OrderIdError, ValueError):
            continue
        if _known(conn, key):
            add(key, f"{system}'s order number")
    return [Match(key, how) for key, how in found.items()]


def nearest(conn: Connection, text: str, rules: Mapping[str, OrderIdRule], limit: int = 5) -> list[str]:
    """Known order keys closest to `text` (as written, and as each system's rule would make it)."""
    keys = list(
        conn.execute(
            select(observations.c.order_key).where(observations.c.order_key.is_not(None)).distinct()
        ).scalars()
    )
    forms = {text.strip().upper()}
    for rule in rules.values():
        try:
            forms.add(normalise_order_id(text, rule))
        except (OrderIdError, ValueError):
            continue
    scored: dict[str, float] = {}
    for form in forms:
        for key in difflib.get_close_matches(form, keys, n=limit, cutoff=0.5):
            scored[key] = max(scored.get(key, 0.0), difflib.SequenceMatcher(None, form, key).ratio())
    return sorted(scored, key=lambda k: (-scored[k], k))[:limit]


@dataclass
class OrderView:
    """One order as the listing shows it: what each system's records say, newest change, open problems."""

    order_key: str
    records: dict[str, list[Observation]] = field(default_factory=dict)  # system -> its records
    changed_at: datetime | None = None
    open_discrepancies: int = 0


def listing(
    conn: Connection,
    *,
    system: str | None = None,
    statuses: Collection[str] = (),
    since: datetime | None = None,
    limit: int | None = None,
) -> list[OrderView]:
    """Orders by key. `system`: only those it knows, and `statuses` match its own status; otherwise a
    status matches any system's. A status is `preparing` (any dimension) or `fulfillment.preparing`.
    `since`: only orders a record of which changed since then."""
    query = select(observations.c.order_key).where(observations.c.order_key.is_not(None), ACTIVE)
    if system is not None:
        query = query.where(observations.c.system == system)
    keys = set(conn.execute(query.distinct()).scalars())
    if since is not None:
        query = select(observations.c.order_key).where(observations.c.changed_at >= since, ACTIVE)
        keys &= set(conn.execute(query.distinct()).scalars())
    found: list[OrderView] = []
    ordered = sorted(keys)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        loaded, _ = load_orders(conn, chunk)
        changed = _changed_at(conn, chunk)
        for key in chunk:
            view = OrderView(key, changed_at=changed.get(key))
            for obs in sorted(loaded[key], key=lambda o: (o.system, o.record_id)):
                view.records.setdefault(obs.system, []).append(obs)
            if statuses and not _says(view, system, statuses):
                continue
            found.append(view)
        if limit is not None and len(found) >= limit:
            break
    found = found[:limit] if limit is not None else found
    counts = _open_counts(conn, [view.order_key for view in found])
    for view in found:
        view.open_discrepancies = counts.get(view.order_key, 0)
    return found


def _says(view: OrderView, system: str | None, statuses: Collection[str]) -> bool:
    records = (
        view.records.get(system, []) if system is not None else [o for r in view.records.values() for o in r]
    )
    for obs in records:
        for dimension, found in obs.statuses.items():
            if found.status in statuses or f"{dimension.value}.{found.status}" in statuses:
                return True
    return False


def _known(conn: Connection, key: str) -> bool:
    query = select(observations.c.order_key).where(observations.c.order_key == key).limit(1)
    if conn.execute(query).first() is not None:
        return True
    query = select(discrepancies.c.order_key).where(discrepancies.c.order_key == key).limit(1)
    return conn.execute(query).first() is not None


def _changed_at(conn: Connection, keys: Sequence[str]) -> dict[str, datetime]:
    query = (
        select(observations.c.order_key, func.max(observations.c.changed_at))
        .where(observations.c.order_key.in_(keys), ACTIVE)
        .group_by(observations.c.order_key)
    )
    return {key: moment for key, moment in conn.execute(query)}


def _open_counts(conn: Connection, keys: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for chunk in chunks(list(keys)):
        query = (
            select(discrepancies.c.order_key, func.count())
            .where(discrepancies.c.order_key.in_(chunk), discrepancies.c.status.in_(OPEN_STATES))
            .group_by(discrepancies.c.order_key)
        )
        counts.update({key: count for key, count in conn.execute(query)})
    return counts
