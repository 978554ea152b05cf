"""The configuration a preset's docs page shows, loaded as a user would (secrets from the environment),
after checking it fits in fifteen lines."""

from __future__ import annotations

import re
from pathlib import Path

from orderbridge.config.loader import parse_config
from orderbridge.config.models import OrderbridgeConfig

DOCS = Path(__file__).parents[3] / "docs" / "connectors"


def page_configuration(page: str) -> OrderbridgeConfig:
    text = (DOCS / page).read_text(encoding="utf-8")
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert len(example.strip().splitlines()) <= 15, f"{page}: the configuration is longer than 15 lines"
    names = set(re.findall(r"\$\{(\w+)\}", example))
    return parse_config(example, page, environ={name: f"{name.lower()}-value" for name in names})
