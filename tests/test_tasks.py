"""tasks.py, the entry point of a fresh clone: stopping `demo --serve` stops everything it started, and
the demo's environment is not made to carry the developer tools."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]


def tasks_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tasks", ROOT / "tasks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in command and int(entry.name) != os.getpid():
                found.append(int(entry.name))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir() or os.name != "posix", reason="reads /proc to find processes")
def test_sigterm_to_the_demo_task_stops_the_daemon_too(tmp_path: Path) -> None:
    """SIGTERM to `python3 tasks.py demo --serve` (what a service manager or a CI job sends) stops the
    daemon with it: nothing of the demo keeps running or keeps the port."""
    port = free_port()
    directory = tmp_path / "demo-dir"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEMO_", "ORDERBRIDGE_"))}
    env["ORDERBRIDGE_LISTEN"] = f"127.0.0.1:{port}"
    task = subprocess.Popen(
        [sys.executable, str(ROOT / "tasks.py"), "demo", "--serve", "--dir", str(directory)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert task.stdout is not None
        for line in task.stdout:
            if "serving on" in line:
                break
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        task.send_signal(signal.SIGTERM)
        task.wait(timeout=60)
        deadline = time.monotonic() + 30
        while processes_mentioning(str(directory)) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = processes_mentioning(str(directory))
        assert left == [], "the demo's daemon outlived tasks.py"
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # the port is free again
    finally:
        for pid in processes_mentioning(str(directory)):  # what this test started, if it was left behind
            os.kill(pid, signal.SIGKILL)
        if task.poll() is None:
            task.kill()
            task.wait()
        if task.stdout is not None:
            task.stdout.close()


def test_the_demo_installs_orderbridge_without_the_developer_tools(tmp_path: Path) -> None:
    """The demo task asks for orderbridge with its PostgreSQL driver only; the test, lint and docs tasks
    add the developer tools (the benchmarks their own reference tools); a .venv that has the developer
    tools runs the demo without installing."""
    tasks = tasks_module()
    assert tasks.EXTRAS == {"demo": "postgres", "test": "dev", "lint": "dev", "docs": "dev", "bench": "bench"}
    calls: list[list[str]] = []
    tasks.VENV = tmp_path / ".venv"
    tasks.BIN = tasks.VENV / "bin"
    tasks.STAMP = tasks.VENV / ".orderbridge-installed"
    tasks.BIN.mkdir(parents=True)
    (tasks.BIN / "python").write_text("")
    tasks._pip = lambda command, what: calls.append(command)
    tasks.ensure_env("postgres")
    assert calls[-1][-1].endswith("[postgres]")
    tasks.ensure_env("postgres")
    tasks.ensure_env("dev")
    assert [c[-1].rsplit("[", 1)[-1] for c in calls if c[-1] != "pip"] == ["postgres]", "dev]"]
    count = len(calls)
    tasks.ensure_env("postgres")
    assert len(calls) == count


def test_installing_shows_progress_and_everything_when_it_fails(capsys: pytest.CaptureFixture[str]) -> None:
    """While pip works, each package it fetches or installs is a line with the time elapsed (the first
    demo is not silent for a minute); when pip fails, all its output is shown and the task stops."""
    tasks = tasks_module()
    script = (
        "print('Collecting httpx>=0.27'); print('  some detail'); print('Successfully installed httpx-0.28')"
    )
    tasks._pip([sys.executable, "-c", script], "orderbridge")
    shown = capsys.readouterr().out.splitlines()
    assert [line.split("] ", 1)[1] for line in shown] == [
        "Collecting httpx>=0.27",
        "Successfully installed httpx-0.28",
    ]
    with pytest.raises(SystemExit, match="installing orderbridge failed"):
        tasks._pip(
            [sys.executable, "-c", "print('ERROR: no matching distribution'); raise SystemExit(1)"],
            "orderbridge",
        )
    assert "ERROR: no matching distribution" in capsys.readouterr().out
