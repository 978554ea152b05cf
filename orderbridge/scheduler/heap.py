"""The daemon's start-up heap, kept out of the cyclic garbage collector's full collections.

What start-up builds (the modules, their classes, the validators pydantic compiles, the configuration,
the store's engine) lives as long as the process. Every full collection walks all of it and finds
nothing to free: while a sync ingests, that was most of the collector's cost, more than a tenth of
ingest's CPU. Frozen, it is no longer walked. Memory stays bounded: a frozen object is still freed by
reference counting, only a cycle among start-up objects that became garbage later would be kept, and
that set is fixed at start-up; everything made afterwards (pages, records, their cycles) is collected
as before, by the automatic collector."""

from __future__ import annotations

import gc


def freeze_startup() -> None:
    """Collect what start-up left as garbage, then move every object alive now into the collector's
    permanent generation. Call it once, when start-up is done and before the work begins."""
    gc.collect()
    gc.freeze()
