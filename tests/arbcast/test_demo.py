"""`make demo`, the README's main command, end to end on the test session's Ray: every step of
the narrated script runs, and its reports are read back from the Parquet it wrote."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from arbcast.demo import run_demo
from core.event_names import CATALOGUE, EventName
from tests.conftest import RAY_BOT_TOKEN


async def test_the_demo_runs_every_step_and_reads_its_reports_back(
    ray_instance: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # the demo keeps its Redis and lake under ./var/demo
    # The session's Ray is already up, with this token in its workers' environment; a demo run
    # alone starts its own Ray with its token.
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", RAY_BOT_TOKEN)
    await run_demo(extra_users=5)
    out = capsys.readouterr().out
    for heading in ("7. 5 more users at once", "report: sessions", "report: distribution"):
        assert heading in out, f"{heading!r} missing from the demo's output:\n{out[-3000:]}"
    lake = tmp_path / "var" / "demo" / "analytics"
    assert any(lake.rglob("*.parquet")), "the demo wrote no Parquet"
    # Every name a real run wrote is in the catalogue, and it reached its own table (not
    # `other`): read back from the Parquet by DuckDB, not from the emitters.
    glob = str(lake / "**" / "*.parquet")
    rows = duckdb.sql(
        f"SELECT DISTINCT name, split_part(filename, '/', -4) AS tbl "
        f"FROM read_parquet('{glob}', filename=true, union_by_name=true)"
    ).fetchall()
    names = {n for n, _ in rows}
    assert names - set(CATALOGUE) == set(), names - set(CATALOGUE)
    assert all(tbl == n.split(".", 1)[0] for n, tbl in rows), rows
    assert {EventName.SESSION_STARTED, EventName.SENT, EventName.REJECTED} <= names
