"""The cyclic garbage collector, set for a daemon that ingests pages of records.

What start-up builds (the modules, their classes, the validators pydantic compiles, the configuration,
the store's engine) lives as long as the process. Every full collection walked all of it and found
nothing to free: while a sync ingested, that was most of the collector's cost, more than a tenth of
ingest's CPU. It is frozen, and no longer walked.

A page being ingested holds its records' objects (the native records, their models, the rows) until
its transaction commits: 13,000 tracked objects for 1,000 records once mapped, more while their rows
are written. With the standard threshold
(a young collection every 700 allocations more than deallocations) the collector walked them dozens
of times a page, only to find them alive; with YOUNG_COLLECTION above a page's peak, they are mostly
freed by reference counting before a collection comes.

Memory stays bounded: the collector stays on. Garbage in cycles made after start-up waits for at most
YOUNG_COLLECTION allocations before a young collection frees it (and older cycles for the full
collections, which come as before, by the same rule); a frozen object is still freed by reference
counting, only a cycle among start-up objects that became garbage later would be kept, and that set
is fixed at start-up."""

from __future__ import annotations

import gc

YOUNG_COLLECTION = 20_000  # allocations beyond deallocations that start a young collection


def prepare_collector() -> None:
    """Collect what start-up left as garbage, move every object alive now into the collector's
    permanent generation, and raise the young generation's threshold. Call it once, when start-up is
    done and before the work begins."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION, middle, old)
