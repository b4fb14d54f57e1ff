"""`GroupConfig` to and from its Redis hash: one field per setting, each a JSON value, plus the
gate fields ``push_release.lua`` reads (`keys.GroupGateFields`). Only `core.groups.store`
writes the hash; nothing else decodes it."""

from __future__ import annotations

import json
from typing import Any

from core.groups.models import GroupConfig
from core.store.keys import GroupGateFields as G

# A group's "session" never lapses by time: far beyond any clock (Lua reads it as a number).
GATE_EXPIRES = 1e18
_FIELDS = tuple(n for n in GroupConfig.model_fields if n not in ("chat_id", "alerts_sent"))


def encode(config: GroupConfig) -> dict[str, str]:
    """Every field of the hash but the release's counter."""
    dumped: dict[str, Any] = config.model_dump(mode="json")
    out = {name: json.dumps(_sorted(dumped[name]), separators=(",", ":")) for name in _FIELDS}
    live = config.receives_pushes
    out[G.STATE] = "active" if live else "paused"
    out[G.EXPIRES] = repr(GATE_EXPIRES)
    out[G.PUSH] = "1" if live else "0"
    return out


def decode(chat_id: int, raw: dict[str, str]) -> GroupConfig | None:
    """The config of a hash (None: the chat is unknown)."""
    if not raw:
        return None
    values: dict[str, Any] = {n: json.loads(raw[n]) for n in _FIELDS if n in raw}
    values["alerts_sent"] = int(raw.get(G.OPPORTUNITIES) or 0)
    return GroupConfig(chat_id=chat_id, **values)


def _sorted(value: Any) -> Any:
    # Sets dump as lists in arbitrary order; sorted, equal configs encode equally.
    return (
        sorted(value)
        if isinstance(value, list) and all(isinstance(v, str) for v in value)
        else value
    )
