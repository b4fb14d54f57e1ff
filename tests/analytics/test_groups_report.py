"""The groups report (per group and channel: alerts delivered, button presses, /start from its
links) equals an independent computation over the same events, written to a real Parquet lake
and read by DuckDB; private chats' deliveries and edits are not counted."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from analytics.duck import connect
from analytics.reports import run_report
from analytics.sink import write_events
from analytics.storage import Storage
from core.events import Event
from tests.analytics import groups_oracle
from tests.analytics.helpers import T0

DAY = 86_400.0
CHATS = {-1001: "supergroup", -1002: "group", -1003: "channel", -1004: "supergroup"}
SINCE = datetime.fromtimestamp(T0 + DAY, UTC)
UNTIL = datetime.fromtimestamp(T0 + 3 * DAY, UTC)


def generate(seed: int = 5, n: int = 1500) -> list[Event]:
    """Deliveries to groups, channels and users (sends and edits, digests of several items),
    presses with each answer, and starts from links, over four days."""
    rnd = random.Random(seed)
    ev: list[Event] = []
    for i in range(n):
        ts = T0 + rnd.random() * 4 * DAY
        chat = rnd.choice(list(CHATS))
        k = i % 5
        if k in (0, 1):
            target = chat if rnd.random() < 0.7 else rnd.randint(1, 40)
            attrs: dict[str, object] = {
                "kind": rnd.choice(["send", "send", "edit"]),
                "items": rnd.choice([0, 1, 1, 3]),
                "chat_id": target,
            }
            if target < 0:
                attrs["chat_kind"] = CHATS[target]
            ev.append(Event(name="distribution.sent", ts=ts, user_id=target, attrs=attrs))
        elif k in (2, 3):
            ev.append(
                Event(
                    name="groups.button",
                    ts=ts,
                    user_id=rnd.randint(1, 30),
                    attrs={
                        "chat_id": chat,
                        "chat_kind": CHATS[chat],
                        "button": "details",
                        "answer": rnd.choice(["private", "pointer", "refused"]),
                        "has_session": rnd.random() < 0.5,
                    },
                )
            )
        else:
            ev.append(
                Event(
                    name="groups.deeplink_start",
                    ts=ts,
                    user_id=rnd.randint(1, 30),
                    attrs={
                        "chat_id": chat,
                        "source": "channel" if CHATS[chat] == "channel" else "group",
                        "action": rnd.choice(["started", "resumed"]),
                    },
                )
            )
    rnd.shuffle(ev)
    return ev


EVENTS = generate()


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    storage = Storage.local(tmp_path_factory.mktemp("lake"), fsync=False)
    for i in range(0, len(EVENTS), 211):
        write_events(storage, EVENTS[i : i + 211])
    c = connect(storage)
    yield c
    c.close()


@pytest.mark.parametrize(("since", "until"), [(None, None), (SINCE, UNTIL)])
def test_groups_report_equals_a_python_computation(
    con: duckdb.DuckDBPyConnection, since: datetime | None, until: datetime | None
) -> None:
    """Every figure of every chat, in the report's order."""
    report = run_report(con, "groups", since, until)
    assert report.rows == groups_oracle.groups(EVENTS, since, until)
    assert {r[0] for r in report.rows} == set(CHATS)
    assert all(r[2] and r[4] and r[8] for r in report.rows)


def test_groups_report_is_empty_on_an_empty_lake(tmp_path: Path) -> None:
    """No files yet: no rows, not an error."""
    assert run_report(connect(Storage.local(tmp_path)), "groups").rows == []
