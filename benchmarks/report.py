"""How every benchmark reports: a readable table, then one JSON line last.

The JSON line is `{"benchmark", "metric", "value", "unit", "baseline", "ratio", "target", "met"}`;
the baseline is measured in the same run, so the ratio holds on a noisy machine.
"""

from __future__ import annotations

import json
import platform
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def summary(samples: Sequence[float]) -> dict[str, float]:
    return {
        "n": float(len(samples)),
        "mean": statistics.fmean(samples),
        "p50": percentile(samples, 50),
        "p99": percentile(samples, 99),
        "max": max(samples),
    }


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    t = Table(title=title)
    for c in columns:
        t.add_column(c, justify="right" if c != columns[0] else "left")
    for row in rows:
        t.add_row(*(f"{v:,.2f}" if isinstance(v, float) else str(v) for v in row))
    Console().print(t)


def emit(
    benchmark: str,
    metric: str,
    value: float,
    unit: str,
    *,
    baseline: float | None,
    target: float | None,
    higher_is_better: bool,
) -> dict[str, object]:
    ratio = (value / baseline) if baseline else None
    met = None
    if target is not None:
        met = value >= target if higher_is_better else value <= target
    line: dict[str, object] = {
        "benchmark": benchmark,
        "metric": metric,
        "value": round(value, 3),
        "unit": unit,
        "baseline": None if baseline is None else round(baseline, 3),
        "ratio": None if ratio is None else round(ratio, 3),
        "target": target,
        "met": met,
        "machine": f"{platform.machine()} {platform.python_version()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }
    print(json.dumps(line))
    return line
