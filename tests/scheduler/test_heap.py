"""The daemon's collector: its start-up heap frozen, its young threshold raised, and what it makes
afterwards still collected: reference cycles made after start-up are freed by the automatic
collector, without anyone asking for it, so a long-running daemon's memory stays bounded."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from orderbridge.scheduler.heap import YOUNG_COLLECTION, prepare_collector


class Cycle:
    def __init__(self) -> None:
        self.me = self  # garbage only the cyclic collector can free


@pytest.fixture
def prepared() -> Iterator[None]:
    threshold = gc.get_threshold()
    prepare_collector()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def test_the_start_up_heap_leaves_the_collected_generations(prepared: None) -> None:
    assert gc.get_freeze_count() > 0
    assert gc.isenabled()
    assert gc.get_threshold()[0] == YOUNG_COLLECTION
    # What is tracked now is only what was made after the freeze: a few objects, not the modules.
    assert len(gc.get_objects()) < gc.get_freeze_count() / 10


def test_cycles_made_afterwards_are_collected_automatically(prepared: None) -> None:
    alive: weakref.WeakSet[Cycle] = weakref.WeakSet()
    made = 0
    tracked = []
    for _ in range(200):  # like pages of a long sync, each leaving its cycles behind
        for _ in range(1000):
            alive.add(Cycle())
            made += 1
        tracked.append(len(gc.get_objects()))
    # No gc.collect() above: the automatic collector freed them as they were made. What is left is
    # at most one threshold's worth of allocations (a cycle and its weak reference are two), not all
    # 200,000 of them.
    assert len(alive) <= YOUNG_COLLECTION
    # and the tracked objects do not grow with the rounds: the last ones hold no more than the first.
    assert max(tracked[-50:]) <= max(tracked[:100])
