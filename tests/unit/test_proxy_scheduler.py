"""The capacity scheduler on a fake clock: interactive first, reserve, fair batch turns, bounds."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from _fakes import FakeClock

from proxy._config import CapacityConfig, ClientConfig
from proxy._scheduler import ClientState, Refused, Scheduler


def client(name: str, klass: str = "batch", **fields: Any) -> ClientState:
    base: dict[str, Any] = {"rate": 1000, "burst": 10, "max_in_flight": 100, "queue_cap": 100}
    return ClientState(ClientConfig(name=name, key="k" * 16 + name, klass=klass, **base | fields))


def scheduler(max_in_flight: int, reserved: float, clock: FakeClock) -> Scheduler:
    capacity = CapacityConfig(max_in_flight=max_in_flight, interactive_reserved=reserved)
    return Scheduler(capacity, clock=clock, lend_after=1.0)


FAR = 1e9


async def pending(s: Scheduler, c: ClientState, deadline: float = FAR) -> asyncio.Task[None]:
    """Start an acquire that has to wait; return its task once it is queued."""
    task = asyncio.create_task(s.acquire(c, deadline))
    await asyncio.sleep(0)
    assert not task.done(), "expected to wait"
    return task


def test_batch_leaves_the_reserve_to_interactive_then_borrows_it_when_quiet() -> None:
    async def main() -> None:
        clock = FakeClock()
        s = scheduler(4, 0.25, clock)
        web, job = client("web", "interactive"), client("job")
        await s.acquire(web, FAR)
        s.release(web)
        for _ in range(3):
            await s.acquire(job, FAR)
        fourth = await pending(s, job)
        await s.acquire(web, FAR)  # the reserved slot is free for interactive at once
        assert s.in_flight == {"interactive": 1, "batch": 3}
        s.release(web)
        clock.now += 2.0  # interactive quiet for longer than lend_after: reserve is lent
        s.release(job)
        await asyncio.wait_for(fourth, 1)
        await s.acquire(job, FAR)
        assert s.in_flight == {"interactive": 0, "batch": 4}

    asyncio.run(main())


def test_a_freed_slot_goes_to_the_interactive_waiter_before_earlier_batch_ones() -> None:
    async def main() -> None:
        s = scheduler(2, 0.0, FakeClock())
        web, job = client("web", "interactive"), client("job")
        await s.acquire(job, FAR)
        await s.acquire(job, FAR)
        batch_waiter = await pending(s, job)
        web_waiter = await pending(s, web)
        s.release(job)
        assert (web.in_flight, job.in_flight) == (1, 1), "the slot went to the interactive one"
        await asyncio.wait_for(web_waiter, 1)
        assert not batch_waiter.done()
        s.release(job)
        await asyncio.wait_for(batch_waiter, 1)

    asyncio.run(main())


def test_batch_clients_take_turns_whatever_their_queue_lengths() -> None:
    async def main() -> list[str]:
        s = scheduler(1, 0.0, FakeClock())
        big, small = client("big"), client("small")
        await s.acquire(big, FAR)
        order: list[str] = []

        async def one(c: ClientState) -> None:
            await s.acquire(c, FAR)
            order.append(c.name)

        tasks = [asyncio.create_task(one(big)) for _ in range(6)]
        await asyncio.sleep(0)
        tasks += [asyncio.create_task(one(small)) for _ in range(3)]
        await asyncio.sleep(0)
        for _ in range(9):
            s.release(big if not order else s_last(order, big, small))
            await asyncio.sleep(0)
        await asyncio.gather(*tasks)
        return order

    def s_last(order: list[str], big: ClientState, small: ClientState) -> ClientState:
        return big if order[-1] == "big" else small

    order = asyncio.run(main())
    assert order[:6] == ["big", "small", "big", "small", "big", "small"]
    assert order[6:] == ["big"] * 3


def test_per_client_in_flight_cap_lets_another_client_use_the_slot() -> None:
    async def main() -> None:
        s = scheduler(4, 0.0, FakeClock())
        capped, other = client("capped", max_in_flight=1), client("other")
        await s.acquire(capped, FAR)
        waiting = await pending(s, capped)
        await s.acquire(other, FAR)  # capacity is free: the cap is per client
        s.release(capped)
        await asyncio.wait_for(waiting, 1)
        assert capped.in_flight == 1

    asyncio.run(main())


def test_full_queue_and_hopeless_deadline_are_refused_at_once_with_the_predicted_wait() -> None:
    async def main() -> None:
        clock = FakeClock()
        s = scheduler(1, 0.0, clock)
        job = client("job", queue_cap=2)
        await s.acquire(job, FAR)
        s.release(job, service_time=2.0)  # teaches the scheduler: batch requests take ~0.2 s
        await s.acquire(job, FAR)
        waiters = [await pending(s, job), await pending(s, job)]
        with pytest.raises(Refused) as full:
            await s.acquire(job, FAR)
        assert (full.value.status, full.value.reason) == (429, "queue_full")
        other = client("other")
        with pytest.raises(Refused) as late:
            await s.acquire(other, clock.now + 0.01)
        assert late.value.reason == "deadline"
        assert late.value.retry_after == pytest.approx(s.predict_wait(other))
        assert late.value.retry_after > 0.01
        for w in waiters:
            w.cancel()

    asyncio.run(main())


def test_a_waiter_past_its_deadline_leaves_the_queue_and_the_next_one_gets_the_slot() -> None:
    async def main() -> None:
        clock = FakeClock()
        s = scheduler(1, 0.0, clock)
        a, b = client("a"), client("b")
        await s.acquire(a, FAR)
        s._service["batch"] = 0.001
        with pytest.raises(Refused) as exc:
            await s.acquire(b, clock.now + 0.05)  # real 50 ms pass, nothing frees
        assert exc.value.reason == "deadline"
        assert not b.queue
        cancelled = await pending(s, b)
        cancelled.cancel()
        await asyncio.sleep(0)
        later = await pending(s, a)
        s.release(a)
        await asyncio.wait_for(later, 1)
        assert s.in_flight["batch"] == 1

    asyncio.run(main())


def test_two_saturating_batch_clients_ten_times_apart_get_equal_shares() -> None:
    """Closed loops of 4 and 40 workers, each request holding its slot 2 ms."""

    async def main() -> dict[str, int]:
        s = scheduler(8, 0.25, FakeClock())
        a, b = client("a"), client("b")
        done = {"a": 0, "b": 0}
        stop = asyncio.Event()

        async def worker(c: ClientState) -> None:
            while not stop.is_set():
                await s.acquire(c, FAR)
                try:
                    await asyncio.sleep(0.002)
                finally:
                    s.release(c)
                done[c.name] += 1

        tasks = [asyncio.create_task(worker(a)) for _ in range(4)]
        tasks += [asyncio.create_task(worker(b)) for _ in range(40)]
        await asyncio.sleep(0.6)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        return done

    done = asyncio.run(main())
    x = list(done.values())
    jain = sum(x) ** 2 / (len(x) * sum(v * v for v in x))
    assert jain >= 0.95, done


def test_try_take_never_waits_and_respects_the_same_rules() -> None:
    s = scheduler(2, 0.0, FakeClock())
    job = client("job", max_in_flight=1)
    assert s.try_take(job)
    assert not s.try_take(job), "the client's own cap"
    other = client("other")
    assert s.try_take(other)
    assert not s.try_take(client("third")), "no capacity left"
    s.release(job)
    assert s.in_flight == {"interactive": 0, "batch": 1}
