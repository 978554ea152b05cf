"""Fixtures of the web page tests: the demo's pipeline run once (its database and config), and its
app served by uvicorn on a real socket, optionally with other `server` settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from rich.console import Console
from serving import served
from web_client import Serve

from orderbridge.config.loader import LoadedConfig, load_config
from orderbridge.scheduler.demo import run_demo
from orderbridge.scheduler.http import Metrics, create_app, web_pages
from orderbridge.scheduler.webhooks import Webhooks
from orderbridge.storage.db import Store


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> LoadedConfig:
    """The demo's configuration, after the demo ran its pipeline into its database."""
    directory = tmp_path_factory.mktemp("web-demo")
    with open(directory / "out.txt", "w", encoding="utf-8") as out:
        assert run_demo(directory, console=Console(file=out)) == 0
    return load_config(directory / "orderbridge.yaml")


@contextmanager
def demo_site(demo: LoadedConfig, **overrides: Any) -> Iterator[str]:
    """The demo's app with its web pages on a real socket; `overrides` replace settings of the
    config's `server` section (a `track` dict updates that part)."""
    config = demo.config
    track = overrides.pop("track", None)
    server = config.server.model_copy(update=overrides)
    if track is not None:
        server = server.model_copy(update={"track": server.track.model_copy(update=track)})
    config = config.model_copy(update={"server": server})
    store = Store(config.store.url, demo.base_dir)
    ready = lambda: {"store": True}  # noqa: E731
    pushes = Webhooks(store, config.systems, Metrics())  # not started: nothing is processed
    app = create_app(
        store,
        Metrics(),
        ready,
        systems=config.systems,
        mounted=pushes.routes(),
        web=web_pages(config, store),
    )
    try:
        with served(app) as url:
            yield url
    finally:
        store.close()


@pytest.fixture
def serve_web(demo: LoadedConfig) -> Serve:
    """`with serve_web(**server_overrides) as base_url:` serves the demo's app with its web pages."""
    return lambda **overrides: demo_site(demo, **overrides)
