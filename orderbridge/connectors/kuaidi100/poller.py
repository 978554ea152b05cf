"""Kuaidi100's real-time query as the safety net: POST /poll/query.do with customer, param and
sign = upper-case MD5 of param + key + customer. Each query is billed by Kuaidi100: mind poll.batch."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from typing import Any

from orderbridge.connectors.kuaidi100.receiver import result_record
from orderbridge.connectors.kuaidi100.settings import Kuaidi100Settings
from orderbridge.connectors.push.parcels import TrackingPoller
from orderbridge.mapping.model import SourceRecord


class Kuaidi100Poller(TrackingPoller):
    settings: Kuaidi100Settings

    def secrets(self) -> list[str]:
        return [self.settings.key.get_secret_value()] if self.settings.key else []

    def query(
        self, shipments: Sequence[tuple[str, dict[str, Any]]], stop: threading.Event
    ) -> list[SourceRecord]:
        assert self.settings.key is not None and self.settings.customer is not None
        key, customer = self.settings.key.get_secret_value(), self.settings.customer
        records = []
        for record_id, raw in shipments:
            com = raw.get("com") if isinstance(raw, dict) else None
            if not com:
                raise ValueError(f"{record_id}: the stored result has no carrier code (com) to ask with")
            param = json.dumps({"com": com, "num": record_id, "resultv2": "4"}, ensure_ascii=False)
            sign = hashlib.md5((param + key + customer).encode()).hexdigest().upper()
            body = self.api.fetch(
                "POST", "poll/query.do", stop=stop, data={"customer": customer, "param": param, "sign": sign}
            )
            if not isinstance(body, dict) or body.get("result") is False or "nu" not in body:
                code = body.get("returnCode") if isinstance(body, dict) else None
                message = body.get("message") if isinstance(body, dict) else None
                raise ValueError(f"{record_id}: the query answered returnCode {code}: {message}")
            records.append(result_record(self.name, self.settings, body))
        return records
