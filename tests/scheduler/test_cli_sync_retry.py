"""`orderbridge sync` while a source is failing: the progress line says which attempt comes next, of
how many, and why, so a long retry is not a silent wait; a source that stays down is named by host."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx
import structlog
from rich.console import Console
from typer.testing import CliRunner

from orderbridge.scheduler import commandline
from orderbridge.scheduler.cli import app


@pytest.fixture(autouse=True)
def _logging_back_to_default() -> Iterator[None]:
    """The command configures logging onto the runner's streams, closed after it: undo that."""
    yield
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_orderbridge", False)]:
        root.removeHandler(handler)


def config(tmp_path: Path) -> Path:
    path = tmp_path / "orderbridge.yaml"
    path.write_text(
        f"""
store: {{url: "sqlite:///{tmp_path / "ob.db"}"}}
systems:
  erp:
    type: rest
    base_url: https://erp.example.com/api
    list: {{path: /orders, records: data}}
    order_id: {{field: ref}}
    retry: {{attempts: 3, initial_wait: 0s, max_wait: 1s}}
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def progress_screen(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """What the progress bar draws, as a terminal would get it."""
    screen = io.StringIO()
    monkeypatch.setattr(commandline, "err", Console(file=screen, force_terminal=True, width=160))
    return screen


def test_retries_show_the_attempt_count_in_the_progress_line(
    tmp_path: Path, progress_screen: io.StringIO
) -> None:
    """Two 503s before an answer: the progress line shows `attempt 2/3` and `attempt 3/3` with the
    reason, and the sync then succeeds."""
    with respx.mock(assert_all_called=True) as router:
        router.get("https://erp.example.com/api/orders").side_effect = [
            httpx.Response(503, text="maintenance"),
            httpx.Response(503, text="maintenance"),
            httpx.Response(200, json={"data": [{"ref": "SO-000001"}]}),
        ]
        result = CliRunner().invoke(app, ["sync", "erp", "-c", str(config(tmp_path))])
    assert result.exit_code == 0, result.output
    drawn = progress_screen.getvalue()
    assert "attempt 2/3 in 0 s (HTTP 503 Service Unavailable: maintenance)" in drawn
    assert "attempt 3/3" in drawn
    assert "erp: 1 record in 1 batch" in result.output


def test_a_source_that_stays_down_is_named_by_host(tmp_path: Path, progress_screen: io.StringIO) -> None:
    """After the last attempt the error names the host and how often it was tried; exit code 1."""
    with respx.mock(assert_all_called=True) as router:
        router.get("https://erp.example.com/api/orders").side_effect = httpx.ConnectError(
            "Connection refused"
        )
        result = CliRunner().invoke(app, ["sync", "erp", "-c", str(config(tmp_path))])
    assert result.exit_code == 1
    assert "cannot connect to erp.example.com:443" in result.output
    assert "failed after 3 attempts" in result.output
