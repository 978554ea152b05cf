"""17TRACK's gettrackinfo as the safety net: POST [{"number", "carrier"}, ...] with the 17token header."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, ClassVar

from orderbridge.connectors.push.parcels import TrackingPoller
from orderbridge.connectors.track17.receiver import track_record
from orderbridge.connectors.track17.settings import Track17Settings
from orderbridge.mapping.model import SourceRecord


class Track17Poller(TrackingPoller):
    settings: Track17Settings
    chunk: ClassVar[int] = 40  # gettrackinfo takes at most 40 numbers a call

    def headers(self) -> dict[str, str]:
        webhook = self.settings.webhook
        return {"17token": webhook.secret.get_secret_value()} if webhook and webhook.secret else {}

    def secrets(self) -> list[str]:
        return list(self.headers().values())

    def query(
        self, shipments: Sequence[tuple[str, dict[str, Any]]], stop: threading.Event
    ) -> list[SourceRecord]:
        wanted = []
        for record_id, raw in shipments:
            item: dict[str, Any] = {"number": record_id}
            if isinstance(raw, dict) and raw.get("carrier") is not None:
                item["carrier"] = raw["carrier"]
            wanted.append(item)
        body = self.api.fetch("POST", "gettrackinfo", stop=stop, json=wanted)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or body.get("code") not in (0, None):
            raise ValueError(
                f"gettrackinfo answered code {body.get('code') if isinstance(body, dict) else '?'}"
            )
        accepted = data.get("accepted")
        return [track_record(self.name, self.settings, a) for a in accepted or [] if isinstance(a, dict)]
