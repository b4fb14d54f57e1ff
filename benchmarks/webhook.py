"""Webhook throughput and latency: the whole bot against a no-op aiogram webhook.

    python -m benchmarks.webhook [--users 32] [--duration 15] [--processes 1]

Load generator: locust, headless, in a subprocess (locust's gevent cannot share this asyncio
process), closed loop (no think time): `SessionFirstUser` of benchmarks/locustfile.py, i.e.
users who each hold an active session (seeded at start: a chat in the emulator and /start)
sending /status and stray text straight to the webhook with the secret header. Every update
takes the session-first path: dedup, the session gate (cached session, activity recorded), the
handler, one sendMessage to the emulator (limits off, its own process).

Baseline, same run, same generator and settings: aiogram's SimpleRequestHandler and a Dispatcher
whose only handlers do nothing (no Redis, no reply), in its own process.

Targets: >= 2,000 updates/s and p99 <= 25 ms; the session-first path may cost at most 20% of the
no-op's throughput, i.e. bot/no-op >= 0.8. The JSON line (last) is the bot's updates/s against
the no-op's.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmarks.common import emulator, run_locust, webhook_server
from benchmarks.report import emit, table

TARGET_RPS = 2_000.0
TARGET_P99_MS = 25.0
TARGET_RATIO = 0.8


def measure(
    users: int = 32, duration: float = 15.0, processes: int = 1, background: bool = False
) -> dict[str, dict[str, float]]:
    """{"noop": figures, "bot": figures}; figures: requests, failures, rps, p50, p95, p99."""
    out: dict[str, dict[str, float]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="arbcast-bench-webhook-") as tmp,
        emulator("off") as emu,
    ):
        for mode in ("noop", "bot"):
            with webhook_server(mode, emu, background=background) as hook:
                result = run_locust(
                    hook,
                    out_dir=Path(tmp) / mode,
                    users=users,
                    duration=duration,
                    think_ms=0.0,
                    user_class="SessionFirstUser",
                    emulator_url=emu if mode == "bot" else "",
                    processes=processes,
                )
            out[mode] = result.webhook
    return out


def report(r: dict[str, dict[str, float]], users: int, duration: float) -> dict[str, object]:
    noop, bot = r["noop"], r["bot"]
    rows = [
        [name, int(x["requests"]), int(x["failures"]), x["rps"], x["p50"], x["p95"], x["p99"]]
        for name, x in (("no-op aiogram webhook (baseline)", noop), ("arbcast bot", bot))
    ]
    table(
        f"Webhook, locust closed loop, {users} users, {duration:g} s each",
        ["server", "updates", "failures", "updates/s", "p50 ms", "p95 ms", "p99 ms"],
        rows,
    )
    ratio = bot["rps"] / noop["rps"] if noop["rps"] else 0.0
    emit(
        "webhook",
        "p99_ms",
        bot["p99"],
        "ms",
        baseline=noop["p99"],
        target=TARGET_P99_MS,
        higher_is_better=False,
    )
    emit(
        "webhook",
        "session_first_share_of_noop",
        ratio,
        "ratio",
        baseline=1.0,
        target=TARGET_RATIO,
        higher_is_better=True,
    )
    return emit(
        "webhook",
        "updates_per_s",
        bot["rps"],
        "updates/s",
        baseline=noop["rps"],
        target=TARGET_RPS,
        higher_is_better=True,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--users", type=int, default=32)
    p.add_argument("--duration", type=float, default=15.0)
    p.add_argument("--processes", type=int, default=1, help="locust processes")
    p.add_argument("--background", action="store_true", help="handle_in_background on both")
    args = p.parse_args()
    report(
        measure(args.users, args.duration, args.processes, args.background),
        args.users,
        args.duration,
    )


if __name__ == "__main__":
    main()
