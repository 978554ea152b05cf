"""What a refused configuration file says: every problem, each with its place in the file (key path
and line) and what was expected."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

KeyPath = tuple[str | int, ...]


def format_key_path(path: Sequence[str | int]) -> str:
    """`systems.wms.list.paging`, `reconcile.expect[0].system`; keys that hold dots or spaces are quoted."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part == "" or not part.isprintable() or any(c in part for c in ".[] \"'"):
            text += f"[{part!r}]"
        else:
            text += f".{part}" if text else part
    return text


@dataclass(frozen=True)
class Problem:
    key_path: str
    line: int | None
    message: str

    def render(self, source: str) -> str:
        """One line: `file:line: key.path: message`."""
        where = f"{source}:{self.line}" if self.line is not None else source
        message = " ".join(self.message.splitlines())
        return f"{where}: {self.key_path}: {message}" if self.key_path else f"{where}: {message}"


class ConfigError(Exception):
    """The configuration file was refused; `problems` lists everything wrong with it, by line."""

    def __init__(self, source: str, problems: Iterable[Problem]) -> None:
        self.source = source
        self.problems = sorted(problems, key=lambda p: p.line or 0)
        super().__init__(self.render())

    def render(self) -> str:
        count = len(self.problems)
        header = f"{self.source}: {count} problem{'' if count == 1 else 's'}"
        return "\n".join([header, *(problem.render(self.source) for problem in self.problems)])

    def __str__(self) -> str:
        return self.render()
