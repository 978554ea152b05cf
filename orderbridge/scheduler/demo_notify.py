"""What the demo would have sent: the finance report as files (.eml, .html, chart, .xlsx, .csv) and,
per alert channel, the message it would deliver, so a new user sees both without an SMTP server."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from orderbridge.config.loader import LoadedConfig
from orderbridge.notify.channels.base import Digest
from orderbridge.notify.channels.registry import build_channel
from orderbridge.notify.report import gather, message, previous_report, render
from orderbridge.notify.sender import unique_announcements
from orderbridge.scheduler.cli_notify import write_report_files
from orderbridge.storage import outbox
from orderbridge.storage.db import Store


def write_notifications(directory: Path, loaded: LoadedConfig, store: Store) -> list[tuple[str, Path]]:
    """Writes report/ and alerts/ in `directory`; returns (what, where) lines for the summary."""
    config = loaded.config
    now = datetime.now(UTC)
    told: list[tuple[str, Path]] = []
    for name, settings in config.reports.items():
        target = directory / "report"
        target.mkdir(parents=True, exist_ok=True)
        for old in target.glob(f"{name}-*"):
            old.unlink()
        with store.engine.connect() as conn:
            data = gather(conn, name, settings, config.reconcile, now, previous_report(conn, name))
        rendered = render(data)
        eml = message(
            rendered, settings, config.smtp, f"report:{name}:demo:{now.isoformat()}", now
        ).as_bytes()
        paths = write_report_files(target, rendered, eml)
        told.append((f"{name}:", paths[1]))
        told.append(("", target))
    alerts_dir = directory / "alerts"
    alerts_dir.mkdir(parents=True, exist_ok=True)
    for old in alerts_dir.iterdir():
        old.unlink()
    for name, channel_settings in config.alerts.channels.items():
        with store.engine.connect() as conn:
            waiting = outbox.unpacked_alerts(conn, name)
        if not waiting:
            continue
        channel = build_channel(name, channel_settings, config.smtp)
        language = channel_settings.language or config.alerts.language
        composed = channel.compose(Digest(f"demo:{name}", unique_announcements(waiting), now, language))
        if channel_settings.type == "email":
            path = alerts_dir / f"{name}.eml"
            path.write_text(composed.body, encoding="utf-8")
        else:
            path = alerts_dir / f"{name}.json"
            path.write_text(
                json.dumps(json.loads(composed.body), ensure_ascii=False, indent=2), encoding="utf-8"
            )
        told.append((f"alert {name}:", path))
    return told
