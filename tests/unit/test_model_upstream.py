"""The proxy benchmarks' model API: with `preempt` it serves an interactive request between a
batch's docs, as the real API's priority turns do, without ever exceeding its slots."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from model_upstream import ModelUpstream


async def _batch_then_interactive(preempt: bool) -> tuple[list[str], ModelUpstream, float]:
    model = ModelUpstream(slots=1, base=0.0, per_doc=0.01, preempt=preempt)
    order: list[str] = []
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def batch() -> None:
        await model.serve(30)  # 300 ms of docs on the only slot
        order.append("batch")

    async def interactive() -> None:
        await asyncio.sleep(0.05)
        await model.serve(1, interactive=True)
        order.append("interactive")

    await asyncio.gather(batch(), interactive())
    return order, model, loop.time() - start


@pytest.mark.parametrize(("preempt", "first"), [(True, "interactive"), (False, "batch")])
def test_interactive_goes_between_batch_docs_only_with_preempt(preempt: bool, first: str) -> None:
    order, model, elapsed = asyncio.run(_batch_then_interactive(preempt))
    assert order[0] == first
    stats = model.stats()
    assert stats["preemptions"] == (1 if preempt else 0)
    assert stats["in_service"] == 0 and stats["queued"] == 0
    # one slot: busy time never exceeds wall time, and both requests' work was done on it
    assert 0.30 <= stats["busy_seconds"] <= elapsed + 1e-3
