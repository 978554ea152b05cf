"""Connectors: the contract every source system implements, the registry, and one package per kind."""
