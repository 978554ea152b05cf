"""The customers' status page: an order number and a second factor (e-mail, the phone's last digits
or a postcode, read from one system's records) give the order's canonical progress in plain words —
ordered, being prepared, shipped, delivered — with dates and the tracking number; nothing else.
Whatever does not match answers the same, and each client may ask only so often."""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from orderbridge.mapping.ids import OrderIdRule
from orderbridge.mapping.model import (
    PROGRESS,
    SHIPMENT_IMPLIES_FULFILLMENT,
    Dimension,
    FulfillmentStatus,
)
from orderbridge.storage import observations
from orderbridge.storage.limits import usable_key
from orderbridge.storage.orders import find
from orderbridge.storage.tables import observations as observations_table
from orderbridge.web.settings import FactorKind, TrackSettings

_F = FulfillmentStatus
# The steps customers see, each reached from the first fulfilment status that is this far along.
STEPS: tuple[tuple[str, FulfillmentStatus], ...] = (
    ("placed", _F.placed),
    ("preparing", _F.preparing),
    ("shipped", _F.shipped),
    ("delivered", _F.delivered),
)
ENDED = {_F.cancelled: "cancelled", _F.returned: "returned"}  # side states customers are told of
INPUT_LIMIT = 100  # characters of an order number or factor looked at
CLIENTS_KEPT = 10_000  # clients the rate limit remembers; the oldest are forgotten first


@dataclass(frozen=True)
class Step:
    name: str
    reached: bool
    at: datetime | None


@dataclass(frozen=True)
class Progress:
    order_number: str
    steps: list[Step]
    ended: str | None  # "cancelled" or "returned" when the order ended so
    tracking: list[str]


class RateLimit:
    """At most `per_minute` look-ups per client in any sliding minute."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, client: str, now: float | None = None) -> bool:
        moment = time.monotonic() if now is None else now
        with self._lock:
            times = self._seen.pop(client, deque())
            while times and moment - times[0] >= 60:
                times.popleft()
            allowed = len(times) < self.per_minute
            if allowed:
                times.append(moment)
            self._seen[client] = times
            while len(self._seen) > CLIENTS_KEPT:
                self._seen.popitem(last=False)
            return allowed


def normalise(kind: FactorKind, value: Any, digits: int) -> str:
    text = str(value or "").strip()
    if kind is FactorKind.phone:
        only = re.sub(r"\D", "", text)
        return only[-digits:] if len(only) >= digits else ""
    if kind is FactorKind.postcode:
        return re.sub(r"\s", "", text).upper()
    return text.casefold()


def dotted(record: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(record, Mapping):
            return None
        record = record.get(part)
    return record


def lookup(
    conn: Connection,
    settings: TrackSettings,
    rules: Mapping[str, OrderIdRule],
    authority: str | None,
    number: str,
    factor: str,
) -> Progress | None:
    """The order's progress when `number` is one order's number and `factor` matches the second
    factor in the configured system's record of it; None otherwise, whichever part failed."""
    number, factor = number.strip()[:INPUT_LIMIT], factor.strip()[:INPUT_LIMIT]
    if not usable_key(number) or not settings.system or not settings.field:
        return None  # also a NUL or the like, which no store could hold (PostgreSQL refuses the query)
    matches = [m for m in find(conn, number, rules) if m.how == "order key" or m.how.endswith("order number")]
    given = normalise(settings.factor, factor, settings.digits)
    if len(matches) != 1 or not given:
        return None
    key = matches[0].order_key
    query = select(observations_table.c.raw).where(
        observations_table.c.system == settings.system,
        observations_table.c.order_key == key,
        observations.ACTIVE,
    )
    held = [
        normalise(settings.factor, dotted(raw, settings.field), settings.digits)
        for raw in conn.scalars(query)
    ]
    if given not in held:
        return None
    return progress(conn, key, number, authority, settings.tracking_link)


def progress(conn: Connection, key: str, number: str, authority: str | None, tracking_link: str) -> Progress:
    """Fulfilment as the authority reports it (every system when none is set), moved on by any
    system's shipment news: each step reached, and when it was first reported."""
    order = PROGRESS[Dimension.fulfillment]
    first: dict[int, datetime] = {}
    latest_own: tuple[datetime, str] | None = None
    for entry in observations.timeline(conn, key):
        if entry.dimension is Dimension.fulfillment and authority in (None, entry.system):
            status = entry.status
            if latest_own is None or entry.at >= latest_own[0]:
                latest_own = (entry.at, status)
        elif entry.dimension is Dimension.shipment:
            status = SHIPMENT_IMPLIES_FULFILLMENT.get(entry.status, "")
        else:
            continue
        if status in order:
            rank = order.index(status)
            if rank not in first or entry.at < first[rank]:
                first[rank] = entry.at
    steps = []
    furthest = max(first, default=-1)
    floors = [order.index(status) for _, status in STEPS]
    for index, (name, _) in enumerate(STEPS):
        floor = floors[index]
        ceiling = floors[index + 1] if index + 1 < len(floors) else len(order)
        # A step's date is when a status of its own was first reported; one passed over without such a
        # report (the system first said "shipped") is reached, without a date.
        own = [at for rank, at in first.items() if floor <= rank < ceiling]
        steps.append(Step(name, furthest >= floor, min(own) if own else None))
    ended = ENDED.get(FulfillmentStatus(latest_own[1])) if latest_own and latest_own[1] in ENDED else None
    tracking = sorted(
        {
            obs.links[tracking_link]
            for obs in observations.observations_of(conn, key)
            if obs.links.get(tracking_link)
        }
    )
    return Progress(number, steps, ended, tracking)
