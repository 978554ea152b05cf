"""The one explicit registry of connector types: `type:` in a system block picks the entry.

Settings models are imported eagerly (config validation needs them); connector classes lazily, so
checking a config does not import every client library."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from orderbridge.connectors.base import Connector, ConnectorContext, SystemSettings
from orderbridge.connectors.rest.settings import RestSettings
from orderbridge.connectors.spreadsheet.settings import SpreadsheetSettings


@dataclass(frozen=True)
class ConnectorType:
    name: str
    settings: type[SystemSettings]
    implementation: str  # "module:Class"
    summary: str

    def connector_class(self) -> type[Connector]:
        module_name, _, class_name = self.implementation.partition(":")
        cls: type[Connector] = getattr(importlib.import_module(module_name), class_name)
        return cls


REGISTRY: dict[str, ConnectorType] = {
    entry.name: entry
    for entry in (
        ConnectorType(
            "rest",
            RestSettings,
            "orderbridge.connectors.rest.connector:RestConnector",
            "Declarative HTTP/JSON API described in YAML",
        ),
        ConnectorType(
            "spreadsheet",
            SpreadsheetSettings,
            "orderbridge.connectors.spreadsheet.connector:SpreadsheetConnector",
            "CSV and XLSX files, one file or a glob",
        ),
    )
}


class UnknownConnectorType(KeyError):
    pass


def lookup(type_name: str) -> ConnectorType:
    try:
        return REGISTRY[type_name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise UnknownConnectorType(f"unknown connector type {type_name!r}; known types: {known}") from None


def create(name: str, settings: SystemSettings, context: ConnectorContext | None = None) -> Connector:
    return lookup(settings.type).connector_class()(name, settings, context)
