"""docs/connectors/rest.md cannot drift from the settings: every HTTP-layer setting (auth styles,
response checks, retry, budget, the shared HTTP settings) and every listing, paging, cursor and child
setting is named on the page, and every complete configuration it shows is accepted as written."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from orderbridge.config.loader import parse_config
from orderbridge.connectors import cursors, paging, rows
from orderbridge.connectors.auth import AUTH_STYLES
from orderbridge.connectors.auth_settings import BodyMatch, TokenPlacement, TokenSource
from orderbridge.connectors.base import SystemSettings
from orderbridge.connectors.budget import BudgetSettings
from orderbridge.connectors.http_settings import HttpSystemSettings, RetrySettings
from orderbridge.connectors.responses import CHECKS, CheckSettings
from orderbridge.connectors.rest.settings import ChildSettings, ListSettings, RestPollSettings

PAGE = Path(__file__).parents[2] / "docs" / "connectors" / "rest.md"
TEXT = PAGE.read_text(encoding="utf-8")


def documented_models() -> list[type[BaseModel]]:
    checks = list(typing.get_args(typing.get_args(CheckSettings)[0]))
    styles = [entry.settings for entry in AUTH_STYLES.values()]
    return [*styles, *checks, TokenSource, TokenPlacement, BodyMatch, RetrySettings, BudgetSettings]


def test_every_http_setting_is_named_on_the_rest_page() -> None:
    """Each setting appears as `name` on the page, and each auth style and check as `type: name`."""
    text = PAGE.read_text(encoding="utf-8")
    missing = [
        f"{model.__name__}.{name}"
        for model in documented_models()
        for name in model.model_fields
        if name != "type" and f"`{name}`" not in text
    ]
    shared = set(HttpSystemSettings.model_fields) - set(SystemSettings.model_fields)
    missing += [f"HttpSystemSettings.{name}" for name in sorted(shared) if f"`{name}`" not in text]
    missing += [f"type: {name}" for name in AUTH_STYLES if f"`type: {name}`" not in text]
    missing += [f"type: {kind}" for kind in CHECKS if f"`type: {kind}`" not in text]
    assert missing == []


MODELS: list[type[BaseModel]] = [
    ListSettings,
    ChildSettings,
    paging.PastEnd,
    *(cls.settings_model for cls in paging.REGISTRY.values()),
    *(cls.settings_model for cls in cursors.REGISTRY.values()),
    *(cls.settings_model for cls in rows.REGISTRY.values()),
]
# Complete configurations: a `systems:` document that is not a sketch with `...` in it.
EXAMPLES = [
    block
    for block in re.findall(r"```yaml\n(.*?)```", TEXT, re.S)
    if block.startswith("systems:") and not re.search(r"^\s*\.\.\.\s*$", block, re.M)
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_setting_is_documented(model: type[BaseModel]) -> None:
    """Each field of the listing models appears, as `name`, on the page."""
    missing = [name for name in model.model_fields if f"`{name}`" not in TEXT]
    assert not missing, f"{model.__name__}: not documented in {PAGE.name}: {missing}"


def test_every_style_and_the_full_reread_are_documented() -> None:
    """Each registered paging style and cursor type has its section; `poll.full_every` is there."""
    for style in paging.REGISTRY:
        assert f"### `{style}`" in TEXT, style
    for kind in cursors.REGISTRY:
        assert f"### `{kind}`" in TEXT, kind
    assert "full_every" in RestPollSettings.model_fields and "`poll.full_every`" in TEXT


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.split("\n")[1].strip(" :"))
def test_every_example_configuration_is_accepted(example: str) -> None:
    """Every complete configuration on the page loads as written (secrets from the environment)."""
    names = set(re.findall(r"\$\{(\w+)\}", example))
    config = parse_config(example, PAGE.name, environ={name: "value-from-env" for name in names})
    assert config.systems
    assert len(EXAMPLES) >= 6
