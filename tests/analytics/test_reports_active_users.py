"""Active users (DAU, WAU) of the sessions report over long, sparse histories.

The report counts them from per-user bit masks over blocks of 57 days (`analytics.reports`);
these tests span many blocks, with gaps longer than a week and activity on the days either side
of block edges, and compare every day with a direct count in Python.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from analytics.active_users import BLOCK as _BLOCK
from analytics.duck import connect
from analytics.reports import run_report
from analytics.sink import write_events
from analytics.storage import Storage
from core.events import Event
from tests.analytics.helpers import T0

DAY = 86_400.0
EPOCH = date(1970, 1, 1)


def sparse_history(seed: int, days: int = 240, users: int = 40) -> list[Event]:
    rnd = random.Random(seed)
    ev: list[Event] = []
    edge_days = [d for d in range(days) if (_day(T0 + d * DAY) - EPOCH).days % _BLOCK in (0, 56)]
    for uid in range(1, users + 1):
        active = {d for d in range(days) if rnd.random() < 0.06}
        active |= {d for d in edge_days if rnd.random() < 0.3}  # both sides of block edges
        for d in active:
            name = rnd.choice(["session.started", "audit.command", "session.expired"])
            ts = round(T0 + d * DAY + rnd.random() * (DAY - 1), 3)
            ev.append(Event(name=name, ts=ts, user_id=uid, attrs={}))
    ev.append(Event(name="session.started", ts=T0 + 5 * DAY, user_id=None, attrs={}))
    return ev


def _day(ts: float) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


def expected(
    events: list[Event], since: datetime | None, until: datetime | None
) -> dict[date, tuple[int, int]]:
    lo = since.timestamp() if since else float("-inf")
    hi = until.timestamp() if until else float("inf")
    seen: dict[date, set[int]] = defaultdict(set)  # within the window widened by 6 days
    inside: dict[date, set[int]] = defaultdict(set)
    for e in events:
        if e.user_id is None or not lo - 6 * DAY <= e.ts < hi:
            continue
        seen[_day(e.ts)].add(e.user_id)
        if e.ts >= lo:
            inside[_day(e.ts)].add(e.user_id)
    out = {}
    for d, users in inside.items():
        week = set().union(*(seen.get(d - timedelta(days=k), set()) for k in range(7)))
        out[d] = (len(users), len(week))
    return out


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize(
    ("since", "until"),
    [
        (None, None),
        (datetime.fromtimestamp(T0 + 50 * DAY + 7200, UTC), None),
        (
            datetime.fromtimestamp(T0 + 100 * DAY + 3600, UTC),
            datetime.fromtimestamp(T0 + 190 * DAY + 60, UTC),
        ),
    ],
)
def test_dau_and_wau_equal_a_direct_count_across_many_blocks(
    tmp_path: Path, seed: int, since: datetime | None, until: datetime | None
) -> None:
    """Every day's DAU and WAU match a direct count, whatever the window and block edges."""
    events = sparse_history(seed)
    storage = Storage.local(tmp_path, fsync=False)
    write_events(storage, events)
    con = connect(storage)
    got = {
        r["day"]: (r["dau"], r["wau"]) for r in run_report(con, "sessions", since, until).as_dicts()
    }
    want = expected(events, since, until)
    assert len({(d - EPOCH).days // _BLOCK for d in want}) >= 2  # several blocks are involved
    assert {d: v for d, v in got.items() if v[0]} == want
    assert all(v[0] == 0 for d, v in got.items() if d not in want)
