"""AfterShip's tracking API as the safety net: GET /trackings?tracking_numbers=a,b,... with as-api-key."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, ClassVar

from orderbridge.connectors.aftership.receiver import tracking_record
from orderbridge.connectors.aftership.settings import AfterShipSettings
from orderbridge.connectors.push.parcels import TrackingPoller
from orderbridge.mapping.model import SourceRecord


class AfterShipPoller(TrackingPoller):
    settings: AfterShipSettings
    chunk: ClassVar[int] = 50

    def headers(self) -> dict[str, str]:
        key = self.settings.api_key
        return {"as-api-key": key.get_secret_value()} if key else {}

    def secrets(self) -> list[str]:
        return [self.settings.api_key.get_secret_value()] if self.settings.api_key else []

    def query(
        self, shipments: Sequence[tuple[str, dict[str, Any]]], stop: threading.Event
    ) -> list[SourceRecord]:
        numbers = ",".join(record_id for record_id, _ in shipments)
        body = self.api.fetch("GET", "trackings", stop=stop, params={"tracking_numbers": numbers})
        data = body.get("data") if isinstance(body, dict) else None
        trackings = data.get("trackings") if isinstance(data, dict) else data
        if not isinstance(trackings, list):
            raise ValueError("the tracking API answered without data.trackings")
        found = [tracking_record(self.name, self.settings, t) for t in trackings if isinstance(t, dict)]
        return [record for record in found if record is not None]
