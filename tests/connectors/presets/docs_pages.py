"""A preset's docs page as a new user reads it: its configurations (`systems:` YAML blocks) load as
written, in at most fifteen lines, with every credential from the environment."""

from __future__ import annotations

import re
from pathlib import Path

from orderbridge.config.loader import parse_config
from orderbridge.config.models import OrderbridgeConfig
from orderbridge.connectors.base import SystemSettings

DOCS = Path(__file__).parents[3] / "docs" / "connectors"


def loaded_examples(page: str, secrets: set[str]) -> list[SystemSettings]:
    """Each complete configuration of `page`, loaded; asserts the page's promises about them."""
    path = DOCS / page
    found = [
        block
        for block in re.findall(r"```yaml\n(.*?)```", path.read_text(encoding="utf-8"), re.S)
        if block.startswith("systems:")
    ]
    assert found, f"{page} shows no complete configuration"
    loaded = []
    for example in found:
        assert len(example.strip().splitlines()) <= 15, example
        names = set(re.findall(r"\$\{(\w+)\}", example))
        config = parse_config(example, path.name, environ={n: f"from-env-{n.lower()}" for n in names})
        (system,) = config.systems.values()
        given = {s for s in secrets if s in system.model_fields_set}
        assert given, f"no credential in {example}"
        assert all(getattr(system, s).get_secret_value().startswith("from-env-") for s in given)
        loaded.append(system)
    return loaded


def page_configuration(page: str) -> OrderbridgeConfig:
    text = (DOCS / page).read_text(encoding="utf-8")
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert len(example.strip().splitlines()) <= 15, f"{page}: the configuration is longer than 15 lines"
    names = set(re.findall(r"\$\{(\w+)\}", example))
    return parse_config(example, page, environ={name: f"{name.lower()}-value" for name in names})
