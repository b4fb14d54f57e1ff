"""A writer killed with SIGKILL mid-write (a real process) loses only what it had not finished:
DuckDB reads every file that was complete, and never the partial one, which sits under a
temporary name the `*.parquet` glob does not match."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.market import MarketSimSettings, SimulatedMarket
from tests.core.market.lake_kill_child import SEED, SMALL, T0

ROOT = Path(__file__).resolve().parents[3]


def test_sigkill_mid_write_leaves_complete_files_readable_and_no_partial_visible(
    tmp_path: Path,
) -> None:
    lake = tmp_path / "market"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.core.market.lake_kill_child", str(lake)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        complete: list[str] = []
        while True:
            line = child.stdout.readline()
            assert line, f"the writer exited early ({child.wait()})"
            msg = json.loads(line)
            if "writing" in msg:
                break
            complete.append(msg["done"])
        # Its temporary file appears once the (slow) write starts: then kill it.
        deadline = time.monotonic() + 60
        while not list(lake.rglob(".tmp-*.inprogress")):
            assert time.monotonic() < deadline, "the large write never started"
            assert child.poll() is None, "the writer finished before it could be killed"
            time.sleep(0.005)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    assert len(complete) == 2
    (partial,) = lake.rglob(".tmp-*.inprogress")
    with pytest.raises(pa.ArrowInvalid):
        pq.read_table(partial)  # truncated: no footer

    market = SimulatedMarket(MarketSimSettings(seed=SEED))
    expected_rows = sum(len(market.step(T0 + i)) for i in range(2 * SMALL))
    con = duckdb.connect()
    read = con.execute(
        f"SELECT filename, count(*), count(DISTINCT batch) FROM read_parquet("
        f"'{lake}/**/*.parquet', filename = true) GROUP BY filename ORDER BY filename"
    ).fetchall()
    assert sorted(str(lake / rel) for rel in complete) == [f for f, _, _ in read]
    assert sum(n for _, n, _ in read) == expected_rows
    assert [b for _, _, b in read] == [SMALL, SMALL]
