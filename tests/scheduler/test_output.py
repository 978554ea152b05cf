"""Output people can read: tables fit an 80-column terminal with every explanation whole, times short
and local, the most urgent first; the demo's printed commands can be copied as they are."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from rich.cells import cell_len
from rich.console import Console

from orderbridge.config.loader import load_config
from orderbridge.scheduler.demo import run_demo
from orderbridge.scheduler.output import Below, Column, Layout, plural, render_table, short
from orderbridge.storage import discrepancies
from orderbridge.storage.db import Store

LONG = (
    "erp says preparing (备货中); wms says shipped since 2026-11-30 14:05, and this explanation goes on "
    "well beyond what one line of an ordinary terminal can hold, 包括一段没有空格的中文说明文字需要正确换行"
)


def rendered(width: int, rows: list[dict[str, object]], layout: Layout, title: str | None = None) -> str:
    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115 - closed below
    try:
        render_table(console, rows, layout, title)
        return console.export_text()
    finally:
        console.file.close()


def test_a_table_fits_80_columns_wrapping_the_explanation_under_its_row() -> None:
    """At 80 columns no line is wider; the explanation is whole (Chinese text too), on lines of its own
    under its row; the least valuable columns are left out first, and the table says which."""
    layout = Layout(
        [
            Column("id", keep=9),
            Column("order", keep=8),
            Column("rule", keep=7),
            Column("systems", keep=5),
            Column("opened", keep=2),
            Column("dimension", keep=1),
        ],
        [Below("summary"), Below("advice", prefix="→ ")],
    )
    rows: list[dict[str, object]] = [
        {
            "id": 12,
            "order": "SO-000042",
            "rule": "ahead_of_authority",
            "systems": "erp, purchasing, wms",
            "opened": datetime(2026, 11, 30, 6, 5, 59, 123456, tzinfo=UTC),
            "dimension": "fulfillment",
            "summary": LONG,
            "advice": "Bring SO-000042 up to date in erp (wms is further along), or find out why.",
        }
    ]
    text = rendered(80, rows, layout)
    lines = text.splitlines()
    assert all(cell_len(line) <= 80 for line in lines), lines
    assert lines[0].split() == ["id", "order", "rule", "systems", "opened"]
    assert "".join(LONG.split()) in "".join("".join(lines[2:]).split())
    assert all(line.startswith("    ") for line in lines[2:-1])
    assert lines[-1] == "(not shown at this width: dimension; see --format json)"
    assert "2026-11-30 06:05" in lines[1] and "59.123456" not in text
    wide = rendered(200, rows, layout)
    assert wide.splitlines()[0].split()[-1] == "dimension" and "not shown" not in wide


def test_columns_that_fold_go_under_the_row_instead_of_away() -> None:
    """Each system's status is shown under the order when the row is too wide, not dropped."""
    layout = Layout(
        [Column("order", keep=9)] + [Column(s, keep=5, fold=True) for s in ("erp", "wms", "purchasing")]
    )
    row = {
        "order": "SO-000042",
        "erp": "preparing (备货中)",
        "wms": "shipped",
        "purchasing": "shipped (已发货)" * 3,
    }
    text = rendered(60, [row], layout)
    assert "purchasing: shipped (已发货)" in text and "not shown" not in text
    assert all(cell_len(line) <= 60 for line in text.splitlines())


def test_short_times_are_in_the_display_zone() -> None:
    """A time (or an ISO 8601 text) in a table is `YYYY-MM-DD HH:MM` in the display zone."""
    moment = datetime(2026, 11, 30, 6, 5, 30, 1, tzinfo=UTC)
    shanghai = ZoneInfo("Asia/Shanghai")
    assert short(moment, shanghai) == "2026-11-30 14:05"
    assert short(moment.isoformat(), shanghai) == "2026-11-30 14:05"
    assert short("2026-11-30") == "2026-11-30"


@pytest.mark.parametrize(
    ("count", "word", "expected"),
    [
        (1, "open discrepancy", "1 open discrepancy"),
        (2, "open discrepancy", "2 open discrepancies"),
        (0, "record", "0 records"),
        (1, "batch", "1 batch"),
        (1, "day", "1 day"),
        (3, "day", "3 days"),
    ],
)
def test_counts_take_the_right_word(count: int, word: str, expected: str) -> None:
    """1 open discrepancy, 2 open discrepancies."""
    several = "batches" if word == "batch" else None
    assert plural(count, word, several) == expected


@pytest.fixture(scope="module")
def demo80(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    directory = tmp_path_factory.mktemp("demo80")
    console = Console(width=80, record=True, file=open(directory / "out.txt", "w", encoding="utf-8"))  # noqa: SIM115
    try:
        assert run_demo(directory, console=console) == 0
    finally:
        console.file.close()
    return console.export_text(), directory / "orderbridge.yaml"


def test_the_demo_at_80_columns_shows_every_explanation_whole(demo80: tuple[str, Path]) -> None:
    """Rendered at 80 columns, the demo's summary shows each discrepancy's explanation and what to do
    in full, critical ones first, and no table line is wider than the terminal."""
    text, config = demo80
    loaded = load_config(config)
    store = Store(loaded.config.store.url, loaded.base_dir)
    with store.engine.connect() as conn:
        found = discrepancies.listing(conn, status="open")
    store.close()
    assert len(found) >= 10
    flat = "".join(text.split())
    for d in found:
        assert "".join(d.summary.split()) in flat, d.summary
        assert d.order_key in text
    table = text.split("most urgent first", 1)[1].split("\nby rule:", 1)[0].splitlines()[1:]
    assert all(cell_len(line) <= 80 for line in table), [line for line in table if cell_len(line) > 80]
    severities = [
        m.group(1) for line in table if (m := re.match(r"^\d+\s+\S+\s+\S+\s+(critical|warning)", line))
    ]
    assert len(severities) == len(found)
    assert severities == sorted(severities)  # "critical" < "warning": every critical comes first
    assert "→ " in text and " ack ID --by NAME" in text and " snooze ID --for 1d --by NAME" in text


def test_the_demos_commands_are_each_on_one_line(demo80: tuple[str, Path]) -> None:
    """Every command the demo prints for exploring is whole on one line at 80 columns, so it can be
    copied and pasted; and the demo says its simulated systems are gone once it ends."""
    text, config = demo80
    lines = text.splitlines()
    commands = [line.strip() for line in lines if f"-c {config}" in line]
    assert len(commands) >= 5
    shape = re.compile(
        r"\S*orderbridge( -m orderbridge)? (discrepancies|orders|order \S+|ack ID --by NAME|"
        r"snooze ID --for 1d --by NAME) -c " + re.escape(str(config))
    )
    for command in commands:
        assert shape.search(command), command
    for name in ("discrepancies", "orders"):
        assert any(c.endswith(f"{name} -c {config}") for c in commands), name
    assert "The simulated ERP and WMS stopped with the demo" in text
    assert any(line.rstrip().endswith(f"demo --serve --dir {config.parent}") for line in lines)
