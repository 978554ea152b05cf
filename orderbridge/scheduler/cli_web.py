"""`orderbridge hash-password`: the hash of a staff member's password for `server.users`, so the
configuration never holds the password itself."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from orderbridge.scheduler.commandline import ExitCode, app, fail
from orderbridge.web.passwords import hash_password

MIN_LENGTH = 8


@app.command("hash-password")
def hash_password_cmd(
    stdin: Annotated[
        bool, typer.Option("--stdin", help="Read the password from the first line of standard input.")
    ] = False,
) -> None:
    """Print the scrypt hash of a password (asked twice, not shown) for `server.users` in the config."""
    if stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_LENGTH:
        fail(f"a password needs at least {MIN_LENGTH} characters", ExitCode.USAGE)
    typer.echo(hash_password(password))
