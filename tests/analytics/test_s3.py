"""The lake on S3: a real S3 protocol server (moto's, over HTTP on localhost), written by the
real sink through pyarrow's S3FileSystem and read back by the reports through DuckDB over pyarrow
datasets (``s3_reader = "arrow"``: DuckDB's httpfs extension cannot be downloaded here).

Skipped when moto (``moto[s3]``, flask, flask-cors) is not installed.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analytics.compaction import compact
from analytics.duck import connect
from analytics.reports import REPORTS, run_report
from analytics.settings import AnalyticsSettings
from analytics.sink import ParquetSink, write_events
from analytics.storage import Storage
from core.events import RedisEventLog
from tests.analytics.helpers import T0, mixed_events

moto_server = pytest.importorskip("moto.server", reason="moto[s3], flask and flask-cors needed")
boto3 = pytest.importorskip("boto3")

BUCKET = "lake"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(endpoint: str, request: pytest.FixtureRequest) -> tuple[Any, AnalyticsSettings]:
    """A fresh prefix in the bucket, the boto3 client to inspect it, and settings pointing
    the sink and the reports at it."""
    client = boto3.client(
        "s3",
        endpoint_url=f"http://{endpoint}",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    if BUCKET not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
        client.create_bucket(Bucket=BUCKET)
    prefix = request.node.name.replace("[", "-").replace("]", "")
    settings = AnalyticsSettings(
        root=f"s3://{BUCKET}/{prefix}",
        s3_endpoint=endpoint,
        s3_scheme="http",
        s3_region="us-east-1",
        s3_access_key="test",
        s3_secret_key="test",
        s3_reader="arrow",
        block_seconds=0.05,
        fsync=False,
    )
    return client, settings


def _keys(client: Any, settings: AnalyticsSettings) -> list[str]:
    prefix = settings.root.removeprefix(f"s3://{BUCKET}/") + "/"
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for p in pages for o in p.get("Contents", []))


def _all_reports(storage: Storage, settings: AnalyticsSettings | None = None) -> dict[str, Any]:
    con = connect(storage, settings)
    try:
        return {name: run_report(con, name).rows for name in REPORTS}
    finally:
        con.close()


async def test_the_sink_writes_hive_partitioned_parquet_objects_to_s3(
    redis: Any, s3: tuple[Any, AnalyticsSettings]
) -> None:
    """Events through the stream land as s3://bucket/prefix/<table>/dt=…/hour=…/part-….parquet
    objects holding every event once, and no temporary object is left."""
    client, settings = s3
    events = mixed_events(400)
    log = RedisEventLog(redis, flush_max_events=100)
    for e in events:
        log.emit(e)
    await log.flush()
    storage = Storage.from_settings(settings)
    sink = ParquetSink(redis, storage, settings.model_copy(update={"batch_max_rows": 150}))
    await sink.drain()
    keys = _keys(client, settings)
    # every object is a finished part file: no temporary object, no directory marker
    assert keys and all(k.endswith(".parquet") and "/part-" in k for k in keys)
    assert all("/dt=2026-01-01/hour=0" in k for k in keys)
    con = connect(storage, settings)
    total = sum(
        con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
        for t in ("session", "audit", "distribution", "opportunity", "other")
    )
    assert total == len(events)
    ids = con.execute("SELECT count(DISTINCT event_id) FROM session").fetchone()
    assert ids == (sum(e.name.startswith("session.") for e in events),)


def test_reports_over_s3_equal_the_same_reports_over_a_local_lake(
    tmp_path: Path, s3: tuple[Any, AnalyticsSettings]
) -> None:
    """Every report reads the same figures from S3 as from local files with the same events
    (the local figures are checked against plain Python in test_reports), before and after
    a compaction on S3 merged the small objects."""
    _, settings = s3
    events = mixed_events(900, t0=T0, span_s=5 * 3600)
    local = Storage.local(tmp_path, fsync=False)
    remote = Storage.from_settings(settings)
    for i in range(0, len(events), 200):
        write_events(local, events[i : i + 200], batch_id=f"b{i}")
        write_events(remote, events[i : i + 200], batch_id=f"b{i}")
    want = _all_reports(local)
    assert want["distribution"] and want["sessions"]
    assert _all_reports(remote, settings) == want

    result = compact(
        remote, before=None, settings=settings.model_copy(update={"compact_grace_seconds": 0})
    )
    assert result.files_out > 0 and result.rows_out == result.rows_in
    assert all("/compact-" in f for t in ("session", "audit") for f in remote.parquet_files(t))
    assert _all_reports(remote, settings) == want
