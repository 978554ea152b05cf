"""The shared results writer: one section per scenario in docs/benchmarks.md (between that scenario's
markers, the rest of the page kept) and its rows in bench/results/latest.json (other scenarios' rows kept)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.machine import ROOT, Machine

RESULTS = ROOT / "bench" / "results" / "latest.json"
REPORT = ROOT / "docs" / "benchmarks.md"


@dataclass
class Row:
    """One figure of one scenario at one size, against the reference measured in the same run."""

    scenario: str
    size: int
    figure: str  # what was measured: "first full pass", "peak RSS", ...
    value: float
    unit: str
    reference: float | None  # the same figure of the reference, measured in the same run
    reference_name: str  # what the reference is
    target: str
    met: bool
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.reference is None or self.reference == 0:
            return None
        return round(self.value / self.reference, 3)

    def as_json(self, machine: Machine) -> dict[str, Any]:
        found = asdict(self)
        details = found.pop("details")
        return {
            **found,
            "ratio": self.ratio,
            **details,
            "measured_at": machine.date,
            "commit": machine.commit,
            "machine": machine.short(),
        }


@dataclass
class Outcome:
    """What one scenario run produced: its rows and the Markdown that explains them."""

    rows: list[Row]
    body: str  # Markdown: how it was measured and the detailed figures, under the summary table


def markers(scenario: str) -> tuple[str, str]:
    return f"<!-- {scenario}:begin -->", f"<!-- {scenario}:end -->"


def section(scenario: str, title: str, command: str, outcome: Outcome, machine: Machine) -> str:
    begin, end = markers(scenario)
    lines = [
        begin,
        f"## {scenario}: {title}",
        "",
        f"Measured with `{command}` on {machine.line()}.",
        "",
        "| scenario | size | figure | value | reference (same run) | ratio | target | met |",
        "|---|--:|---|--:|---|--:|---|---|",
    ]
    for row in outcome.rows:
        reference = (
            "–" if row.reference is None else f"{_number(row.reference)} {row.unit} ({row.reference_name})"
        )
        ratio = "–" if row.ratio is None else f"**{row.ratio}**"
        lines.append(
            f"| {row.scenario} | {row.size:,} | {row.figure} | {_number(row.value)} {row.unit} | "
            f"{reference} | {ratio} | {row.target} | {'yes' if row.met else '**no**'} |"
        )
    lines += ["", outcome.body.strip(), end]
    return "\n".join(lines)


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:,.3g}" if value < 10 else f"{value:,.1f}"


def save(
    scenario: str,
    section_text: str,
    rows: Sequence[Row],
    machine: Machine,
    *,
    results: Path = RESULTS,
    report: Path = REPORT,
) -> None:
    """Replace this scenario's rows and section, keeping everything else."""
    results.parent.mkdir(parents=True, exist_ok=True)
    kept = json.loads(results.read_text(encoding="utf-8")) if results.exists() else []
    kept = [row for row in kept if row.get("scenario") != scenario]
    fresh = [row.as_json(machine) for row in rows]
    results.write_text(json.dumps(kept + fresh, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    text = report.read_text(encoding="utf-8") if report.exists() else "# Benchmarks\n"
    begin, end = markers(scenario)
    if begin in text and end in text:
        text = text[: text.index(begin)] + section_text + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + section_text + "\n"
    report.write_text(text, encoding="utf-8")
