"""Compaction merges small files without losing or duplicating a row, even if it crashes."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analytics import compaction
from analytics.compaction import compact, compact_partition, live_files
from analytics.duck import connect
from analytics.schemas import TABLES
from analytics.settings import AnalyticsSettings
from analytics.sink import write_events
from analytics.storage import Storage
from tests.analytics.helpers import T0, mixed_events

SETTINGS = AnalyticsSettings(fsync=False, row_group_rows=50_000)
AFTER_ALL = datetime.fromtimestamp(T0 + 10 * 3600, UTC)

CHECKSUM = """
SELECT count(*) AS n, count(DISTINCT event_id) AS ids,
       sum(hash(event_id, name, ts, user_id, session_id, extra)) AS h
FROM {t}
"""


def _lake(tmp_path: Path, n: int = 3000, files: int = 12) -> Storage:
    storage = Storage.local(tmp_path, fsync=False)
    events = mixed_events(n, span_s=3 * 3600)
    step = n // files
    for i in range(files):
        write_events(storage, events[i * step : (i + 1) * step], SETTINGS, batch_id=f"b{i}")
    return storage


def _fingerprint(storage: Storage) -> dict[str, tuple[Any, ...]]:
    con = connect(storage)
    out = {t: con.execute(CHECKSUM.format(t=t)).fetchone() for t in TABLES}
    con.close()
    return out  # type: ignore[return-value]


def _files(storage: Storage) -> list[str]:
    return sorted(storage.parquet_files(""))


def test_compaction_keeps_row_count_and_checksum_and_leaves_one_file_per_partition(
    tmp_path: Path,
) -> None:
    storage = _lake(tmp_path)
    before = _fingerprint(storage)
    assert len(_files(storage)) > 40
    result = compact(storage, AFTER_ALL, SETTINGS)
    assert _fingerprint(storage) == before
    assert result.rows_in == result.rows_out == sum(v[0] for v in before.values())
    dirs = [f.rsplit("/", 1)[0] for f in _files(storage)]
    assert len(dirs) == len(set(dirs)) == result.partitions
    for f in _files(storage):
        meta = pq.ParquetFile(storage.path(f)).metadata
        assert meta.row_group(0).column(0).compression == "ZSTD"
        assert meta.num_row_groups == 1  # small test data: one large row group


def test_compaction_drops_redelivered_copies_of_an_event(tmp_path: Path) -> None:
    storage = Storage.local(tmp_path, fsync=False)
    events = mixed_events(200, span_s=600)
    write_events(storage, events, SETTINGS, batch_id="1-0")
    write_events(storage, events[:80], SETTINGS, batch_id="1-0")  # the sink redelivered
    assert _fingerprint(storage)["session"][0] > _fingerprint(storage)["session"][1]
    result = compact(storage, AFTER_ALL, SETTINGS)
    assert result.duplicates_dropped == 80
    assert all(n == ids for n, ids, _ in _fingerprint(storage).values())


def test_only_closed_hours_are_compacted(tmp_path: Path) -> None:
    storage = _lake(tmp_path)
    before = {f.rsplit("/", 1)[0] for f in _files(storage)}
    cut = datetime.fromtimestamp(T0 + 2 * 3600, UTC)  # hours 00 and 01 are closed
    compact(storage, cut, SETTINGS)
    for d in before:
        n = sum(1 for f in _files(storage) if f.startswith(d + "/"))
        assert (n == 1) == (("hour=00" in d) or ("hour=01" in d)), d


def test_a_crash_between_writing_the_merged_file_and_deleting_inputs_counts_nothing_twice(
    tmp_path: Path,
) -> None:
    storage = _lake(tmp_path)
    before = _fingerprint(storage)
    directory = "session/dt=2026-01-01/hour=01"
    done = compact_partition(storage, directory, SETTINGS, delete_inputs=False)  # crash here
    assert done is not None
    merged, _, _, inputs = done
    assert storage.exists(merged)
    assert all(storage.exists(f) for f in inputs)
    files, excluded = live_files(storage, "session")
    assert excluded
    assert not set(inputs) & set(files)
    assert _fingerprint(storage) == before  # readers see each row once
    # The next run finishes the job.
    result = compact(storage, AFTER_ALL, SETTINGS)
    assert result.recovered == len(inputs)
    assert not any(storage.exists(f) for f in inputs)
    assert _fingerprint(storage) == before


def test_a_crash_while_writing_the_merged_file_leaves_only_an_invisible_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = _lake(tmp_path)
    before = _fingerprint(storage)
    files_before = _files(storage)

    def boom(table: Any, where: Any, **k: Any) -> None:
        where.write(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr("core.parquet_storage.pq.write_table", boom)
    with pytest.raises(OSError, match="disk full"):
        compact(storage, AFTER_ALL, SETTINGS)
    monkeypatch.undo()
    assert _files(storage) == files_before
    assert _fingerprint(storage) == before
    # A process killed mid-write leaves its temp file: invisible, and removed once stale.
    stale = tmp_path / "session/dt=2026-01-01/hour=00/.tmp-dead-compact-x.parquet.inprogress"
    stale.write_bytes(b"PAR1 half")
    assert _fingerprint(storage) == before
    compaction.recover(storage, now=time.time() + 2 * compaction.STALE_TMP_SECONDS)
    assert not stale.exists()
    compact(storage, AFTER_ALL, SETTINGS)
    assert _fingerprint(storage) == before


def test_late_files_in_a_compacted_hour_are_merged_into_it_on_the_next_run(
    tmp_path: Path,
) -> None:
    storage = _lake(tmp_path)
    compact(storage, AFTER_ALL, SETTINGS)
    late = mixed_events(70, seed=99, span_s=600)
    write_events(storage, late, SETTINGS, batch_id="late")
    before = _fingerprint(storage)
    compact(storage, AFTER_ALL, SETTINGS)
    assert _fingerprint(storage) == before
    dirs = [f.rsplit("/", 1)[0] for f in _files(storage)]
    assert len(dirs) == len(set(dirs))


def test_files_of_an_older_schema_version_stay_readable_next_to_newer_ones(
    tmp_path: Path,
) -> None:
    storage = _lake(tmp_path, n=700, files=2)
    # A v0 file of the distribution table without the latency_ms and attempt columns.
    spec = TABLES["distribution"]
    old_schema = pa.schema([f for f in spec.schema if f.name not in ("latency_ms", "attempt")])
    old = pa.table(
        {
            "event_id": ["old:0"],
            "name": ["distribution.sent"],
            "ts": pa.array([int(T0 * 1000)], pa.timestamp("ms", tz="UTC")),
            "user_id": [7],
            "session_id": [None],
            "schema_version": pa.array([0], pa.int32()),
            **{
                f.name: pa.array([None], f.type)
                for f in old_schema
                if f.name
                not in ("event_id", "name", "ts", "user_id", "session_id", "schema_version")
            },
        },
        schema=old_schema,
    )
    storage.write_parquet(old, "distribution/dt=2026-01-01/hour=00/part-old.parquet")
    con = connect(storage)
    row = con.execute(
        "SELECT latency_ms, schema_version FROM distribution WHERE event_id = 'old:0'"
    ).fetchone()
    assert row == (None, 0)
    before = _fingerprint(storage)
    compact(storage, AFTER_ALL, SETTINGS)
    assert _fingerprint(storage) == before


def test_only_one_compaction_runs_at_a_time(tmp_path: Path) -> None:
    storage = _lake(tmp_path, n=100, files=2)
    with compaction._lock(storage), pytest.raises(RuntimeError, match="another compaction"):
        compact(storage, AFTER_ALL, SETTINGS)
