"""The daemon's start-up heap is frozen, and what it makes afterwards is still collected: reference
cycles made after the freeze are freed by the automatic collector, without anyone asking for it, so a
long-running daemon's memory stays bounded."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from orderbridge.scheduler.heap import freeze_startup


class Cycle:
    def __init__(self) -> None:
        self.me = self  # garbage only the cyclic collector can free


@pytest.fixture
def frozen() -> Iterator[None]:
    freeze_startup()
    try:
        yield
    finally:
        gc.unfreeze()


def test_the_start_up_heap_leaves_the_collected_generations(frozen: None) -> None:
    assert gc.get_freeze_count() > 0
    assert gc.isenabled()
    # What is tracked now is only what was made after the freeze: a few objects, not the modules.
    assert len(gc.get_objects()) < gc.get_freeze_count() / 10


def test_cycles_made_after_the_freeze_are_collected_automatically(frozen: None) -> None:
    alive: weakref.WeakSet[Cycle] = weakref.WeakSet()
    made = 0
    tracked = []
    for _ in range(200):  # like pages of a long sync, each leaving its cycles behind
        for _ in range(1000):
            alive.add(Cycle())
            made += 1
        tracked.append(len(gc.get_objects()))
    # No gc.collect() above: the automatic collector freed most of them as they were made (a full
    # collection comes every ~70,000 allocations), so the garbage left is bounded, not all 200,000.
    assert len(alive) < made / 2
    # and the tracked objects do not grow with the pages: the last pages hold no more than the first.
    assert max(tracked[-50:]) <= max(tracked[:100]) * 1.5
