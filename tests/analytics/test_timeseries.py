"""The dashboard's time series: computed from the hourly rollups, they equal a plain-Python
computation over the raw rows; a refresh over closed hours reads rollup files only; an hour
still open is computed from its own raw rows; the rollup job rewrites only what changed."""

from __future__ import annotations

import asyncio
import math
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from analytics.compaction import compact
from analytics.rollups import (
    LATENCY_ERROR,
    LEDGER,
    RollupResult,
    bin_value,
    latency_bin,
    rollup_storage,
    run_rollups,
    update_rollups,
)
from analytics.settings import AnalyticsSettings
from analytics.sink import write_events
from analytics.storage import Storage
from analytics.timeseries import COLUMNS, compute_timeseries
from core.events import Event
from tests.analytics.delivery_events import by_hour, delivery_events, timeseries
from tests.analytics.helpers import T0

SETTINGS = AnalyticsSettings(fsync=False)
LIMIT = 30.0  # the GlobalRateLimiter's rate: the sends chart's line
EVENTS = delivery_events()
START = datetime.fromtimestamp(T0, UTC)
LATER = START + timedelta(days=1)  # every hour of the lake is closed by then


def _lake(root: Path, events: list[Event] = EVENTS) -> Storage:
    storage = Storage.local(root, fsync=False)
    for i in range(0, len(events), 2500):  # several files per partition, as a sink writes
        write_events(storage, events[i : i + 2500])
    return storage


@pytest.fixture
def lake(tmp_path: Path) -> Storage:
    return _lake(tmp_path / "lake")


def _rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(zip(COLUMNS, r, strict=True)) for r in answer["rows"]]


def _assert_equal(got: list[dict[str, Any]], want: list[dict[str, Any]], step_s: float) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert datetime.fromisoformat(g["bucket"]).timestamp() == w["bucket"]
        for k in ("sends", "peak_1s", "flood_429", "backlog", "alerts"):
            assert g[k] == w[k], (g["bucket"], k)
        assert g["sends_per_s"] == round(w["sends"] / step_s, 3)
        for k in ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms"):
            if w[k] is None:
                assert g[k] is None
            else:  # a histogram's bin middle: within the bins' precision (and 0.1 ms rounding)
                assert abs(g[k] - w[k]) <= LATENCY_ERROR * w[k] + 0.06, (g["bucket"], k)


def test_a_latency_bin_stands_for_its_values_within_the_stated_error() -> None:
    for v in [1.5, 2.0, 9.99, 50.0, 123.4, 800.0, 1e4, 86_400_000.0]:
        assert abs(bin_value(latency_bin(v)) - v) <= LATENCY_ERROR * v * (1 + 1e-9), v
    assert latency_bin(0.3) == latency_bin(1.0) == 0


def test_minute_series_from_rollups_equal_the_raw_rows_and_read_no_raw_rows(
    lake: Storage,
) -> None:
    result = update_rollups(lake, SETTINGS)
    assert len(result.hours_written) == 4  # three hours, and sends that spill into a fourth
    end = START + timedelta(hours=3)
    answer = compute_timeseries(lake, SETTINGS, START, end, LATER, LIMIT)
    assert answer["grain"] == "minute" and answer["bucket_seconds"] == 60
    want = timeseries(EVENTS, START, end, 60)
    _assert_equal(_rows(answer), want, 60)
    # not vacuous: bursts over the limit, 429s, a backlog, percentiles
    assert max(w["peak_1s"] for w in want) > 30 and sum(w["flood_429"] for w in want) > 0
    assert max(w["backlog"] for w in want) > 0 and want[-1]["latency_p99_ms"] is not None

    read = answer["read"]
    assert read["raw_hours"] == [] and read["raw_rows"] == 0
    assert read["rollup_files"] == 3
    rollups = rollup_storage(lake)
    on_disk = sum(
        pq.read_metadata(rollups.path(f"dt=2026-01-01/hour={h:02d}/minute.parquet")).num_rows
        for h in range(3)
    )
    assert read["rollup_rows"] == on_disk
    raw = sum(n for h, n in by_hour(EVENTS).items() if h < T0 / 3600 + 3)
    assert read["rollup_rows"] * 2 < raw  # fewer rows than the events they stand for


def test_a_refresh_over_closed_hours_needs_no_raw_file(lake: Storage, tmp_path: Path) -> None:
    update_rollups(lake, SETTINGS)
    end = START + timedelta(hours=3)
    before = compute_timeseries(lake, SETTINGS, START, end, LATER, LIMIT)
    shutil.move(lake.path("distribution"), tmp_path / "elsewhere")  # the raw rows are gone
    after = compute_timeseries(lake, SETTINGS, START, end, LATER, LIMIT)
    assert after["rows"] == before["rows"]
    assert after["read"]["raw_hours"] == []


def test_hour_series_over_a_long_range_equal_the_raw_rows(lake: Storage) -> None:
    update_rollups(lake, SETTINGS)
    end = START + timedelta(days=2)
    answer = compute_timeseries(lake, SETTINGS, START, end, end + timedelta(hours=1), LIMIT)
    assert answer["grain"] == "hour" and answer["bucket_seconds"] == 3600
    _assert_equal(_rows(answer), timeseries(EVENTS, START, end, 3600), 3600)
    assert answer["read"]["rollup_rows"] < 1000


def test_without_a_range_the_series_start_at_the_first_hour_rolled_up(lake: Storage) -> None:
    update_rollups(lake, SETTINGS)
    now = START + timedelta(hours=5)
    answer = compute_timeseries(lake, SETTINGS, None, None, now, LIMIT)
    assert answer["since"] == START.isoformat()
    _assert_equal(_rows(answer), timeseries(EVENTS, START, now, 60), 60)


def test_an_open_hour_is_computed_from_its_own_raw_rows(lake: Storage) -> None:
    update_rollups(lake, SETTINGS)
    now = START + timedelta(hours=2, minutes=30)  # hour 2 is open; hour 1 closed 30 min ago
    answer = compute_timeseries(lake, SETTINGS, START, None, now, LIMIT)
    assert answer["read"]["raw_hours"] == [(START + timedelta(hours=2)).isoformat()]
    assert answer["read"]["raw_rows"] == by_hour(EVENTS)[int(T0 // 3600) + 2]
    assert answer["read"]["rollup_files"] == 2
    seen = [e for e in EVENTS if e.ts < now.timestamp()]  # what had happened by then
    _assert_equal(_rows(answer), timeseries(seen, START, now, 60), 60)


def test_the_job_rewrites_only_the_hours_that_changed(lake: Storage) -> None:
    known: dict[datetime, str] = {}
    assert len(update_rollups(lake, SETTINGS, known=known).hours_written) == 4
    assert update_rollups(lake, SETTINGS, known=known).hours_written == []
    assert update_rollups(lake, SETTINGS).hours_written == []  # read back from the footers
    late = Event(
        name="distribution.sent",
        ts=T0 + 3600 + 10,
        user_id=1,
        attrs={"kind": "send", "items": 1, "opportunity_id": "late", "tier": "free"},
    )
    write_events(lake, [late])
    hour1 = START + timedelta(hours=1)
    assert update_rollups(lake, SETTINGS, known=known).hours_written == [hour1]
    answer = compute_timeseries(lake, SETTINGS, hour1, hour1 + timedelta(hours=1), LATER, LIMIT)
    _assert_equal(
        _rows(answer), timeseries([*EVENTS, late], hour1, hour1 + timedelta(hours=1), 60), 60
    )
    # compaction renames every closed hour's files: each is recomputed once, to equal figures
    ledger = rollup_storage(lake).read_table(LEDGER)
    assert compact(lake, LATER, SETTINGS).partitions > 0
    assert len(update_rollups(lake, SETTINGS, known=known).hours_written) >= 3
    assert rollup_storage(lake).read_table(LEDGER).equals(ledger)


def test_a_lost_ledger_is_rebuilt_from_the_hour_files(lake: Storage) -> None:
    update_rollups(lake, SETTINGS)
    rollups = rollup_storage(lake)
    ledger = rollups.read_table(LEDGER)
    assert ledger.num_rows == 4
    rollups.delete(LEDGER)
    assert update_rollups(lake, SETTINGS).hours_written == []
    assert rollups.read_table(LEDGER).equals(ledger)


def test_rollups_are_zstd_parquet_beside_the_lake_not_in_it(lake: Storage) -> None:
    update_rollups(lake, SETTINGS)
    root = Path(rollup_storage(lake).root)
    assert root == Path(lake.root + "-rollups")
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.parquet"))
    assert files[0] == "dt=2026-01-01/hour=00/hour.parquet" and "hours.parquet" in files
    meta = pq.read_metadata(root / files[0])
    assert meta.row_group(0).column(0).compression == "ZSTD"
    assert not [p for p in root.rglob("*") if p.name.startswith(".tmp-")]
    assert not list(Path(lake.root).rglob("*rollup*"))


def test_an_empty_lake_has_empty_series(tmp_path: Path) -> None:
    storage = Storage.local(tmp_path / "empty", fsync=False)
    assert update_rollups(storage, SETTINGS).hours_written == []
    # all time is then the current hour so far: zeros, minute by minute
    answer = compute_timeseries(
        storage, SETTINGS, None, None, LATER + timedelta(seconds=150), LIMIT
    )
    assert [r[1:] for r in answer["rows"]] == [[0, 0.0, 0, 0, 0, 0, None, None, None]] * 3
    assert answer["send_limit_per_second"] == LIMIT


async def test_the_job_runs_in_a_worker_thread_until_stopped(lake: Storage) -> None:
    stop = asyncio.Event()
    passes: list[RollupResult] = []

    def on_pass(r: RollupResult) -> None:
        passes.append(r)
        stop.set()

    await asyncio.wait_for(run_rollups(lake, SETTINGS, stop, on_pass=on_pass), 30)
    assert len(passes) == 1 and len(passes[0].hours_written) == 4
    assert math.isclose(
        sum(r["sends"] for r in rollup_storage(lake).read_table(LEDGER).to_pylist()),
        sum(1 for e in EVENTS if e.name == "distribution.sent" and e.attrs["kind"] != "edit"),
    )
