"""Smoke tests of the benchmarks at tiny sizes: they run and print a well-formed JSON line.

Never about speed: nothing here asserts on a figure, only on the shape of the report.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from benchmarks import delivery, fanout, webhook

KEYS = {"benchmark", "metric", "value", "unit", "baseline", "ratio", "target", "met"}


def last_json_line(out: str, benchmark: str) -> dict[str, Any]:
    lines = [line for line in out.splitlines() if line.strip()]
    line: dict[str, Any] = json.loads(lines[-1])
    assert set(line) >= KEYS
    assert line["benchmark"] == benchmark
    assert isinstance(line["value"], int | float)
    assert line["met"] in (True, False, None)
    return line


def test_fanout_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    result = fanout.measure(500, repeats=2)
    fanout.report(result)
    line = last_json_line(capsys.readouterr().out, "fanout")
    assert line["unit"] == "s" and line["baseline"] is not None


def test_delivery_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    result = delivery.measure(messages=200, concurrency=10, window=1.0, n_chats=20)
    delivery.report(result)
    line = last_json_line(capsys.readouterr().out, "delivery")
    assert line["metric"] == "limits_off_messages_per_s"


# benchmarks.locustfile is never imported here: importing locust monkey-patches this process
# with gevent. The webhook smoke test runs it in a subprocess, against both servers.
def test_webhook_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    result = webhook.measure(users=2, duration=1.0)
    assert result["bot"]["requests"] > 0 and result["noop"]["requests"] > 0
    assert result["bot"]["failures"] == 0  # the bot took the generated Updates
    webhook.report(result, 2, 1.0)
    line = last_json_line(capsys.readouterr().out, "webhook")
    assert line["metric"] == "updates_per_s"


def test_push_cost_smoke() -> None:
    """The whole-fan-out benchmark at a tiny size, in its own process (it starts its own Ray,
    Redis and emulator): both priorities against the 2 s target with a same-run baseline, and
    the commands per push against 5."""
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.push_cost", "--users", "300", "--push-users", "20"],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    lines = [json.loads(x) for x in run.stdout.splitlines() if x.startswith('{"benchmark"')]
    by_metric = {line["metric"]: line for line in lines}
    assert set(by_metric) == {
        "fanout_high_seconds",
        "fanout_medium_seconds",
        "client_commands_per_push",
        "all_commands_per_push",
    }
    for metric in ("fanout_high_seconds", "fanout_medium_seconds"):
        line = by_metric[metric]
        assert set(line) >= KEYS and line["benchmark"] == "push_cost"
        assert line["target"] == 2.0 and line["baseline"] is not None
        assert line["met"] in (True, False)
    assert by_metric["client_commands_per_push"]["target"] == 5.0
