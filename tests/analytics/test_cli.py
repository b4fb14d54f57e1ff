"""The `analytics` CLI: query, report, compact, shell, sink and rollup, on a real lake."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from analytics.cli import app
from analytics.sink import write_events
from analytics.storage import Storage
from core.events import RedisEventLog
from tests.analytics.helpers import mixed_events
from tests.helpers import eventually

runner = CliRunner()


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    storage = Storage.local(tmp_path, fsync=False)
    events = mixed_events(1400)
    for i in range(0, 1400, 200):
        write_events(storage, events[i : i + 200])
    return tmp_path


def test_query_prints_json_and_csv(lake: Path) -> None:
    sql = "SELECT name, count(*) AS n FROM session GROUP BY name ORDER BY name"
    out = runner.invoke(app, ["query", sql, "--root", str(lake), "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == [
        {"name": "session.expired", "n": 200},
        {"name": "session.started", "n": 200},
    ]
    out = runner.invoke(app, ["query", sql, "--root", str(lake), "-f", "csv"])
    assert out.output.splitlines() == ["name,n", "session.expired,200", "session.started,200"]


def test_query_reports_sql_errors_without_a_traceback(lake: Path) -> None:
    out = runner.invoke(app, ["query", "SELECT nope FROM session", "--root", str(lake)])
    assert out.exit_code == 2
    assert "nope" in out.output


def test_report_with_since_until_as_a_table(lake: Path) -> None:
    out = runner.invoke(
        app,
        [
            "report",
            "validation",
            "--root",
            str(lake),
            "--since",
            "2026-01-01T01:00",
            "--until",
            "2026-01-01T02:00",
        ],
    )
    assert out.exit_code == 0, out.output
    assert "pass_rate_pct" in out.output
    bad = runner.invoke(app, ["report", "nope", "--root", str(lake)])
    assert bad.exit_code == 2


def test_compact_then_the_same_answers(lake: Path) -> None:
    sql = "SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM audit"
    before = runner.invoke(app, ["query", sql, "--root", str(lake), "-f", "json"]).output
    out = runner.invoke(app, ["compact", "--root", str(lake), "--before", "2026-01-02"])
    assert out.exit_code == 0, out.output
    assert "duplicates dropped" in out.output
    assert runner.invoke(app, ["query", sql, "--root", str(lake), "-f", "json"]).output == before


def test_shell_prints_sql_that_creates_every_view(lake: Path) -> None:
    out = runner.invoke(app, ["shell", "--root", str(lake), "--print-sql"])
    assert out.exit_code == 0
    assert "CREATE OR REPLACE VIEW session AS SELECT * FROM read_parquet(" in out.output
    assert f"'{lake}/session/**/*.parquet'" in out.output
    import duckdb

    con = duckdb.connect()
    con.execute(out.output)
    assert con.execute("SELECT count(*) FROM session").fetchone() == (400,)


async def test_sink_command_writes_the_stream_and_flushes_on_ctrl_c(
    redis: Any, redis_url: str, tmp_path: Path
) -> None:
    log = RedisEventLog(redis)
    for e in mixed_events(500):
        log.emit(e)
    await log.flush()
    env = {
        **os.environ,
        "ARBCAST_ANALYTICS__BATCH_MAX_SECONDS": "3600",
        "ARBCAST_ANALYTICS__BLOCK_SECONDS": "0.05",
        "ARBCAST_ANALYTICS__FSYNC": "false",
    }
    code = "from analytics.cli import app; app()"
    proc = subprocess.Popen(  # noqa: ASYNC220 - a real process, to send it SIGINT
        [
            sys.executable,
            "-c",
            code,
            "sink",
            "--redis-url",
            redis_url,
            "--root",
            str(tmp_path),
            "--consumer",
            "cli",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    try:

        async def read_all() -> bool:
            groups = await redis.xinfo_groups("arbcast:events")
            return bool(groups) and int(groups[0]["pending"]) == 1  # all read, none written

        await eventually(read_all, timeout=30, what="the sink read the stream")
        written = await asyncio.to_thread(lambda: list(tmp_path.rglob("*.parquet")))
        assert not written  # batching: nothing written yet
        proc.send_signal(signal.SIGINT)
        out, _ = await asyncio.to_thread(proc.communicate, timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "wrote 500 events" in out
    assert await redis.xlen("arbcast:events") == 0


def test_rollup_brings_the_dashboards_rollups_up_to_date(lake: Path) -> None:
    out = runner.invoke(app, ["rollup", "--root", str(lake)])
    assert out.exit_code == 0, out.output
    rows = [e for e in mixed_events(1400) if e.name.startswith("distribution.")]
    hours = {int(e.ts // 3600) for e in rows}
    assert f"rolled up {len(hours)} of {len(hours)} hours ({len(rows)} raw rows read)" in out.output
    assert f"-> {lake}-rollups" in out.output
    assert Path(f"{lake}-rollups/hours.parquet").is_file()
    again = runner.invoke(app, ["rollup", "--root", str(lake)])
    assert f"rolled up 0 of {len(hours)} hours (0 raw rows read)" in again.output
