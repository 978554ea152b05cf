"""What every carrier and tracking aggregator shares: settings with a preset status table, the record
of one parcel, and the safety-net poll of the shipments a provider has gone silent on."""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, ClassVar, Self

import httpx
from pydantic import Field, model_validator

from orderbridge.config.types import Duration
from orderbridge.connectors.base import (
    Batch,
    Connector,
    ConnectorContext,
    RecordProblem,
    SourceError,
    SystemSettings,
)
from orderbridge.connectors.http import HttpApi, build_client
from orderbridge.connectors.http_settings import RetrySettings
from orderbridge.connectors.push.codes import with_preset
from orderbridge.connectors.push.settings import PushSettings, TrackingPollSettings
from orderbridge.mapping.model import ShipmentStatus, SourceRecord
from orderbridge.mapping.status import StatusTable
from orderbridge.mapping.timeparse import TimestampError, parse_timestamp
from orderbridge.storage import observations
from orderbridge.storage.sql import chunks

TRACKING_NUMBER = "tracking_number"
# A parcel in one of these has nothing more to say: the safety net does not ask about it.
FINISHED = (
    ShipmentStatus.delivered,
    ShipmentStatus.returned,
    ShipmentStatus.cancelled,
    ShipmentStatus.expired,
)


class CarrierSettings(PushSettings):
    """A carrier or tracking aggregator: its status table is a preset that the system's own `status:`
    block extends (own entries first)."""

    link_order_ref: bool = Field(
        default=True,
        description="Read the order reference the provider carries (AfterShip order_number, SF orderid, "
        "Shippo metadata, ...) as the order number; false: link parcels by tracking number only.",
    )

    @classmethod
    @abstractmethod
    def presets(cls) -> list[StatusTable]:
        """The provider's status table(s)."""

    @model_validator(mode="after")
    def _preset_status(self) -> Self:
        self.status = with_preset(self.status, self.presets())
        return self


class AggregatorSettings(CarrierSettings):
    """A tracking aggregator with a query API: it may poll the shipments it went silent on."""

    poll: TrackingPollSettings = Field(
        default_factory=TrackingPollSettings,
        description="The safety net: poll the tracking API about shipments gone silent (silent_after).",
    )
    timeout: Duration = Field(default=timedelta(seconds=30), description="Timeout of a tracking query.")

    @property
    def polling(self) -> bool:
        return self.poll.silent_after is not None

    def missing_credentials(self) -> str | None:
        """What the tracking API needs that is not configured, when polling is on."""
        return None

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        missing = self.missing_credentials() if self.polling else None
        if missing:
            raise ValueError(f"poll.silent_after is set, so the tracking API needs {missing}")
        return self


def aware_time(value: Any) -> datetime | None:
    """A timestamp only if it says its zone (or is epoch); None for blank, zone-less or unreadable."""
    if value is None or value == "":
        return None
    try:
        moment = parse_timestamp(value, UTC)
    except TimestampError:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not (text.endswith(("Z", "z")) or "+" in text[10:] or "-" in text[10:] or text.isdigit()):
            return None
    return moment


def local_time(value: Any, zone: tzinfo) -> datetime | None:
    """A timestamp read in `zone` when it carries none (Kuaidi100's and SF's China time)."""
    try:
        return parse_timestamp(value, zone)
    except TimestampError:
        return None


def obj(value: Any) -> dict[str, Any]:
    """A JSON object, or an empty one for anything else (null, absent, a list)."""
    return value if isinstance(value, dict) else {}


def text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    found = str(value).strip()
    return found or None


def parcel_record(
    system: str,
    settings: CarrierSettings,
    *,
    tracking_number: str,
    native: dict[str, str | None],
    status_at: datetime | None,
    raw: dict[str, Any],
    order_ref: str | None = None,
    reason: str | None = None,
    links: dict[str, str] | None = None,
) -> SourceRecord:
    """One parcel as a provider reports it: identified by its tracking number, linked by it."""
    return SourceRecord(
        system=system,
        record_id=tracking_number,
        order_ref=order_ref if settings.link_order_ref else None,
        native_status=native,
        status_at=status_at,
        links={TRACKING_NUMBER: tracking_number, **(links or {})},
        reason=reason,
        raw=raw,
    )


class TrackingPoller(Connector):
    """The safety net: asks the provider's tracking API about shipments that are not finished and
    have not changed for `poll.silent_after`, `poll.batch` at a time. The cursor remembers when each
    was last asked about, so a shipment that stays silent is asked again only after as long again."""

    settings: AggregatorSettings
    chunk: ClassVar[int] = 1  # shipments per API request

    def __init__(self, name: str, settings: SystemSettings, context: ConnectorContext | None = None) -> None:
        super().__init__(name, settings, context)
        client = build_client(
            str(getattr(self.settings, "base_url", "")).rstrip("/") + "/",
            timeout=self.settings.timeout,
            headers=self.headers(),
            auth=self.auth(),
            transport=self.context.transport,
        )
        self.api = HttpApi(
            name,
            client,
            retry=RetrySettings(attempts=3),
            secrets=self.secrets(),
            on_retry=self.context.on_retry,
        )

    def headers(self) -> dict[str, str]:
        """Headers of every tracking query (an API key header)."""
        return {}

    def auth(self) -> httpx.Auth | None:
        return None

    def secrets(self) -> list[str]:
        """Every credential the queries carry, kept out of any error message."""
        return []

    @abstractmethod
    def query(
        self, shipments: Sequence[tuple[str, dict[str, Any]]], stop: threading.Event
    ) -> list[SourceRecord]:
        """The current state of these shipments (record id, last stored raw record) from the API."""

    def poll(self, cursor: dict[str, Any] | None, stop: threading.Event) -> Iterator[Batch]:
        store = self.context.store
        if store is None:
            raise SourceError(f"{self.name}: the safety-net poll needs the store")
        silent_after = self.settings.poll.silent_after
        assert silent_after is not None
        now = datetime.now(UTC)
        quiet_since = now - silent_after
        with store.engine.connect() as conn:
            silent = observations.silent(conn, self.name, quiet_since, FINISHED)
        asked: dict[str, str] = dict((cursor or {}).get("checked", {}))
        asked = {k: v for k, v in asked.items() if k in {record_id for record_id, _ in silent}}
        due = [(rid, raw) for rid, raw in silent if asked.get(rid, "") < quiet_since.isoformat()]
        due = due[: self.settings.poll.batch]
        done = 0
        for group in chunks(due, self.chunk):
            if stop.is_set():
                return
            records: list[SourceRecord] = []
            problems: list[RecordProblem] = []
            try:
                records = self.query(group, stop)
            except SourceError:
                raise
            except (ValueError, KeyError, TypeError) as exc:
                problems = [
                    RecordProblem(f"tracking query of {rid}", str(exc), raw, rid) for rid, raw in group
                ]
            for rid, _ in group:
                asked[rid] = now.isoformat()
            done += len(group)
            yield Batch(
                f"silent shipments {done}/{len(due)}",
                records,
                problems,
                cursor={"checked": dict(asked)},
                done=done,
                total=len(due),
            )
        if not due:
            yield Batch("no silent shipments", cursor={"checked": asked})

    def close(self) -> None:
        self.api.close()
