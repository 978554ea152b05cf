"""Indentation and colon mistakes are named in plain words at the line of the mistake, not with the
YAML parser's wording at the line after it; a value is never quoted (it might be a secret)."""

from __future__ import annotations

import pytest

from orderbridge.config.errors import ConfigError
from orderbridge.config.loader import parse_config

GOOD = [
    "systems:",  # 1
    "  erp:",  # 2
    "    type: rest",  # 3
    "    base_url: https://erp.example.com",  # 4
    "    list: {path: /orders}",  # 5
    "    order_id: {field: no}",  # 6
    "    status: {dimension: fulfillment, map: {A: placed}}",  # 7
]


def problem(lines: list[str]) -> tuple[int | None, str]:
    with pytest.raises(ConfigError) as refused:
        parse_config("\n".join(lines) + "\n", "f.yaml", {})
    (found,) = refused.value.problems
    return found.line, found.message


def edited(row: int, text: str) -> list[str]:
    lines = list(GOOD)
    lines[row - 1] = text
    return lines


@pytest.mark.parametrize(
    ("lines", "line", "words"),
    [
        (edited(5, "      list: {path: /orders}"), 5, "indented more than `base_url` above it (line 4)"),
        (
            edited(5, "   list: {path: /orders}"),
            5,
            "indented 3 spaces, unlike the keys around it, at 2 (line 2)",
        ),
        (edited(5, "\tlist: {path: /orders}"), 5, "a tab character indents this line"),
        (edited(3, "    type:rest"), 3, "put a space after the colon of `type:`"),
        (edited(2, "  erp"), 2, "not `key: value` (a colon is missing)"),
        (edited(5, "    - list"), 5, "a list item (`-`) where a key was expected"),
        (["reconcile:", "  expect:", "    - system: erp", "    after: approved"], 4, "a key among the items"),
    ],
)
def test_indentation_mistakes_are_named_at_their_line(lines: list[str], line: int, words: str) -> None:
    """Each mistake is reported at its own line with a message saying what to fix."""
    found_line, message = problem(lines)
    assert found_line == line
    assert words in message


def test_a_secret_value_is_not_quoted_in_a_syntax_message() -> None:
    """The missing-space message names the key, never the value written after the colon."""
    _, message = problem(edited(4, "    token:s3cr3t-value-42"))
    assert "token" in message and "s3cr3t" not in message
