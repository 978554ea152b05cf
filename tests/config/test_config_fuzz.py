"""Hostile and mangled configuration files: whatever the file holds, loading it either succeeds or
exits 2 with every problem located (file:line), never with a traceback, a hang or unbounded memory.

The property tests run a fixed set of examples (derandomized, so CI is repeatable); set
ORDERBRIDGE_FUZZ_EXAMPLES=5000 and ORDERBRIDGE_FUZZ_RANDOM=1 to explore further."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import typer
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderbridge.scheduler import commandline

BASE = """\
store: {url: "sqlite:///ob.db"}
server: {listen: "127.0.0.1:8080"}
log: {level: info, file: orderbridge.log}
systems:
  erp:
    type: rest
    base_url: https://erp.example.com/api
    auth: {bearer: "${FUZZ_TOKEN:-tok-fuzz-1}"}
    poll: {every: 2m}
    timeout: 30s
    list:
      path: /v1/sale-orders
      params: {modified_since: "{cursor}"}
      records: data.items
      paging: {style: page, param: page, size_param: page_size, size: 100}
    cursor: {field: modified, overlap: 5m, sorted: true}
    retry: {attempts: 5, initial_wait: 1s, max_wait: 60s}
    timezone: Asia/Shanghai
    order_id: {field: bill_no, pattern: 'SO-\\d{4}-(\\d+)', format: 'SO-{0:0>6}'}
    fields: {record_id: id, updated: modified, ordered_qty: qty}
    status:
      dimension: fulfillment
      field: status
      map: {草稿: placed, 备货中: preparing, 已发货: shipped}
  purchasing:
    type: spreadsheet
    path: purchasing/*.xlsx
    columns: {order: 订单号, status: 状态, updated: 更新时间}
    settle: 1m
    status: {dimension: fulfillment, map: {已下单: placed, 已发货: shipped}}
reconcile:
  every: 5m
  authority: {fulfillment: erp}
  grace: {default: 30m, purchasing: 1d}
  sla: {preparing: [1d, 3d]}
  expect: [{system: erp, after: approved, within: 2h}]
  escalation: [1d, 3d]
"""
EXAMPLES = int(os.environ.get("ORDERBRIDGE_FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("ORDERBRIDGE_FUZZ_RANDOM"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
HOSTILE_VALUES = [
    "-.inf",
    ".inf",
    ".nan",
    "99999999999999d",
    "-5",
    "0",
    "1e400",
    "99999999999999999999999999",
    "'SO-{0.real}'",
    "'SO-{0:s}'",
    "'SO-{0:>999999999}'",
    "'{'",
    "/",
    '"\\0"',
    '"\\ud800"',
    "*nothing",
    "&a [*a]",
    "!!python/object:os.system",
    "[" * 60 + "]" * 60,
    "${NOT_SET_ANYWHERE}",
    "'${'",
    "~",
    "[]",
    "{}",
    "'(('",
    "'[z-a]'",
    "Mars/Olympus",
    "'1h30'",
    "'0.0001s'",
]
YAML_CHARS = st.sampled_from([*":-{}[]&*!|>'\"#%@`,?\t\n \\0aZ9._$", "\x00", "\ufeff", "é", "\u2028"])


@contextmanager
def config_file(text: str | bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "orderbridge.yaml"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
        yield path


def outcome(path: Path) -> tuple[int, list[str]]:
    """(exit code, problem lines) of loading `path` as every command does, logging set up aside."""
    with mock.patch.object(commandline.logs, "configure"), commandline.err.capture() as captured:
        try:
            commandline.load(path, log_file=False)
        except typer.Exit as exit_:
            code = exit_.exit_code
        else:
            code = 0
    return code, captured.get().splitlines()


def assert_refused_with_locations(path: Path) -> int:
    code, lines = outcome(path)
    assert code in (0, 2), lines
    if code == 2:
        header, *problems = lines
        assert re.fullmatch(rf"{re.escape(str(path))}: \d+ problems?", header), header
        assert problems, lines
        for line in problems:
            assert re.match(rf"{re.escape(str(path))}:\d+: ", line), f"problem without a line: {line!r}"
    return code


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """The base file with a few edits: characters inserted or deleted, a line's indentation changed,
    lines duplicated or dropped, a value replaced by a hostile one."""
    lines = BASE.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        row = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["insert", "delete", "indent", "duplicate", "drop", "value"]))
        line = lines[row]
        if action == "insert":
            at = draw(st.integers(0, len(line)))
            lines[row] = line[:at] + draw(st.text(YAML_CHARS, min_size=1, max_size=4)) + line[at:]
        elif action == "delete" and line:
            at = draw(st.integers(0, len(line) - 1))
            lines[row] = line[:at] + line[at + draw(st.integers(1, 5)) :]
        elif action == "indent":
            lines[row] = " " * draw(st.integers(0, 9)) + line.lstrip(" ")
        elif action == "duplicate":
            lines.insert(row, line)
        elif action == "drop" and len(lines) > 1:
            del lines[row]
        elif action == "value" and ": " in line:
            head, _, _ = line.rpartition(": ")
            lines[row] = f"{head}: {draw(st.sampled_from(HOSTILE_VALUES))}"
    return "\n".join(lines) + "\n"


SETTING_NAMES = sorted(
    {m for m in re.findall(r"([a-z_]+):", BASE)} | {"when", "then", "rules", "headers", "api_key", "pad"}
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(st.characters(blacklist_categories=["Cs"]), max_size=20)
    | st.sampled_from(["5m", "-1s", "1e9d", "{cursor}", "SO-{0}", "rest", "spreadsheet", "fulfillment"])
)
KEYS = st.sampled_from(SETTING_NAMES) | st.text(max_size=8)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=30,
)


@st.composite
def generated(draw: st.DrawFn) -> str:
    """A structure of known and unknown keys with values of every kind, placed at the top, as a
    section, or as a system's settings; dumped as YAML."""
    body: Any = draw(DOCUMENTS)
    where = draw(st.sampled_from(["top", "section", "system"]))
    if where == "section":
        body = {draw(st.sampled_from(["store", "server", "log", "reconcile", "systems"])): body}
    elif where == "system":
        kind = draw(st.sampled_from(["rest", "spreadsheet"]))
        body = {"systems": {"erp": {"type": kind, **(body if isinstance(body, dict) else {"x": body})}}}
    return yaml.safe_dump(body, allow_unicode=True)


@FUZZ
@given(mutated())
def test_mutated_configs_are_refused_with_located_problems(text: str) -> None:
    """Mangled versions of a valid file load, or exit 2 listing problems that each have a line."""
    with config_file(text) as path:
        assert_refused_with_locations(path)


@FUZZ
@given(generated())
def test_generated_configs_are_refused_with_located_problems(text: str) -> None:
    """Random settings of every type, anywhere: load, or exit 2 with located problems."""
    with config_file(text) as path:
        assert_refused_with_locations(path)


def alias_bomb() -> str:
    text, previous = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n', "a"
    for name in "bcdefghi":
        text += f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]\n"
        previous = name
    return text


def with_value(key: str, value: str) -> str:
    """BASE with the first `key: ...` line given `value`."""
    return re.sub(rf"(?m)^(\s*{key}): .*$", lambda m: f"{m.group(1)}: {value}", BASE, count=1)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (alias_bomb(), "more than 100000 values through its aliases"),
        (with_value("every", "99999999999999d"), "longer than 3650 days"),
        (with_value("every", "-.inf"), "-inf is not a duration"),
        (with_value("every", "-5"), "cannot be negative"),
        (with_value("every", "0"), "at least 1s"),
        (with_value("timeout", "0s"), "longer than 0"),
        (with_value("sla", "{preparing: [0s]}"), "longer than 0"),
        ("a: " + "[" * 1000 + "]" * 1000 + "\n", "nested more than 40 levels"),
        ("".join("  " * i + f"k{i}:\n" for i in range(1000)), "nested more than 40 levels"),
        (BASE.replace("server:", "serv\x00er:"), "control character (#x0000)"),
        (with_value("log", '{file: "a\\0b"}'), "NUL character"),
        (with_value("server", '{listen: "\\ud800"}'), "lone surrogate"),
        (BASE.replace("'SO-{0:0>6}'", "'SO-{0.real}'"), "only the id can be formatted"),
        (BASE.replace("'SO-{0:0>6}'", "'SO-{0:s}'"), "numeric id"),
        (with_value("log", "{file: /}"), "names a folder"),
        (BASE.replace("  erp:", "  " + "e" * 65 + ":"), "at most 64 long"),
    ],
)
def test_hostile_files_are_refused_with_a_located_problem(text: str, words: str) -> None:
    """Each file that crashed, hung or passed wrongly is refused with exit 2 and a located problem
    saying what is wrong."""
    with config_file(text) as path:
        assert assert_refused_with_locations(path) == 2
        assert words in "\n".join(outcome(path)[1])


def test_a_log_file_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    """`log.file` naming an existing folder is a located problem, not an IsADirectoryError in `run`."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "orderbridge.yaml").write_text(with_value("log", "{file: logs}"), encoding="utf-8")
    code, lines = outcome(tmp_path / "orderbridge.yaml")
    assert code == 2 and lines[1].endswith("log.file: is a folder; name a file in it, e.g. orderbridge.log")


def test_a_non_utf8_file_is_refused_at_its_line() -> None:
    """A byte that is not UTF-8 is reported at its line."""
    with config_file(BASE.encode() + b"x: \xff\n") as path:
        code, lines = outcome(path)
    assert code == 2 and re.match(r".*orderbridge\.yaml:\d+: not UTF-8", lines[1])
