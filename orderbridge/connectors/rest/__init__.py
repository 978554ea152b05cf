"""Declarative REST connector: an HTTP/JSON API described entirely in YAML."""
