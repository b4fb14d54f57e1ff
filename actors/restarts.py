"""Counting the restarts of actors: each restartable actor's constructor calls `note_restart`,
which bumps the actor's count in Redis when Ray reconstructed it after a death (a first start
is not counted). /metrics shows the counts as ``arbcast_actor_restarts_total``."""

from __future__ import annotations

import logging

import ray

from core.metrics.actor_restarts import record_restart

log = logging.getLogger(__name__)


def note_restart(redis_url: str) -> None:
    """Never raises: a count lost to a Redis blip must not stop the actor from starting."""
    if not ray.is_initialized():
        return  # a plain object in a test, not an actor
    ctx = ray.get_runtime_context()
    if ctx.get_actor_id() is None or not ctx.was_current_actor_reconstructed:
        return
    name = ctx.get_actor_name() or str(ctx.get_actor_id())
    try:
        count = record_restart(redis_url, name)
    except Exception as exc:
        log.warning("could not count the restart of actor %s: %s", name, exc)
        return
    log.warning("actor %s was restarted by Ray (restart %d)", name, count)
