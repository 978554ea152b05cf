"""The declarative REST connector: the order listing and its child listings, all described in YAML (by
the user, or by a declarative preset)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from orderbridge.connectors.base import Batch, Connector, ConnectorContext, SystemSettings
from orderbridge.connectors.http import HttpApi
from orderbridge.connectors.rest.listing import Build, Listing, one_record
from orderbridge.connectors.rest.settings import RestSettings

CHILDREN = "children"
FULL_AT = "full_at"


class RestConnector(Connector):
    settings_model = RestSettings
    settings: RestSettings
    build: Build = staticmethod(one_record)  # what one native order record becomes

    def __init__(
        self,
        name: str,
        settings: SystemSettings,
        context: ConnectorContext | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        settings = settings.effective()  # a declarative preset: the REST settings it expands to
        if not isinstance(settings, RestSettings):
            raise TypeError(f"{name}: the rest connector needs RestSettings, not {type(settings).__name__}")
        super().__init__(name, settings, context)
        self.api = HttpApi.from_settings(name, settings, self.context)
        self.clock = clock or self.context.clock or (lambda: datetime.now(UTC))

    def poll(self, cursor: dict[str, Any] | None, stop: threading.Event) -> Iterator[Batch]:
        """The order listing, then each child listing. The cursor holds each listing's own state:
        the order listing's at the top, each child's under `children`."""
        state = dict(cursor or {})
        started = self.clock()
        streams: list[tuple[str | None, RestSettings]] = [(None, self.settings)]
        streams += [(child, self.settings.child(child)) for child in self.settings.children]
        for child, settings in streams:
            if child is not None and stop.is_set():
                return
            saved = _own(state) if child is None else state.get(CHILDREN, {}).get(child)
            full = self._full_due(settings, saved, started)
            system = self.name if child is None else f"{self.name}.{child}"
            listing = Listing(
                system,
                settings,
                self.api,
                saved,
                full=full,
                label="page" if child is None else f"{child} page",
                child=child is not None,
                clock=self.clock,
                build=self.build if child is None else None,
            )
            for page in listing.pages(stop):
                own = page.state
                if own is not None and page.last and full:
                    own = {**own, FULL_AT: started.isoformat()}
                if own is not None:
                    state = _merge(state, child, own)
                yield Batch(
                    page.label,
                    page.records,
                    page.problems,
                    cursor=state if own is not None else None,
                    done=page.read,
                    total=page.total,
                    system=None if child is None else system,
                    settings=None if child is None else settings,
                )

    def close(self) -> None:
        self.api.close()

    def _full_due(self, settings: RestSettings, saved: dict[str, Any] | None, now: datetime) -> bool:
        every = self.settings.poll.full_every
        if every is None or settings.cursor is None:
            return False  # without a cursor every poll reads everything anyway
        last = (saved or {}).get(FULL_AT)
        try:
            return last is None or now - datetime.fromisoformat(str(last)) >= every
        except ValueError:
            return True


def _own(state: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in state.items() if key != CHILDREN}


def _merge(state: dict[str, Any], child: str | None, own: dict[str, Any]) -> dict[str, Any]:
    if child is None:
        return {**own, **({CHILDREN: state[CHILDREN]} if CHILDREN in state else {})}
    return {**state, CHILDREN: {**state.get(CHILDREN, {}), child: own}}
