"""`orderbridge demo`: the real pipeline against simulated systems it starts itself — an ERP and a WMS
as local HTTP servers, a purchasing workbook and a finance CSV — then a summary of what it found."""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from orderbridge.config.loader import LoadedConfig, load_config
from orderbridge.connectors import registry
from orderbridge.connectors.base import ConnectorContext, SourceError
from orderbridge.demo.carrier import ParcelEvent, push_all
from orderbridge.demo.config import write_demo_config
from orderbridge.demo.scenario import build_scenario, load_erp, load_wms, write_spreadsheets
from orderbridge.demo.simulators import SimulatedERP, SimulatedWMS
from orderbridge.notify.alerts import Alerting
from orderbridge.reconciler.engine import Reconciler
from orderbridge.scheduler import logs
from orderbridge.scheduler.demo_notify import write_notifications
from orderbridge.scheduler.sync import sync_system
from orderbridge.storage import discrepancies, inbox, observations
from orderbridge.storage.db import Store, StoreError

SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


def run_demo(
    directory: Path,
    *,
    serve: bool = False,
    console: Console | None = None,
    now: datetime | None = None,
    store_url: str | None = None,
) -> int:
    """The demo. With `store_url` it runs on that store (PostgreSQL, say), which must hold no
    orderbridge data yet; by default on a fresh SQLite file in `directory`."""
    console = console or Console()
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    now = now or datetime.now(UTC)
    scenario = build_scenario(now)
    with SimulatedERP() as erp, SimulatedWMS() as wms:
        load_erp(erp, scenario)
        load_wms(wms, scenario)
        write_spreadsheets(scenario, directory)
        config_path = write_demo_config(directory, erp.url, wms.url, store_url)
        loaded = load_config(config_path)
        config = loaded.config
        # The story is told relative to now, so every run starts from an empty database.
        for suffix in ("", "-wal", "-shm"):
            (directory / f"orderbridge.db{suffix}").unlink(missing_ok=True)
        log_file = directory / (config.log.file or "orderbridge.log")
        logs.configure(config.log.level, config.log.format, log_file, logs.secrets_of(config))
        console.print(f"[bold]orderbridge demo[/] — simulated ERP at {erp.url}, WMS at {wms.url}")
        try:
            store = Store(config.store.url, loaded.base_dir)
        except StoreError as exc:
            console.print(f"error: {exc}", markup=False)
            return 3
        if store_url is not None:  # the user's store: never wiped, so it must start empty
            with store.engine.connect() as conn:
                held = sum(observations.counts_by_system(conn).values())
            if held:
                store.close()
                console.print(
                    f"error: the demo needs a store without orderbridge data; {store.display_url} "
                    f"holds {held} observations. Use an empty database.",
                    markup=False,
                )
                return 2
        context = ConnectorContext(base_dir=loaded.base_dir)
        for name, settings in config.systems.items():
            if not registry.polls(settings):
                continue  # the carrier pushes: below
            try:
                result = sync_system(store, name, settings, context)
            except SourceError as exc:
                console.print(f"[red]{name}: {exc}[/]")
                return 1
            console.print(
                f"  polled [bold]{name:<10}[/] ({settings.type}): {result.records} records, "
                f"{result.quarantined} quarantined"
            )
        _carrier_pushes(console, store, loaded, scenario.carrier_events)
        alerting = Alerting(config.alerts)
        reconciler = Reconciler(
            store,
            config.reconcile,
            tuple(config.systems),
            {n: s.link_by for n, s in config.systems.items()},
            observer=alerting if alerting.rules else None,
        )
        reconciler.run()
        with store.engine.connect() as conn:
            found = discrepancies.listing(conn, status="open")
        _summary(console, found)
        told = write_notifications(directory, loaded, store)
        console.print()
        console.print(f"config:   {config_path}")
        console.print(f"database: {store.sqlite_path or store.display_url}", markup=False)
        console.print(f"logs:     {log_file}")
        console.print(f"inputs:   {directory / 'purchasing'}, {directory / 'finance'}")
        for what, where in told:
            console.print(f"{what:<9} {where}", markup=False, highlight=False)
        console.print("\nexplore:")
        command = _command()
        console.print(f"  {command} discrepancies -c {config_path} --format json")
        if found:
            console.print(f"  {command} order {found[0].order_key} -c {config_path}")
        store.close()
        if serve:
            from orderbridge.scheduler.daemon import Daemon

            console.print(
                f"\nserving on http://{config.server.listen} (Ctrl-C to stop) — /healthz /metrics "
                "/api/discrepancies, and POST /webhooks/carrier for the carrier's pushes (Kuaidi100, signed "
                "with the salt the config names; docs/webhooks.md shows how to send one with curl)"
            )
            Daemon(loaded, context).run()
    return 0


def _carrier_pushes(console: Console, store: Store, loaded: LoadedConfig, events: list[ParcelEvent]) -> None:
    """The simulated carrier pushes its signed events to orderbridge's real webhook endpoint (the
    daemon's app on a loopback port), which stores and acknowledges each; then they are processed."""
    import socket
    import threading

    import uvicorn

    from orderbridge.scheduler.http import Metrics, create_app
    from orderbridge.scheduler.webhooks import Webhooks

    webhooks = Webhooks(store, loaded.config.systems, Metrics())
    app = create_app(store, Metrics(), lambda: {"store": True}, webhooks.routes())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    webhooks.start()
    thread.start()
    try:
        while not server.started and thread.is_alive():
            threading.Event().wait(0.02)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/webhooks/carrier"
        salt = DemoSalt.resolve(loaded)
        answers = push_all(url, events, salt)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        webhooks.stop()
        sock.close()
    webhooks.processor.drain()
    with store.engine.connect() as conn:
        processed = inbox.counts(conn).get(inbox.PROCESSED, 0)
    accepted = sum(1 for status in answers if status == 200)
    console.print(
        f"  pushed {'carrier':<10} (kuaidi100): {accepted} of {len(events)} signed events "
        f"acknowledged, {processed} processed"
    )


class DemoSalt:
    @staticmethod
    def resolve(loaded: LoadedConfig) -> str:
        settings = loaded.config.systems["carrier"]
        webhook = getattr(settings, "webhook", None)
        assert webhook is not None and webhook.secret is not None
        return str(webhook.secret.get_secret_value())


def _command() -> str:
    """How to call orderbridge from this shell: by name when it is on PATH, else by full path."""
    if shutil.which("orderbridge"):
        return "orderbridge"
    beside = Path(sys.executable).parent / "orderbridge"
    return str(beside) if beside.exists() else f"{sys.executable} -m orderbridge"


def _summary(console: Console, found: list[discrepancies.Discrepancy]) -> None:
    table = Table(title=f"{len(found)} open discrepancies", header_style="bold", show_lines=True)
    for column in ("id", "order", "rule", "severity", "systems"):
        table.add_column(column, no_wrap=True)
    table.add_column("what the systems say", ratio=1, min_width=30, overflow="fold")
    for d in sorted(found, key=lambda d: (d.rule, d.order_key)):
        table.add_row(
            str(d.id),
            d.order_key,
            d.rule,
            f"[{SEVERITY_STYLE.get(d.severity, '')}]{d.severity}[/]",
            ", ".join(d.systems),
            d.summary,
        )
    console.print(table)
    by_rule = Counter(d.rule for d in found)
    console.print("by rule: " + ", ".join(f"{rule} {count}" for rule, count in sorted(by_rule.items())))
