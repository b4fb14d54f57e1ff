"""Compaction: merge the small files of closed hours into one large file per partition.

Safe against a crash at any point, without a separate manifest:

1. the merged file is written atomically (temporary name, fsync, rename) as
   ``compact-<digest of its inputs>.parquet``; its Parquet footer lists the files it replaces
   (key ``arbcast.replaces``): *the rename is the commit point*;
2. then the inputs are deleted.

A crash before 1 leaves the partition as it was (plus an unmatched temporary file, removed by
a later run). A crash between 1 and 2 leaves the merged file next to some of its inputs: the
next compaction (`recover`) finishes the deletions first, and until then `live_files` (used by
`analytics.duck`) leaves out every file that a merged file in the same directory replaces, so
no row is counted twice. Merging drops rows whose ``event_id`` repeats (the sink's
at-least-once redeliveries) and sorts by ``ts``.

Run one compaction at a time per root (a lock file enforces it locally; on S3 schedule it
once). Sinks may keep writing meanwhile: files that appear after the listing are left for the
next run.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from analytics.schemas import TABLES
from analytics.settings import AnalyticsSettings
from analytics.storage import TMP_PREFIX, Storage

log = logging.getLogger(__name__)

COMPACT_PREFIX = "compact-"
REPLACES_KEY = "arbcast.replaces"
_PARTITION = re.compile(r"^(?P<table>[^/]+)/dt=(?P<dt>\d{4}-\d{2}-\d{2})/hour=(?P<hour>\d{2})$")
STALE_TMP_SECONDS = 3600.0


@dataclass
class CompactionResult:
    partitions: int = 0
    files_in: int = 0
    files_out: int = 0
    rows_in: int = 0
    rows_out: int = 0
    recovered: int = 0
    merged: list[str] = field(default_factory=list)

    @property
    def duplicates_dropped(self) -> int:
        return self.rows_in - self.rows_out


def partitions(storage: Storage) -> Iterator[tuple[str, datetime]]:
    """Every partition directory (relative) with the start of its hour."""
    for table in sorted(TABLES):
        for day in sorted(storage.dirs(table)):
            for hour_dir in sorted(storage.dirs(day)):
                m = _PARTITION.match(hour_dir)
                if m:
                    start = datetime.strptime(f"{m['dt']} {m['hour']}", "%Y-%m-%d %H")
                    yield hour_dir, start.replace(tzinfo=UTC)


def _base(rel: str) -> str:
    return rel.rsplit("/", 1)[-1]


def _replaced_in(storage: Storage, directory: str, files: list[str]) -> set[str]:
    """Files of ``directory`` that a merged file there replaces (left by a crash)."""
    compacts = [f for f in files if _base(f).startswith(COMPACT_PREFIX)]
    if not compacts or len(files) < 2:
        return set()
    names = {_base(f): f for f in files}
    replaced: set[str] = set()
    for c in compacts:
        for name in json.loads(storage.read_metadata(c).get(REPLACES_KEY, "[]")):
            if name in names and names[name] != c:
                replaced.add(names[name])
    return replaced


def live_files(storage: Storage, table: str) -> tuple[list[str], bool]:
    """The files of ``table`` a reader should read, and whether some were left out."""
    by_dir: dict[str, list[str]] = {}
    for rel in storage.parquet_files(table):
        by_dir.setdefault(rel.rsplit("/", 1)[0], []).append(rel)
    live: list[str] = []
    excluded = False
    for directory, files in sorted(by_dir.items()):
        replaced = _replaced_in(storage, directory, files)
        excluded = excluded or bool(replaced)
        live.extend(sorted(f for f in files if f not in replaced))
    return live, excluded


def recover(storage: Storage, *, now: float | None = None) -> int:
    """Finish what a crashed compaction left: delete replaced inputs and stale temp files."""
    removed = 0
    now = time.time() if now is None else now
    for directory, _ in partitions(storage):
        infos = storage.list_files(directory, recursive=False)
        files = [
            storage.rel(i.path)
            for i in infos
            if i.base_name.endswith(".parquet") and not i.base_name.startswith(".")
        ]
        for rel in _replaced_in(storage, directory, files):
            removed += storage.delete(rel)
        for i in infos:
            mtime = i.mtime.timestamp() if i.mtime is not None else now
            if i.base_name.startswith(TMP_PREFIX) and now - mtime > STALE_TMP_SECONDS:
                storage.delete(storage.rel(i.path))
    return removed


def closed_before(settings: AnalyticsSettings, now: datetime | None = None) -> datetime:
    """Start of the first hour that is still open (hours before it are closed)."""
    now = now or datetime.now(UTC)
    cut = now - timedelta(seconds=settings.compact_grace_seconds)
    return cut.replace(minute=0, second=0, microsecond=0)


def _dedupe_sorted(table: pa.Table) -> pa.Table:
    table = table.append_column("__i", pa.array(range(table.num_rows), pa.int64()))
    first = table.group_by("event_id", use_threads=False).aggregate([("__i", "min")])
    keep = pc.sort_indices(first["__i_min"])
    table = table.take(pc.take(first["__i_min"], keep)).drop_columns(["__i"])
    return table.sort_by([("ts", "ascending"), ("event_id", "ascending")])


def compact_partition(
    storage: Storage,
    directory: str,
    settings: AnalyticsSettings,
    *,
    delete_inputs: bool = True,
) -> tuple[str, int, int, list[str]] | None:
    """Merge the files of one partition; returns (merged file, rows in, rows out, inputs)."""
    files = sorted(
        storage.rel(i.path)
        for i in storage.list_files(directory, recursive=False)
        if i.base_name.endswith(".parquet") and not i.base_name.startswith(".")
    )
    files = [f for f in files if f not in _replaced_in(storage, directory, files)]
    if len(files) < 2:
        return None
    tables = [storage.read_table(f) for f in files]
    rows_in = sum(t.num_rows for t in tables)
    table_name = directory.split("/", 1)[0]
    spec = TABLES[table_name]
    merged = pa.concat_tables(
        [t.replace_schema_metadata(None) for t in tables], promote_options="permissive"
    )
    order = [n for n in spec.schema.names if n in merged.column_names]
    order += [n for n in merged.column_names if n not in order]
    merged = _dedupe_sorted(merged.select(order))
    names = [_base(f) for f in files]
    digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]
    out = f"{directory}/{COMPACT_PREFIX}{digest}.parquet"
    merged = merged.replace_schema_metadata(spec.schema.metadata)
    storage.write_parquet(
        merged,
        out,
        row_group_rows=settings.row_group_rows,
        compression_level=settings.compression_level,
        metadata={REPLACES_KEY: json.dumps(names)},
    )
    if delete_inputs:
        for f in files:
            if f != out:
                storage.delete(f)
    return out, rows_in, merged.num_rows, files


@contextlib.contextmanager
def _lock(storage: Storage) -> Iterator[None]:
    if not storage.is_local:
        yield
        return
    path = os.path.join(storage.root, ".compaction.lock")
    with open(path, "a") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise RuntimeError(f"another compaction holds {path}") from exc
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def compact(
    storage: Storage,
    before: datetime | None = None,
    settings: AnalyticsSettings | None = None,
) -> CompactionResult:
    """Merge the files of every partition whose hour ends at or before ``before``."""
    settings = settings or AnalyticsSettings()
    before = before or closed_before(settings)
    result = CompactionResult()
    with _lock(storage):
        result.recovered = recover(storage)
        for directory, start in list(partitions(storage)):
            if start + timedelta(hours=1) > before:
                continue
            done = compact_partition(storage, directory, settings)
            if done is None:
                continue
            out, rows_in, rows_out, inputs = done
            result.partitions += 1
            result.files_in += len(inputs)
            result.files_out += 1
            result.rows_in += rows_in
            result.rows_out += rows_out
            result.merged.append(out)
            log.info(
                "compacted %s: %d files, %d rows -> %d", directory, len(inputs), rows_in, rows_out
            )
    return result
