"""`make bench`: every benchmark, each in its own process, then all their JSON lines.

    python -m benchmarks [--only webhook fanout ...] [--quick]

Runs session, analytics, fanout, delivery, pipeline, webhook, market_ingest,
personalisation and scale_model one after another (never two at once: the machine has 2
cores), each as `python -m benchmarks.NAME`, showing its table as it goes, and prints every
JSON line at the end. Exits 1 if a benchmark failed to run (a missed target is a result, not
a failure: see "met" in its line). Each run is bounded by a timeout.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from benchmarks.common import ROOT, child_env

BENCHMARKS: dict[str, list[str]] = {
    "session": [],
    "analytics": [],
    "fanout": [],
    "delivery": [],
    "pipeline": [],
    "webhook": [],
    "market_ingest": [],
    "personalisation": [],
    "scale_model": [],
}
QUICK: dict[str, list[str]] = {
    "session": ["--sessions", "10000", "--lookups", "5000"],
    "analytics": ["--events", "200000", "--baseline-events", "50000", "--report-events", "200000"],
    "fanout": ["--users", "20000", "--repeats", "5"],
    "delivery": ["--messages", "3000", "--window", "4", "--chats", "200"],
    "pipeline": ["--messages", "1000"],
    "webhook": ["--duration", "6", "--users", "16"],
    "market_ingest": ["--rows", "100000", "--repeats", "1"],
    "personalisation": ["--users", "100", "--days", "7", "--bootstrap", "200"],
    "scale_model": ["--unit-users", "500", "1000", "--check-users", "2000", "--repeats", "1"],
}
TIMEOUT_S = 900


def run(name: str, args: list[str]) -> tuple[int, list[dict[str, object]]]:
    cmd = [sys.executable, "-m", f"benchmarks.{name}", *args]
    print(f"\n=== {' '.join(cmd[1:])}", flush=True)
    try:
        proc = subprocess.run(
            cmd, cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, text=True, timeout=TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        print(f"{name}: timed out after {TIMEOUT_S} s", flush=True)
        return 1, []
    lines = []
    for line in proc.stdout.splitlines():
        print(line, flush=True)
        if line.startswith('{"benchmark"'):
            lines.append(json.loads(line))
    return proc.returncode, lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--only", nargs="+", choices=list(BENCHMARKS), default=list(BENCHMARKS))
    p.add_argument("--quick", action="store_true", help="small sizes (minutes, not tens)")
    args = p.parse_args(argv)
    failed = []
    results: list[dict[str, object]] = []
    for name in args.only:
        code, lines = run(name, (QUICK if args.quick else BENCHMARKS)[name])
        if code != 0 or not lines:
            failed.append(name)
        results += lines
    print("\n=== results (JSON lines)")
    for line in results:
        print(json.dumps(line))
    if failed:
        print(f"failed to run: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
