"""EasyPost's API as the safety net: GET /trackers/<trk id> (HTTP basic auth, the API key as user)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import httpx

from orderbridge.connectors.easypost.receiver import tracker_record
from orderbridge.connectors.easypost.settings import EasyPostSettings
from orderbridge.connectors.push.parcels import TrackingPoller
from orderbridge.mapping.model import SourceRecord


class EasyPostPoller(TrackingPoller):
    settings: EasyPostSettings

    def auth(self) -> httpx.Auth | None:
        key = self.settings.api_key
        return httpx.BasicAuth(key.get_secret_value(), "") if key is not None else None

    def secrets(self) -> list[str]:
        return [self.settings.api_key.get_secret_value()] if self.settings.api_key else []

    def query(
        self, shipments: Sequence[tuple[str, dict[str, Any]]], stop: threading.Event
    ) -> list[SourceRecord]:
        records = []
        for record_id, raw in shipments:
            tracker_id = raw.get("id") if isinstance(raw, dict) else None
            if not isinstance(tracker_id, str) or not tracker_id.startswith("trk_"):
                raise ValueError(f"{record_id}: the stored Tracker has no trk_ id to ask about")
            body = self.api.fetch("GET", f"trackers/{tracker_id}", stop=stop)
            if not isinstance(body, dict):
                raise ValueError(f"{record_id}: GET /trackers/{tracker_id} did not answer a Tracker")
            records.append(tracker_record(self.name, self.settings, body))
        return records
