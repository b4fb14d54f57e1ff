"""The personalisation benchmark at a tiny size: it runs, scores the synthetic population, says
plainly when a lake is missing, and prints a well-formed JSON line. Never about a figure's size."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import personalisation
from tests.benchmarks.test_smoke import last_json_line


def test_personalisation_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--users", "20", "--days", "4", "--bootstrap", "20", "--lake", str(tmp_path / "no")]
    assert personalisation.main(args) == 0
    out = capsys.readouterr().out
    line = last_json_line(out, "personalisation")
    assert line["baseline"] is not None and len(line["lift_ci"]) == 2
    assert "no lake at" in out and "run `arbcast demo` first" in out
