#!/usr/bin/env python3
"""Set up and run orderbridge from a fresh clone with nothing but Python 3.11+.

python3 tasks.py demo [--serve]   create .venv if needed, install, run the demo
python3 tasks.py test [pytest args]  create .venv if needed, install, run the whole test suite
python3 tasks.py lint             ruff and mypy
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".orderbridge-installed"


def ensure_env() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script must explain itself on old Pythons
        sys.exit(f"orderbridge needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing orderbridge and its development dependencies into .venv ...", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted)


def run(*command: str) -> int:
    return subprocess.run(command, cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    task, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if task not in ("demo", "test", "lint"):
        print(__doc__)
        return 0 if task == "help" else 2
    ensure_env()
    if task == "demo":
        return run(str(BIN / "orderbridge"), "demo", *rest)
    if task == "test":
        return run(str(BIN / "python"), "-m", "pytest", *rest)
    sources = ("orderbridge", "tests", "tasks.py")
    return (
        run(str(BIN / "ruff"), "check", *sources)
        or run(str(BIN / "ruff"), "format", "--check", *sources)
        or run(str(BIN / "mypy"))
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
