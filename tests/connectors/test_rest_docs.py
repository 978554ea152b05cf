"""docs/connectors/rest.md documents every HTTP-layer setting: each field of the auth styles, the
response checks, retry, budget and the shared HTTP settings is named on the page, so a new setting
cannot ship undocumented."""

from __future__ import annotations

import typing
from pathlib import Path

from pydantic import BaseModel

from orderbridge.connectors.auth import AUTH_STYLES
from orderbridge.connectors.auth_settings import BodyMatch, TokenPlacement, TokenSource
from orderbridge.connectors.base import SystemSettings
from orderbridge.connectors.budget import BudgetSettings
from orderbridge.connectors.http_settings import HttpSystemSettings, RetrySettings
from orderbridge.connectors.responses import CHECKS, CheckSettings

PAGE = Path(__file__).parents[2] / "docs" / "connectors" / "rest.md"


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
