"""The YAML parser's errors in a person's words, at the line of the mistake: the common indentation
mistakes (a key indented more or less than its siblings, a tab, a missing colon or space) are named
as such; other errors keep the parser's words. Never quotes a value (it may be a secret), only keys."""

from __future__ import annotations

import re

import yaml

_KEY = re.compile(
    r"^(?P<indent>[ ]*)(?P<dashes>(?:-[ ]+)*)(?P<key>[^\s:#][^:#]*?)\s*:(?:[ ]+(?P<value>\S.*))?$"
)
_NO_SPACE = re.compile(r"^[ ]*(?:-[ ]+)*(?P<key>[^\s:#'\"][^\s:#]*):\S")


def explain(lines: list[str], exc: yaml.MarkedYAMLError) -> tuple[int, str] | None:
    """(line, message) for a mistake this module recognises, else None. Lines are 1-based."""
    mark = exc.problem_mark
    if mark is None:
        return None
    problem, row = exc.problem or "", mark.line
    if "'\\t' that cannot start any token" in problem:
        return row + 1, "a tab character indents this line; YAML indents with spaces only"
    if problem == "mapping values are not allowed here":
        return _continued_scalar(lines, row)
    context = exc.context_mark
    if problem == "could not find expected ':'" and context is not None and context.line < len(lines):
        return _no_colon(lines, context.line)
    if problem.startswith("expected <block end>") and context is not None:
        found = problem.rpartition("found ")[2].strip("'")
        if found == "-":
            return row + 1, (
                "a list item (`-`) where a key was expected: a list goes under a key of its own "
                "(`key:`, then `  - item` on the next lines)"
            )
        if found == "?":
            return row + 1, (
                f"a key among the items of the list that starts at line {context.line + 1}: start it "
                "with `- ` to make it an item, or indent it to belong to the item above"
            )
        if found == "<block mapping start>":
            return row + 1, _misaligned(lines, row, context.line, context.column)
    return None


def _continued_scalar(lines: list[str], row: int) -> tuple[int, str] | None:
    """The parser read the text on `row` as the continuation of a value begun on an earlier line."""
    above = _previous_content(lines, row)
    if above is None:
        return None
    entry = _KEY.match(lines[above])
    if entry is None:
        return _no_colon(lines, above)
    key_column = len(entry["indent"]) + len(entry["dashes"])
    here = len(lines[row]) - len(lines[row].lstrip(" "))
    if entry["value"] is not None and here > key_column:
        return row + 1, (
            f"this key is indented more than `{entry['key']}` above it (line {above + 1}), which already "
            "has a value on its line: align the two keys, or, if this belongs under "
            f"`{entry['key']}`, leave nothing after `{entry['key']}:`"
        )
    return None


def _no_colon(lines: list[str], row: int) -> tuple[int, str]:
    text = lines[row]
    if (no_space := _NO_SPACE.match(text)) is not None and ": " not in text:
        key = no_space["key"]
        return row + 1, f"put a space after the colon of `{key}:` (YAML reads `{key}:…` as one word)"
    return row + 1, (
        "this line is not `key: value` (a colon is missing); a section is written `name:`, "
        "with its keys indented below it"
    )


def _misaligned(lines: list[str], row: int, section_row: int, section_column: int) -> str:
    here = len(lines[row]) - len(lines[row].lstrip(" "))
    above = _previous_content(lines, row)
    columns = [f"{section_column} (line {section_row + 1})"]
    if above is not None and (entry := _KEY.match(lines[above])) is not None:
        column = len(entry["indent"]) + len(entry["dashes"])
        if column != section_column:
            columns.append(f"{column} (line {above + 1})")
    return (
        f"this key is indented {here} spaces, unlike the keys around it, at {' and '.join(columns)}: "
        "align it with the keys of the section it belongs to"
    )


def _previous_content(lines: list[str], row: int) -> int | None:
    for index in range(min(row, len(lines)) - 1, -1, -1):
        stripped = lines[index].strip()
        if stripped and not stripped.startswith("#"):
            return index
    return None
