"""The package layout's one-way dependencies (style guide): mapping is a leaf; storage builds on mapping;
connectors and the reconciler on mapping and storage; the web pages on those and notify (their words);
config on the settings models below it; the
daemon, CLI and demo (scheduler, demo) on everything, and nothing below imports them."""

from __future__ import annotations

import ast
from pathlib import Path

import orderbridge
from orderbridge.config.models import reference_problems
from orderbridge.reconciler.rules import RULE_NAMES

ROOT = Path(orderbridge.__file__).parent

# Package -> the packages of ours it may import. `config.types` (durations, secrets) and
# `config.errors` are value types every settings model uses, so they count as a leaf of their own.
ALLOWED: dict[str, set[str]] = {
    "mapping": set(),
    "config.types": set(),
    "storage": {"mapping"},
    "connectors": {"mapping", "storage", "config.types"},
    "reconciler": {"mapping", "storage", "config.types"},
    "notify": {"mapping", "storage", "reconciler", "config.types"},
    "web": {"mapping", "storage", "connectors", "reconciler", "notify", "config.types"},
    "config": {"mapping", "storage", "connectors", "reconciler", "notify", "web", "config.types"},
    "demo": {"mapping", "storage", "connectors", "reconciler", "notify", "web", "config", "config.types"},
    "scheduler": {
        "mapping",
        "storage",
        "connectors",
        "reconciler",
        "notify",
        "web",
        "config",
        "config.types",
        "demo",
    },
}


def layer(module: str) -> str | None:
    """The layer a dotted module name of ours belongs to (`orderbridge.config.types` -> config.types)."""
    parts = module.split(".")
    if parts[0] != "orderbridge" or len(parts) < 2:
        return None
    if parts[1] == "config" and len(parts) > 2 and parts[2] in ("types", "errors"):
        return "config.types"
    return parts[1] if parts[1] in ALLOWED else None


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_imports_point_one_way() -> None:
    """No module imports a layer above its own (a reversed import fails here, naming the file)."""
    wrong = []
    for path in sorted(ROOT.rglob("*.py")):
        module = ".".join(("orderbridge", *path.relative_to(ROOT).with_suffix("").parts))
        own = layer(module)
        if own is None:
            continue
        for imported in imports_of(path):
            target = layer(imported)
            if target is None or target == own or target in ALLOWED[own]:
                continue
            # `from orderbridge import config` style: the package name alone says nothing of a layer
            if imported.count(".") == 1 and imported.split(".")[1] not in ALLOWED:
                continue
            wrong.append(f"{path.relative_to(ROOT.parent)}: {own} imports {imported} ({target})")
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_config_accepts_exactly_the_reconcilers_rule_names() -> None:
    """`reconcile.rules` accepts every rule the reconciler has and nothing else: the config keeps no
    list of its own that could drift."""
    accepted = [name for name in RULE_NAMES if not reference_problems([], {"rules": [name]})]
    assert accepted == list(RULE_NAMES)
    assert reference_problems([], {"rules": ["status_lagg"]})
