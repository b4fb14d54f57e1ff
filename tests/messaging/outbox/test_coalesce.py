"""The coalescer: concurrent calls share one batch, each caller gets its own result or error."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from messaging.outbox.coalesce import Coalescer


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate: asyncio.Event | None = None
        self.fail: Exception | None = None
        self.started = asyncio.Event()

    async def __call__(self, items: Sequence[int]) -> list[int]:
        self.batches.append(list(items))
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return [i * 10 for i in items]


async def test_calls_of_one_turn_share_a_batch_and_get_their_own_results() -> None:
    run = Recorder()
    c: Coalescer[int, int] = Coalescer(run)
    assert await asyncio.gather(*(c(i) for i in range(5))) == [0, 10, 20, 30, 40]
    assert run.batches == [[0, 1, 2, 3, 4]]
    assert (c.calls, c.batches) == (5, 1)


async def test_calls_made_while_a_batch_is_in_flight_form_the_next_batch() -> None:
    run = Recorder()
    run.gate = asyncio.Event()
    c: Coalescer[int, int] = Coalescer(run)
    first = [asyncio.create_task(c(i)) for i in range(2)]
    await run.started.wait()
    later = [asyncio.create_task(c(i)) for i in range(2, 5)]
    await asyncio.sleep(0)
    run.gate.set()
    assert await asyncio.gather(*first, *later) == [0, 10, 20, 30, 40]
    assert run.batches == [[0, 1], [2, 3, 4]]


async def test_max_batch_splits_a_large_turn() -> None:
    run = Recorder()
    c: Coalescer[int, int] = Coalescer(run, max_batch=2)
    assert await asyncio.gather(*(c(i) for i in range(5))) == [0, 10, 20, 30, 40]
    assert run.batches == [[0, 1], [2, 3], [4]]


async def test_a_failing_batch_raises_in_each_of_its_callers_and_the_next_one_works() -> None:
    run = Recorder()
    run.fail = ConnectionError("redis went away")
    c: Coalescer[int, int] = Coalescer(run)
    results = await asyncio.gather(*(c(i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    run.fail = None
    assert await c(7) == 70


async def test_a_cancelled_caller_is_left_out_and_others_still_get_results() -> None:
    run = Recorder()
    c: Coalescer[int, int] = Coalescer(run)
    gone = asyncio.create_task(c(1))
    kept = asyncio.create_task(c(2))
    await asyncio.sleep(0)  # both queued, flusher not run yet
    gone.cancel()
    assert await kept == 20
    assert run.batches == [[2]]
    with pytest.raises(asyncio.CancelledError):
        await gone


async def test_closing_cancels_the_callers_waiting_on_a_batch_in_flight() -> None:
    run = Recorder()
    run.gate = asyncio.Event()  # never set: the batch hangs
    c: Coalescer[int, int] = Coalescer(run)
    waiting = asyncio.create_task(c(1))
    await run.started.wait()
    await c.close()
    with pytest.raises(asyncio.CancelledError):
        await waiting


async def test_a_wrong_number_of_results_is_an_error_for_every_caller() -> None:
    async def short(items: Sequence[int]) -> list[int]:
        return [1]

    c: Coalescer[int, int] = Coalescer(short)
    results = await asyncio.gather(c(1), c(2), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
