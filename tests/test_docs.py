"""The documentation says what the program does: settings tables generated from the models and current,
every setting described, the topics users look for covered, examples that really parse, links that
resolve, and every command's exit codes listed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orderbridge.config.loader import config_json_schema
from orderbridge.config.reference import COMMAND, PAGES, update
from orderbridge.connectors.base import FieldMap
from orderbridge.connectors.registry import REGISTRY
from orderbridge.mapping.timeparse import TimestampError, parse_timestamp
from orderbridge.reconciler.rules import RULE_NAMES
from orderbridge.scheduler.cli import app
from orderbridge.scheduler.commandline import ExitCode

ROOT = Path(__file__).resolve().parents[1]
GENERATED = [ROOT / page for page in PAGES]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), ROOT / "bench" / "README.md"]


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("page", GENERATED, ids=lambda p: p.name)
def test_generated_settings_tables_are_current(page: Path) -> None:
    """The settings tables are what the models say now; when a setting changes, this fails and says
    which command regenerates them."""
    written = text(page)
    assert "<!-- settings:" in written
    assert update(written) == written, f"{page.relative_to(ROOT)} is out of date: run {COMMAND}"


def _properties(schema: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(schema, dict):
        for name, prop in schema.get("properties", {}).items():
            yield f"{where}.{name}", prop
            yield from _properties(prop, f"{where}.{name}")
        for key in ("items", "additionalProperties"):
            yield from _properties(schema.get(key), where)
        for key in ("anyOf", "oneOf", "allOf"):
            for member in schema.get(key, []):
                yield from _properties(member, where)


def test_every_setting_in_the_schema_has_a_description() -> None:
    """`orderbridge schema` describes every setting, so an editor can explain each key: a setting
    added without `description=` fails here, named."""
    schema = config_json_schema()
    settings = list(_properties(schema, "config"))
    for name, definition in schema["$defs"].items():
        settings.extend(_properties(definition, name))
    assert len(settings) > 100
    undescribed = [name for name, prop in settings if not prop.get("description")]
    assert undescribed == []


def test_every_connector_type_has_its_settings_table() -> None:
    """A connector type added to the registry has its generated settings table in the docs."""
    page = "".join(text(p) for p in GENERATED)
    missing = [name for name in REGISTRY if f"<!-- settings: system:{name} -->" not in page]
    assert missing == [], f"add <!-- settings: system:TYPE --> blocks for {missing}, then run {COMMAND}"


@pytest.mark.parametrize(
    "topic",
    [
        "`header_row`",
        "`sheet`",
        "`encoding`",
        "`delimiter`",
        "## Dates",
        "date_order",
        "2025年3月1日",
        "上午",
        "'*'",
        "{empty: true}",
        "ignore",
        "## How a record's id is formed",
        "## Rows deleted, files gone",
        "A status column covering two dimensions",
    ],
)
def test_the_spreadsheet_page_covers(topic: str) -> None:
    """What people ask about spreadsheets is answered on its page."""
    assert topic in text(ROOT / "docs" / "connectors" / "spreadsheet.md")


def test_the_spreadsheet_page_names_every_canonical_field() -> None:
    """Each canonical field a column can feed is named on the spreadsheet page."""
    page = text(ROOT / "docs" / "connectors" / "spreadsheet.md")
    assert [name for name in FieldMap.model_fields if f"`fields.{name}`" not in page] == []


@pytest.mark.parametrize(
    "topic", ["`headers`", "`timeout`", "`method`", "max_pages", "`api_key.query`", "query: access_token"]
)
def test_the_configuration_page_covers(topic: str) -> None:
    """The REST settings people look for are explained, not only listed."""
    assert topic in text(GENERATED[0])


def _date_examples() -> list[str]:
    section = (
        text(ROOT / "docs" / "connectors" / "spreadsheet.md").split("## Dates", 1)[1].split("\n## ", 1)[0]
    )
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [example for row in rows for example in re.findall(r"`([^`]+)`", row.split("|")[1])]


@pytest.mark.parametrize("example", _date_examples())
def test_every_documented_date_form_is_read(example: str) -> None:
    """Each date the spreadsheet page says is read, is read (a number stands for an Excel serial)."""
    value: object = float(example) if re.fullmatch(r"[\d.]+", example) and "." in example else example
    assert parse_timestamp(value) is not None


def test_the_documented_refusal_of_an_ambiguous_date_is_the_real_one() -> None:
    """The message the page quotes for 3/1/2025 is the one a user gets."""
    with pytest.raises(TimestampError) as refused:
        parse_timestamp("3/1/2025")
    assert f"`{refused.value}`" in text(ROOT / "docs" / "connectors" / "spreadsheet.md")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_and_named_pages_exist(page: Path) -> None:
    """Every relative link, and every page named in the text, exists (no design.md that is not there)."""
    body = text(page)
    targets = [t.split("#")[0] for t in re.findall(r"\]\(([^)]+)\)", body) if "://" not in t]
    named = re.findall(r"(?<![\w/.(-])([\w./-]+\.md)\b", body)
    for target in [t for t in targets + named if t and not t.startswith("/")]:
        candidates = [page.parent / target, ROOT / target]
        assert any(c.exists() for c in candidates), (
            f"{page.relative_to(ROOT)} names {target}, which does not exist"
        )


def test_the_readme_rule_table_lists_exactly_the_reconcilers_rules() -> None:
    """The README's table of rules is the reconciler's registry, no more, no fewer."""
    readme = text(ROOT / "README.md")
    table = readme.split("| rule | fires when | example |", 1)[1].split("\n\n", 1)[0]
    cells = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    assert {name for cell in cells for name in re.findall(r"`(\w+)`", cell)} == set(RULE_NAMES)


def test_every_command_has_its_exit_codes_documented() -> None:
    """docs/cli.md lists each command's exit codes, and every code the commands use."""
    page = text(ROOT / "docs" / "cli.md")
    table = page.split("| command | 0 | 1 | 2 | 3 | 4 |", 1)[1].split("\n\n", 1)[0]
    documented = set(re.findall(r"^\| `([\w-]+)` \|", table, flags=re.MULTILINE))
    commands = {
        c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands if c.callback
    }
    assert commands - documented == set(), "add their rows to the exit codes table in docs/cli.md"
    for code in ExitCode:
        assert f"| {code.value} |" in page
