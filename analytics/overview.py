"""One UTC day of the analysts' reports, boiled down to the figures `/admin_stats` shows.

The figures come from the very report functions the CLI and the dashboard run
(`analytics.reports`), over one day's window, so the three never disagree. DuckDB blocks, so
`day_overview_async` runs it in a worker thread with a time bound; past the bound the query is
interrupted (not merely abandoned) so a slow lake cannot pile up busy threads.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime

import duckdb

from analytics import reports
from analytics.compaction import live_files
from analytics.duck import connect
from analytics.errors import NoParquetError, QueryFailedError, QueryTimeoutError
from analytics.schemas import TABLES
from analytics.settings import AnalyticsSettings
from analytics.storage import Storage

# sent: new messages with opportunities; edited: closed ones' messages edited; other_sent:
# messages without opportunities; rejected: users refused (`analytics.reports.distribution`).
OUTCOMES = (
    "sent",
    "edited",
    "other_sent",
    "shown",
    "queued",
    "rejected",
    "failed",
    "dropped",
    "retried",
)


@dataclass(frozen=True)
class DayOverview:
    day: date
    dau: int
    wau: int
    new_users: int
    sessions_started: int
    sessions_expired: int
    sessions_terminated: int
    median_session_s: float | None
    commands_per_session: float | None
    onboarding: dict[str, int]  # stage (started, step:<name>, completed, ...) -> users
    outcomes: dict[str, int]  # distribution outcome -> events
    rejected_by_layer: dict[str, int]  # users refused per layer
    latency_ms: dict[str, float | None]  # p50, p95, p99 of the alerts sent, from detection
    delivered: int  # distinct (user, opportunity) sent or shown
    clicked: int  # of those, with any engagement event
    files: int  # Parquet files the views read
    took_ms: float = 0.0

    @property
    def ctr_pct(self) -> float | None:
        return round(100.0 * self.clicked / self.delivered, 2) if self.delivered else None


def day_window(day: date, as_of: datetime | None = None) -> reports.Window:
    start = datetime.combine(day, dtime(0), tzinfo=UTC)
    return reports.Window(start, start + timedelta(days=1), as_of)


def count_files(storage: Storage) -> int:
    return sum(len(live_files(storage, t)[0]) for t in TABLES)


def day_overview(
    con: duckdb.DuckDBPyConnection,
    day: date,
    *,
    files: int = 0,
    as_of: datetime | None = None,
    onboarding_window: timedelta = reports.ONBOARDING_WINDOW,
) -> DayOverview:
    """The overview of ``day`` from the reports over ``con``'s views (blocking), as known at
    ``as_of`` (default: now)."""
    w = day_window(day, as_of)
    s = next((r for r in reports.sessions(con, w).as_dicts() if r["day"] == day), {})
    funnel = {str(r[0]): int(r[1]) for r in reports.onboarding(con, w, onboarding_window).rows}
    outcomes: dict[str, int] = {}
    layers: dict[str, int] = {}
    latency: dict[str, float | None] = {}
    for metric, key, value in reports.distribution(con, w).rows:
        if metric == "count":
            outcomes[key] = int(value)
        elif metric == "rejected_by_layer":
            layers[key] = int(value)
        elif metric == "latency_ms":
            latency[key] = value
    eng = reports.engagement(con, w).as_dicts()
    return DayOverview(
        day=day,
        dau=int(s.get("dau", 0)),
        wau=int(s.get("wau", 0)),
        new_users=int(s.get("new_users", 0)),
        sessions_started=int(s.get("sessions_started", 0)),
        sessions_expired=int(s.get("sessions_expired", 0)),
        sessions_terminated=int(s.get("sessions_terminated", 0)),
        median_session_s=s.get("median_session_s"),
        commands_per_session=s.get("commands_per_session"),
        onboarding=funnel,
        outcomes=outcomes,
        rejected_by_layer=layers,
        latency_ms=latency,
        delivered=sum(int(r["delivered"]) for r in eng),
        clicked=sum(int(r["clicked"]) for r in eng),
        files=files,
    )


class _Query:
    """A DuckDB connection another thread may interrupt, even before it is open."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self.interrupted = False

    def run(self, settings: AnalyticsSettings, day: date, as_of: datetime | None) -> DayOverview:
        started = time.perf_counter()
        storage = Storage.from_settings(settings)
        files = count_files(storage)
        if files == 0:
            raise NoParquetError(settings.root)
        con = connect(storage, settings, threads=settings.dashboard_threads)
        with self._lock:
            if self.interrupted:
                con.close()
                raise QueryTimeoutError(settings.admin_stats_timeout_seconds)
            self._con = con
        try:
            window = timedelta(seconds=settings.onboarding_window_seconds)
            result = day_overview(con, day, files=files, as_of=as_of, onboarding_window=window)
        finally:
            with self._lock:
                self._con = None
                con.close()
        took = round((time.perf_counter() - started) * 1000, 1)
        return replace(result, took_ms=took)

    def interrupt(self) -> None:
        with self._lock:
            self.interrupted = True
            if self._con is not None:
                self._con.interrupt()


async def day_overview_async(
    settings: AnalyticsSettings, day: date, as_of: datetime | None = None
) -> DayOverview:
    """`day_overview` of the lake ``settings`` point at, off the event loop and time-bound.

    Raises `NoParquetError` (empty lake), `QueryTimeoutError` (interrupted after
    ``admin_stats_timeout_seconds``) or `QueryFailedError` (DuckDB or storage failed).
    """
    query = _Query()
    timeout = settings.admin_stats_timeout_seconds
    try:
        return await asyncio.wait_for(asyncio.to_thread(query.run, settings, day, as_of), timeout)
    except TimeoutError:
        query.interrupt()
        raise QueryTimeoutError(timeout) from None
    except (NoParquetError, QueryTimeoutError):
        raise
    except (duckdb.Error, OSError, ValueError) as exc:
        raise QueryFailedError(exc) from exc
