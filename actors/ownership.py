"""Which named actors this process created, as opposed to found running.

Only the creator kills an actor, and only on a full stop (`kill_created`); a process that found
it running leaves it to the others that use it. Handles are kept: a name lookup right after
creation may not see the actor registered yet. A typed client that kills its actor directly
(`ActorClient.kill`) forgets it here too, so the record never names a dead actor.

Detached actors (`ray.detached`, under `arbcast run --workers N`) are not recorded: they are the
deployment's, not one worker's, and only its full stop ends them (`factory.kill_namespace`).
"""

from __future__ import annotations

import logging
from typing import Any

import ray

log = logging.getLogger(__name__)

_CREATED: dict[tuple[str, str], Any] = {}


def remember(namespace: str, name: str, handle: Any) -> None:
    _CREATED[(namespace, name)] = handle


def forget(handle: Any) -> None:
    for key, h in list(_CREATED.items()):
        if h is handle or h._actor_id == getattr(handle, "_actor_id", None):
            del _CREATED[key]


def created_here(name: str, namespace: str) -> bool:
    return (namespace, name) in _CREATED


def kill_created(namespace: str, names: set[str] | None = None) -> list[str]:
    """Kill, for good, the actors this process created in `namespace` (only those in `names`,
    when given); returns their names."""
    killed = []
    for ns, name in sorted(_CREATED):
        if ns != namespace or (names is not None and name not in names):
            continue
        handle = _CREATED.pop((ns, name))
        try:
            ray.kill(handle, no_restart=True)
        except Exception as exc:  # Ray itself is going away: nothing left to kill
            log.warning("could not kill actor %s: %s", name, exc)
            continue
        killed.append(name)
    return killed
