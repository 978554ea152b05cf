"""`orderbridge demo`: the real pipeline against simulated systems it starts itself — an ERP and a WMS
as local HTTP servers, a purchasing workbook and a finance CSV — then a summary of what it found."""

from __future__ import annotations

import shlex
import shutil
import sys
from collections import Counter
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from pydantic import ValidationError
from rich.console import Console
from rich.text import Text

from orderbridge.config.errors import ConfigError
from orderbridge.config.loader import LoadedConfig, load_config
from orderbridge.config.models import StoreSettings
from orderbridge.connectors import registry
from orderbridge.connectors.base import ConnectorContext, SourceError
from orderbridge.demo.carrier import ParcelEvent, push_all
from orderbridge.demo.config import WEB_PASSWORD_VAR, DemoCredentials, write_demo_config
from orderbridge.demo.scenario import build_scenario, load_erp, load_wms, write_spreadsheets
from orderbridge.demo.simulators import SimulatedERP, SimulatedWMS
from orderbridge.notify.alerts import Alerting
from orderbridge.reconciler.engine import Reconciler
from orderbridge.reconciler.urgency import by_urgency
from orderbridge.scheduler import logs
from orderbridge.scheduler.demo_notify import write_notifications
from orderbridge.scheduler.output import Layout, plural, render_table
from orderbridge.scheduler.sync import sync_system
from orderbridge.scheduler.views import (
    DISCREPANCY_COLUMNS,
    EXPLAINED,
    discrepancy_row,
    next_steps,
)
from orderbridge.storage import discrepancies, inbox, observations
from orderbridge.storage.db import Store, StoreError

SUMMARY_COLUMNS = [
    c for c in DISCREPANCY_COLUMNS if c.key in ("id", "order_key", "rule", "severity", "systems")
]


def run_demo(
    directory: Path,
    *,
    serve: bool = False,
    console: Console | None = None,
    now: datetime | None = None,
    store_url: str | None = None,
) -> int:
    """The demo. With `store_url` it runs on that store (PostgreSQL, say), which must hold no
    orderbridge data yet; by default on a fresh SQLite file in `directory`. Returns the exit code:
    2 for a wrong --dir or --store, 3 when the store cannot be opened, 1 when a simulated system fails."""
    console = console or Console()
    directory = directory.expanduser().resolve()
    problem = _directory_problem(directory) or (_store_problem(store_url) if store_url is not None else None)
    if problem is not None:
        _say(console, f"error: {problem}")
        return 2
    now = now or datetime.now(UTC)
    scenario = build_scenario(now)
    with SimulatedERP() as erp, SimulatedWMS() as wms:
        load_erp(erp, scenario)
        load_wms(wms, scenario)
        write_spreadsheets(scenario, directory)
        config_path = write_demo_config(directory, erp.url, wms.url, store_url)
        try:
            loaded = load_config(config_path)
        except ConfigError as exc:  # not expected: the file is ours; say so rather than a traceback
            _say(console, str(exc))
            return 2
        config = loaded.config
        # The story is told relative to now, so every run starts from an empty database.
        for suffix in ("", "-wal", "-shm"):
            (directory / f"orderbridge.db{suffix}").unlink(missing_ok=True)
        log_file = directory / (config.log.file or "orderbridge.log")
        logs.configure(config.log.level, config.log.format, log_file, loaded.secrets)
        console.print(
            f"[bold]orderbridge demo[/] — simulated ERP at {erp.url}, WMS at {wms.url}", soft_wrap=True
        )
        try:
            store = Store(config.store.url, loaded.base_dir)
        except StoreError as exc:
            _say(console, f"error: {exc}")
            return 3
        if store_url is not None:  # the user's store: never wiped, so it must start empty
            with store.engine.connect() as conn:
                held = sum(observations.counts_by_system(conn).values())
            if held:
                store.close()
                _say(
                    console,
                    f"error: the demo needs a store without orderbridge data; {store.display_url} "
                    f"holds {held} observations. Use an empty database.",
                )
                return 2
        context = ConnectorContext(base_dir=loaded.base_dir)
        for name, settings in config.systems.items():
            if not registry.polls(settings):
                continue  # the carrier pushes: below
            try:
                result = sync_system(store, name, settings, context)
            except SourceError as exc:
                _say(console, f"{name}: {exc}", style="red")
                return 1
            console.print(
                f"  polled [bold]{name:<10}[/] ({settings.type}): {plural(result.records, 'record')}, "
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
            zone=config.display.zone,
        )
        reconciler.run()
        with store.engine.connect() as conn:
            found = by_urgency(discrepancies.listing(conn, status="open"))
        told = write_notifications(directory, loaded, store)
        command = _command()
        suffix = f"-c {shlex.quote(str(config_path))}"
        console.print()
        _summary(console, found, config.display.zone, config.display.timezone)
        for line in next_steps(command, suffix):
            _say(console, line)
        console.print()
        _say(console, f"config:   {config_path}")
        _say(console, f"database: {store.sqlite_path or store.display_url}")
        _say(console, f"logs:     {log_file}")
        _say(console, f"inputs:   {directory / 'purchasing'}, {directory / 'finance'}")
        for what, where in told:
            _say(console, f"{what:<9} {where}")
        console.print("\nexplore (each command is one line):")
        _say(console, f"  {command} discrepancies {suffix}")
        _say(console, f"  {command} orders {suffix}")
        if found:
            _say(console, f"  {command} order {found[0].order_key} {suffix}")
        _say(console, f"  {command} discrepancies {suffix} --format json")
        store.close()
        if serve:
            from orderbridge.scheduler.daemon import Daemon

            console.print()
            _say(
                console,
                f"serving on http://{config.server.listen} (Ctrl-C to stop) — /healthz /metrics "
                "/api/discrepancies /api/orders, and POST /webhooks/carrier for the carrier's pushes "
                "(Kuaidi100, signed with the salt the config names; docs/webhooks.md shows how to send one "
                "with curl); the simulated ERP and WMS run until it stops, so "
                f"`{command} sync erp {suffix}` reaches them meanwhile",
            )
            login = DemoCredentials.from_env()
            _say(
                console,
                f"web pages: http://{config.server.listen}/ — log in as {login.web_user!r} with the password "
                f"{login.web_password!r} (${WEB_PASSWORD_VAR} sets another); customers' page: "
                f"http://{config.server.listen}/track (an order number such as "
                f"SO-{now.year}-0041 and the last 4 digits of its phone in the ERP)",
            )
            Daemon(loaded, context).run()
            _say(console, "stopped: the daemon and the simulated ERP and WMS")
    if not serve:
        console.print()
        _say(
            console,
            "The simulated ERP and WMS stopped with the demo: `sync erp`, `sync wms` and `run` with this "
            "config cannot reach them now (the commands above read the database). To keep them running: "
            f"{command} demo --serve --dir {shlex.quote(str(directory))}",
        )
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
    app = create_app(store, Metrics(), lambda: {"store": True}, mounted=webhooks.routes())
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


def _directory_problem(directory: Path) -> str | None:
    if directory.exists() and not directory.is_dir():
        return f"--dir {directory} is a file; give a folder for the demo's files"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"--dir {directory}: cannot create the folder: {exc.strerror or exc}"
    return None


def _store_problem(url: str) -> str | None:
    try:
        StoreSettings(url=url)
    except ValidationError as exc:
        reasons = "; ".join(str(e.get("ctx", {}).get("error", e["msg"])) for e in exc.errors())
        return f"--store: {reasons}"
    return None


def _say(console: Console, text: str, style: str = "") -> None:
    """A line people may copy: printed as it is, never broken by the console's width."""
    console.print(Text(text, style=style), soft_wrap=True)


def _command() -> str:
    """How to call orderbridge from this shell: by name when it is on PATH, else by full path."""
    if shutil.which("orderbridge"):
        return "orderbridge"
    beside = Path(sys.executable).parent / "orderbridge"
    if beside.exists():
        return shlex.quote(str(beside))
    return f"{shlex.quote(sys.executable)} -m orderbridge"


def _summary(console: Console, found: list[discrepancies.Discrepancy], zone: tzinfo, zone_name: str) -> None:
    count = plural(len(found), "open discrepancy", "open discrepancies")
    title = f"{count} — most urgent first (times in {zone_name})"
    render_table(
        console, [discrepancy_row(d) for d in found], Layout(SUMMARY_COLUMNS, EXPLAINED, zone), title
    )
    by_rule = Counter(d.rule for d in found)
    _say(console, "by rule: " + ", ".join(f"{rule} {count}" for rule, count in sorted(by_rule.items())))
