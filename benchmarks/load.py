"""`make load`: a short headless locust run against a real bot, with pass/fail thresholds.

    python -m benchmarks.load [--profile steady|ramp|spike] [--users 30] [--duration 20]
                              [--max-p99-ms 250] [--max-fail-ratio 0.01] [--out var/load]

Starts the Bot API emulator (limits off) and the bot (webhook mode, embedded Redis in a
temporary directory, engine and analytics sink off), each in its own process, runs
benchmarks/locustfile.py headless (the realistic `ArbcastUser` mix) for a bounded time, prints
the summary and exits 1 if the webhook p99 or the failure ratio passed the thresholds.
CSV and HTML reports are written under --out.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.common import ROOT, emulator, run_locust, webhook_server
from benchmarks.report import table


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--profile", choices=["steady", "ramp", "spike"], default="steady")
    p.add_argument("--users", type=int, default=30, help="users at the profile's peak")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of load")
    p.add_argument("--think-ms", type=float, default=300.0, help="mean pause per user")
    p.add_argument("--processes", type=int, default=1, help="locust processes (2 cores here)")
    p.add_argument("--max-p99-ms", type=float, default=250.0)
    p.add_argument("--max-fail-ratio", type=float, default=0.01)
    p.add_argument("--out", type=Path, default=ROOT / "var" / "load")
    args = p.parse_args(argv)

    with emulator("off") as emu, webhook_server("bot", emu) as hook:
        result = run_locust(
            hook,
            out_dir=args.out,
            profile=args.profile,
            users=args.users,
            duration=args.duration,
            think_ms=args.think_ms,
            emulator_url=emu,
            max_p99_ms=args.max_p99_ms,
            max_fail_ratio=args.max_fail_ratio,
            processes=args.processes,
        )
    rows = []
    for name, r in sorted(result.rows.items()):
        if name in ("webhook", "Aggregated"):
            continue
        rows.append([name, int(r["requests"]), int(r["failures"]), r["rps"], r["p50"], r["p99"]])
    for name in ("webhook", "Aggregated"):
        if r := result.rows.get(name, {}):
            label = "ALL direct webhook requests" if name == "webhook" else "ALL requests"
            rows.append(
                [label, int(r["requests"]), int(r["failures"]), r["rps"], r["p50"], r["p99"]]
            )
    table(
        f"Load test: {args.profile}, {args.users} users, {args.duration:g} s",
        ["request", "requests", "failures", "req/s", "p50 ms", "p99 ms"],
        rows,
    )
    hook_row = result.webhook
    total = result.rows.get("Aggregated", {})
    fail_ratio = total.get("failures", 0.0) / max(total.get("requests", 0.0), 1.0)
    print(
        f"webhook: {hook_row.get('rps', 0):.1f} updates/s, p50 {hook_row.get('p50', 0):.0f} ms, "
        f"p95 {hook_row.get('p95', 0):.0f} ms, p99 {hook_row.get('p99', 0):.0f} ms; "
        f"failures {int(total.get('failures', 0))}/{int(total.get('requests', 0))} "
        f"({fail_ratio:.2%}); thresholds p99 <= {args.max_p99_ms:g} ms, "
        f"failures <= {args.max_fail_ratio:.2%}: {'FAILED' if result.exit_code else 'ok'}"
    )
    print(f"reports: {result.csv_prefix}_stats.csv, {result.html}")
    return 1 if result.exit_code else 0


if __name__ == "__main__":
    sys.exit(main())
