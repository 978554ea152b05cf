"""A preset's docs page as a new user reads it: its complete configurations (`systems:` YAML blocks)
must load as written, in at most 15 lines, with every credential from the environment."""

from __future__ import annotations

import re
from pathlib import Path

from orderbridge.config.loader import parse_config
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
