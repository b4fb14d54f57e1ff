"""Assignments and exposures as events.

An exposure is a push (or a withheld Low push) decided under a running experiment's variant;
the first exposure of a user also records the assignment, once ever (a Redis set per
experiment remembers who was recorded, so restarts and other shards do not repeat it).
"""

from __future__ import annotations

from collections.abc import Iterable

from redis.asyncio import Redis

from core.event_names import EventName
from core.events import Emitter
from core.experiments.assignment import Assigned
from core.store import keys


async def record_exposures(
    redis: Redis, emit: Emitter, exposed: Iterable[tuple[int, Assigned, str]], now: float
) -> None:
    """`exposed`: (user, assignment, what: digest, single or withheld)."""
    rows = list(exposed)
    if not rows:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for uid, a, _what in rows:
            pipe.sadd(keys.experiment_assigned(a.experiment), uid)
        added = await pipe.execute()
    for (uid, a, _what), new in zip(rows, added, strict=True):
        if new:
            emit(
                EventName.EXPERIMENT_ASSIGNED,
                ts=now,
                user_id=uid,
                experiment=a.experiment,
                variant=a.variant.name,
            )
        emit(
            EventName.EXPERIMENT_EXPOSED,
            ts=now,
            user_id=uid,
            experiment=a.experiment,
            variant=a.variant.name,
        )


async def assigned_counts(redis: Redis, names: Iterable[str]) -> dict[str, int]:
    """Users recorded as assigned, per experiment (one pipeline)."""
    wanted = list(names)
    async with redis.pipeline(transaction=False) as pipe:
        for n in wanted:
            pipe.scard(keys.experiment_assigned(n))
        counts = await pipe.execute()
    return {n: int(c) for n, c in zip(wanted, counts, strict=True)}
