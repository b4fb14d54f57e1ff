"""The /admin_stats overview: its time bound really stops DuckDB, and its errors are typed."""

from __future__ import annotations

import asyncio
import threading
from datetime import date
from pathlib import Path

import duckdb
import pytest

from analytics import overview
from analytics.errors import AnalyticsError, NoParquetError, QueryTimeoutError
from analytics.settings import AnalyticsSettings
from analytics.sink import write_events
from analytics.storage import Storage
from tests.analytics.helpers import T0, mixed_events


async def test_a_query_past_the_time_bound_is_interrupted_not_abandoned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the timeout the caller gets QueryTimeoutError at once, and the DuckDB query in the
    worker thread is interrupted (it would otherwise run for hours)."""
    write_events(Storage.local(tmp_path, fsync=False), mixed_events(50))
    ended = threading.Event()
    outcome: list[BaseException] = []

    def endless(con: duckdb.DuckDBPyConnection, day: date, *, files: int = 0, **_: object) -> None:
        try:
            con.execute("SELECT count(*) FROM range(1000000000000) a WHERE hash(a.range) = 7")
        except BaseException as exc:
            outcome.append(exc)
        finally:
            ended.set()

    monkeypatch.setattr(overview, "day_overview", endless)
    settings = AnalyticsSettings(root=str(tmp_path), admin_stats_timeout_seconds=0.3)
    with pytest.raises(QueryTimeoutError) as err:
        await overview.day_overview_async(settings, date(2026, 1, 1))
    assert "longer than 0.3 s" in str(err.value)
    assert await asyncio.to_thread(ended.wait, 30), "the query was not interrupted"
    assert isinstance(outcome[0], duckdb.InterruptException)


async def test_an_empty_lake_raises_no_parquet(tmp_path: Path) -> None:
    """No file at all is NoParquetError (an AnalyticsError), naming the root."""
    with pytest.raises(NoParquetError) as err:
        await overview.day_overview_async(AnalyticsSettings(root=str(tmp_path)), date(2026, 1, 1))
    assert isinstance(err.value, AnalyticsError)
    assert str(tmp_path) in str(err.value)


def test_overview_figures_are_the_reports_figures_of_that_day(tmp_path: Path) -> None:
    """day_overview reads the same report functions: a day without events is all zeros, and a
    day with events counts exactly the sessions the sessions report counts."""
    from analytics.duck import connect
    from analytics.reports import run_report

    storage = Storage.local(tmp_path, fsync=False)
    write_events(storage, mixed_events(700))
    con = connect(storage)
    day = date(2026, 1, 1)
    o = overview.day_overview(con, day)
    w = overview.day_window(day)
    row = run_report(con, "sessions", w.since, w.until).as_dicts()[0]
    assert (o.dau, o.wau, o.sessions_started, o.sessions_expired) == (
        row["dau"],
        row["wau"],
        row["sessions_started"],
        row["sessions_expired"],
    )
    assert o.outcomes["sent"] == sum(
        1 for e in mixed_events(700) if e.name == "distribution.sent" and e.ts < T0 + 86_400
    )
    empty = overview.day_overview(con, date(2025, 6, 1))
    assert (empty.dau, empty.delivered, empty.ctr_pct, empty.outcomes["sent"]) == (0, 0, None, 0)
