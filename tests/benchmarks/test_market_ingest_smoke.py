"""Smoke test of `python -m benchmarks.market_ingest` at a tiny size: it writes every row and
prints a well-formed JSON line (never about speed: no figure is asserted)."""

from __future__ import annotations

import json

import pytest

from benchmarks import market_ingest


def test_market_ingest_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    result = market_ingest.measure(2_000, repeats=1)
    assert result["rows"] >= 2_000 and result["file_bytes"] > 0
    market_ingest.report(result)
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["benchmark"] == "market_ingest" and line["unit"] == "MB/s"
    assert line["baseline"] > 0 and line["ratio"] > 0 and line["met"] in (True, False)
    assert {"rows_per_s", "baseline_rows_per_s", "ratio_target"} <= set(line)
