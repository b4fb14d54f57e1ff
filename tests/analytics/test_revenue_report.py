"""The revenue report (Stars per tier) equals an independent computation over the same events,
written to a real Parquet lake and read by DuckDB."""

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
from tests.analytics import oracles
from tests.analytics.helpers import T0

DAY = 86_400.0
PRICES = {"basic": 1500, "premium": 3800, "enterprise": 10_000}
SINCE = datetime.fromtimestamp(T0 + 5 * DAY + 7200, UTC)
UNTIL = datetime.fromtimestamp(T0 + 50 * DAY, UTC)


def generate(seed: int = 3, users: int = 60) -> list[Event]:
    """Users buy a plan, some renew monthly, some are refunded (some twice: the second changes
    nothing), with pre-checkout and invoice rows that are not revenue."""
    rnd = random.Random(seed)
    ev: list[Event] = []
    for uid in range(1, users + 1):
        tier = rnd.choice(list(PRICES))
        t = T0 + rnd.random() * 20 * DAY
        ev.append(Event(name="payment.invoice", ts=t, user_id=uid, attrs={"tier": tier}))
        ev.append(
            Event(
                name="payment.pre_checkout",
                ts=t + 1,
                user_id=uid,
                attrs={"tier": tier, "ok": True, "amount": PRICES[tier]},
            )
        )
        for month in range(rnd.randint(1, 3)):
            ts = t + 2 + month * 30 * DAY
            ev.append(
                Event(
                    name="payment.succeeded",
                    ts=ts,
                    user_id=uid,
                    attrs={
                        "tier": tier,
                        "amount": PRICES[tier],
                        "currency": "XTR",
                        "charge_id": f"c{uid}-{month}",
                        "recurring": month > 0,
                        "paid_until": ts + 30 * DAY,
                    },
                )
            )
        if rnd.random() < 0.25:
            for outcome in ("fell_back", "nothing")[: rnd.randint(1, 2)]:
                ev.append(
                    Event(
                        name="payment.refunded",
                        ts=t + 3 * DAY,
                        user_id=uid,
                        attrs={"tier": tier, "amount": PRICES[tier], "outcome": outcome},
                    )
                )
    rnd.shuffle(ev)
    return ev


EVENTS = generate()


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    storage = Storage.local(tmp_path_factory.mktemp("lake"), fsync=False)
    for i in range(0, len(EVENTS), 97):
        write_events(storage, EVENTS[i : i + 97])
    c = connect(storage)
    yield c
    c.close()


@pytest.mark.parametrize(("since", "until"), [(None, None), (SINCE, UNTIL)])
def test_revenue_per_tier_equals_a_python_computation(
    con: duckdb.DuckDBPyConnection, since: datetime | None, until: datetime | None
) -> None:
    """Payments, renewals, payers, gross, refunded and net Stars per tier."""
    report = run_report(con, "revenue", since, until)
    assert report.rows == oracles.revenue(EVENTS, since, until)
    assert {r[0] for r in report.rows} == set(PRICES)
    assert all(r[2] for r in report.rows) and any(r[5] for r in report.rows)


def test_revenue_is_empty_on_an_empty_lake(tmp_path: Path) -> None:
    """No payment files yet: the report answers with no rows, not an error."""
    assert run_report(connect(Storage.local(tmp_path)), "revenue").rows == []
