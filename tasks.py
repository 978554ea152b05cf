#!/usr/bin/env python3
"""Set up and run orderbridge from a fresh clone with nothing but Python 3.11+.

python3 tasks.py demo [--serve]      create .venv if needed, install orderbridge, run the demo
python3 tasks.py test [pytest args]  create .venv if needed, install with the developer tools, run the tests
python3 tasks.py lint                ruff and mypy
python3 tasks.py docs [--check]      regenerate the settings reference in docs/ from the settings models
python3 tasks.py bench [--quick] [scenario ...] [--sizes N,N]
                                     run benchmarks, write docs/benchmarks.md and bench/results/latest.json
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".orderbridge-installed"
# What each task needs installed: the demo runs orderbridge (PostgreSQL driver included, for
# `demo --store`); the benchmarks their reference tools (datacompy, pandas, polars); the others need the
# developer tools too.
EXTRAS = {"demo": "postgres", "test": "dev", "lint": "dev", "docs": "dev", "bench": "bench"}
SHOWN = ("Collecting ", "Downloading ", "Installing collected packages", "Successfully")  # pip's lines


def ensure_env(extra: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script must explain itself on old Pythons
        sys.exit(f"orderbridge needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = _stamp()
    current = set(stamp.get("extras", [])) if stamp.get("pyproject") == [wanted] else set()
    # The developer tools include the PostgreSQL driver: a .venv set up for the tests runs the demo.
    if extra in current or (extra == "postgres" and "dev" in current):
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    what = {"postgres": "orderbridge", "bench": "orderbridge and the benchmarks' reference tools"}.get(
        extra, "orderbridge and its development tools"
    )
    print(f"installing {what} into .venv (the first time takes a minute or two) ...", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
    _pip([*pip, "--upgrade", "pip"], "pip")
    _pip([*pip, "-e", f"{ROOT}[{extra}]"], what)
    STAMP.write_text(json.dumps({"pyproject": [wanted], "extras": sorted(current | {extra})}))


def _stamp() -> dict[str, list[str]]:
    """What is installed: {"pyproject": [hash of pyproject.toml], "extras": [...]}; {} when unknown."""
    try:
        found = json.loads(STAMP.read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _pip(command: list[str], what: str) -> None:
    """Run pip, showing one line per package it fetches or installs instead of going silent; all of
    its output when it fails."""
    started = time.monotonic()
    seen: list[str] = []
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            text = line.strip()
            if text.startswith(
                ("Collecting ", "Downloading ", "Installing collected packages", "Successfully")
            ):
                print(f"  [{time.monotonic() - started:4.0f}s] {text[:110]}", flush=True)
    if process.returncode != 0:
        sys.stdout.write("".join(seen))
        sys.exit(f"installing {what} failed (pip exit {process.returncode}); its output is above")


def run(*command: str) -> int:
    """Run `command` from the repository root. On POSIX the task becomes the command (exec), so that
    signals such as SIGTERM reach it directly and nothing is left running when the task is stopped."""
    if os.name == "posix":
        sys.stdout.flush()
        sys.stderr.flush()
        os.chdir(ROOT)
        os.execv(command[0], list(command))
    return subprocess.run(command, cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    task, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if task not in EXTRAS:
        print(__doc__)
        return 0 if task == "help" else 2
    ensure_env(EXTRAS[task])
    if task == "demo":
        return run(str(BIN / "orderbridge"), "demo", *rest)
    if task == "test":
        return run(str(BIN / "python"), "-m", "pytest", *rest)
    if task == "docs":
        return run(str(BIN / "python"), "-m", "orderbridge.config.reference", *rest)
    if task == "bench":
        return run(str(BIN / "python"), "-m", "bench", *rest)
    sources = ("orderbridge", "tests", "bench", "tasks.py")
    return (
        subprocess.run([str(BIN / "ruff"), "check", *sources], cwd=ROOT).returncode
        or subprocess.run([str(BIN / "ruff"), "format", "--check", *sources], cwd=ROOT).returncode
        or subprocess.run([str(BIN / "mypy")], cwd=ROOT).returncode
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
