"""The ``groups`` report recomputed in plain Python over events (shares no code with
`analytics.groups_report`): the oracle its tests, and the end-to-end test, hold DuckDB to."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from core.events import Event


def _inside(e: Event, since: datetime | None, until: datetime | None) -> bool:
    lo = since.timestamp() if since else -math.inf
    return lo <= e.ts < (until.timestamp() if until else math.inf)


def groups(
    events: Iterable[Event], since: datetime | None = None, until: datetime | None = None
) -> list[tuple[Any, ...]]:
    rows: dict[int, dict[str, Any]] = defaultdict(
        lambda: {
            "kind": (-math.inf, None),
            "alerts": 0,
            "opps": 0,
            "presses": 0,
            "private": 0,
            "pointer": 0,
            "pressers": set(),
            "starts": 0,
            "new": 0,
        }
    )

    def kind(chat: int, e: Event) -> None:
        k = e.attrs.get("chat_kind")
        if k is not None and e.ts >= rows[chat]["kind"][0]:
            rows[chat]["kind"] = (e.ts, k)

    for e in events:
        if not _inside(e, since, until):
            continue
        a = e.attrs
        if e.name == "distribution.sent":
            items = a.get("items") or 0
            if e.user_id is None or e.user_id >= 0 or a.get("kind", "send") != "send" or not items:
                continue
            r = rows[e.user_id]
            r["alerts"] += 1
            r["opps"] += items
            kind(e.user_id, e)
        elif e.name == "groups.button" and a.get("chat_id") is not None:
            r = rows[a["chat_id"]]
            r["presses"] += 1
            r["private"] += a.get("answer") == "private"
            r["pointer"] += a.get("answer") == "pointer"
            r["pressers"].add(e.user_id)
            kind(a["chat_id"], e)
        elif e.name == "groups.deeplink_start" and a.get("chat_id") is not None:
            r = rows[a["chat_id"]]
            r["starts"] += 1
            r["new"] += a.get("action") == "started"
            kind(a["chat_id"], e)
    out = [
        (
            chat,
            r["kind"][1],
            r["alerts"],
            r["opps"],
            r["presses"],
            r["private"],
            r["pointer"],
            len(r["pressers"]),
            r["starts"],
            r["new"],
        )
        for chat, r in rows.items()
    ]
    return sorted(out, key=lambda row: (-row[2], row[0]))
