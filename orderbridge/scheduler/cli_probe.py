"""`orderbridge probe SYSTEM`: one page (or one file) of a system read through its connector, nothing
stored, and what each configured field path found in it — before the first sync is trusted."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated

import typer

from orderbridge.config.loader import LoadedConfig
from orderbridge.connectors.base import ConnectorContext
from orderbridge.connectors.probe import ProbeReport, probe
from orderbridge.scheduler.commandline import (
    DEFAULT_CONFIG,
    ConfigOption,
    FormatOption,
    app,
    console,
    err,
    load,
)
from orderbridge.scheduler.output import Format, emit


@app.command("probe")
def probe_command(
    system: Annotated[str, typer.Argument(help="System name from the config.")],
    config: ConfigOption = DEFAULT_CONFIG,
    fmt: FormatOption = Format.table,
) -> None:
    """Read one page (or one file) of SYSTEM, store nothing, and show per configured field path how
    many records had it and examples, the status words no table maps, and what the answer says about
    a next page. Exit 0 when everything configured was found, 1 when something needs fixing."""
    loaded = load(config, log_file=False)
    if system not in loaded.config.systems:
        systems = ", ".join(loaded.config.systems) or "none"
        err.print(f"error: no system {system!r} in {config}; systems: {systems}", markup=False)
        raise typer.Exit(2)
    report = probe(system, loaded.config.systems[system], ConnectorContext(base_dir=loaded.base_dir))
    if fmt == Format.json:
        typer.echo(json.dumps(as_json(report), ensure_ascii=False, indent=2))
    else:
        show(report)
    raise typer.Exit(1 if report.problems else 0)


def probe_every(loaded: LoadedConfig) -> int:
    """`check-config --probe`: each enabled system probed in turn; 1 when any needs fixing."""
    failed = 0
    for name, settings in loaded.config.systems.items():
        if not settings.enabled:
            continue
        report = probe(name, settings, ConnectorContext(base_dir=loaded.base_dir))
        show(report)
        failed += bool(report.problems)
    return 1 if failed else 0


def as_json(report: ProbeReport) -> dict[str, object]:
    return {**dataclasses.asdict(report), "problems": report.problems}


def show(report: ProbeReport) -> None:
    say = console.print
    say(f"\n{report.system}: {report.source or '(nothing read)'} — {report.records} records", markup=False)
    if report.records:
        rows = [
            {
                "field": f.role,
                "path": f.path,
                "found": f"{f.found}/{report.records}",
                "examples": ", ".join(f.examples)
                or ("did you mean: " + ", ".join(f.suggestions) if f.suggestions else ""),
            }
            for f in report.fields
        ]
        emit(rows, ["field", "path", "found", "examples"], Format.table, console=console)
    for status in report.statuses:
        words = ", ".join(f"{word} ({count})" for word, count in status.words.items()) or "none"
        say(f"{status.dimension} status words on this page: {words}", markup=False, highlight=False)
        if status.unmapped:
            unmapped = ", ".join(status.unmapped)
            say(f"  not in the {status.dimension} table: {unmapped}", markup=False, highlight=False)
    for line in report.paging:
        say(f"next page: {line}", markup=False, highlight=False)
    for line in report.unreadable[:10]:
        say(f"unreadable: {line}", markup=False, highlight=False)
    for problem in report.problems:
        err.print(f"problem: {problem}", markup=False, highlight=False, soft_wrap=True)
    if not report.problems:
        say(f"{report.system}: every configured field was found", markup=False)
