"""docs/connectors/rest.md cannot drift from the settings: every listing, paging, cursor and child
setting is documented there, and every configuration it shows is accepted as it is written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from orderbridge.config.loader import parse_config
from orderbridge.connectors import cursors, paging
from orderbridge.connectors.rest.settings import ChildSettings, ListSettings, RestPollSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "connectors" / "rest.md"
TEXT = DOC.read_text(encoding="utf-8")
MODELS: list[type[BaseModel]] = [
    ListSettings,
    ChildSettings,
    paging.PastEnd,
    *(cls.settings_model for cls in paging.REGISTRY.values()),
    *(cls.settings_model for cls in cursors.REGISTRY.values()),
]
EXAMPLES = [block for block in re.findall(r"```yaml\n(.*?)```", TEXT, re.S) if block.startswith("systems:")]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_setting_is_documented(model: type[BaseModel]) -> None:
    """Each field of the listing models appears, as `name`, on the page."""
    missing = [name for name in model.model_fields if f"`{name}`" not in TEXT]
    assert not missing, f"{model.__name__}: not documented in {DOC.name}: {missing}"


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
    config = parse_config(example, DOC.name, environ={name: "value-from-env" for name in names})
    assert config.systems
    assert len(EXAMPLES) >= 6
