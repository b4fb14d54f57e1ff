"""What each tier really receives in a default live run: `arbcast run` with default settings
(embedded Redis, the simulated market, the engine and the push pipeline on a local Ray) against
the emulator with Telegram's limits, and new users of every tier who only send /start.

    python -m benchmarks.live_tiers [--minutes 15] [--users-per-tier 3]

A SuperAdmin (the one setting changed: ARBCAST_SUPERADMIN_IDS) moves the paid users to their
tier with /settier. Every message a user gets after that is a push (they send nothing else).
Prints pushes per tier per hour, and the first push of each Free user; the JSON line's metric is
the slowest Free user's first push, against the promise of 10 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from benchmarks.report import emit, table
from core.models import Tier

TOKEN = "123456:" + "L" * 35
ADMIN = 900_001
FREE_PROMISE_S = 600.0
PAID = (Tier.BASIC, Tier.PREMIUM, Tier.ENTERPRISE)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start_emulator() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", "--limits", "telegram"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    found = re.search(r"(http://\S+)", proc.stdout.readline())
    if not found:
        proc.kill()
        raise SystemExit("the emulator did not start")
    return proc, found.group(1)


async def _messages(
    http: aiohttp.ClientSession, url: str, chat: int, at_least: int = 0
) -> list[dict[str, object]]:
    query = f"?min_count={at_least}&timeout=30" if at_least else ""
    async with http.get(f"{url}/emulator/chats/{chat}/messages{query}") as r:
        if r.status != 200:
            return []
        got: list[dict[str, object]] = await r.json()
        return got


async def _say(http: aiohttp.ClientSession, url: str, user: int, text: str) -> None:
    body = {"text": text, "first_name": f"u{user}", "wait": True, "timeout": 30}
    async with http.post(f"{url}/emulator/users/{user}/messages", json=body) as r:
        if r.status != 200:
            raise SystemExit(f"{text!r} from {user} failed: {r.status} {await r.text()}")


async def _wait_bot(http: aiohttp.ClientSession, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with http.get(f"{url}/emulator/stats") as r:
            calls = {k.lower(): v for k, v in (await r.json())["calls"].items()}
        if calls.get("getupdates", 0) > 0:
            return
        await asyncio.sleep(0.5)  # polling the emulator for the bot's first call
    raise SystemExit("the bot did not start polling")


async def run(minutes: float, per_tier: int) -> dict[str, object]:
    emulator, url = _start_emulator()
    data = Path(tempfile.mkdtemp(prefix="arbcast-live-"))
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ARBCAST_", "TELEGRAM_", "REDIS_"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        ARBCAST_DATA_DIR=str(data),
        ARBCAST_SUPERADMIN_IDS=f"[{ADMIN}]",
        ARBCAST_RAY__NAMESPACE=f"arbcast-live-{os.getpid()}",
    )
    log = (data / "bot.log").open("w")
    bot = subprocess.Popen(  # noqa: ASYNC220 (Popen returns at once)
        [sys.executable, "-m", "arbcast.cli", "run", "--api-base", url],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    users: dict[Tier, list[int]] = {
        t: [1_000 * (i + 1) + k for k in range(per_tier)] for i, t in enumerate((Tier.FREE, *PAID))
    }
    try:
        async with aiohttp.ClientSession() as http:
            await _wait_bot(http, url, 180)
            await _say(http, url, ADMIN, "/start")
            for tier, ids in users.items():
                for uid in ids:
                    await _say(http, url, uid, "/start")
                    if tier is not Tier.FREE:
                        await _say(http, url, ADMIN, f"/settier {uid} {tier.value}")
            started = time.time()
            # The welcome and the onboarding offer of /start come first; all after is a push.
            baseline = {uid: len(await _messages(http, url, uid, at_least=2))
                        for ids in users.values() for uid in ids}  # fmt: skip
            first: dict[int, float] = {}
            pushes: dict[int, int] = {}
            received: dict[int, list[str]] = {}
            end = started + minutes * 60
            while time.time() < end:
                await asyncio.sleep(5)  # sampling the chats, not synchronising
                for ids in users.values():
                    for uid in ids:
                        msgs = await _messages(http, url, uid)
                        pushes[uid] = len(msgs) - baseline[uid]
                        received[uid] = [str(m.get("plain_text", ""))[:160]
                                         for m in msgs[baseline[uid]:]]  # fmt: skip
                        if pushes[uid] > 0 and uid not in first:
                            first[uid] = time.time() - started
    finally:
        bot.terminate()
        try:
            bot.wait(timeout=60)
        except subprocess.TimeoutExpired:
            bot.kill()
        emulator.terminate()
        emulator.wait(timeout=10)
        log.close()
    hours = minutes / 60
    rows = []
    per_tier_hour: dict[str, float] = {}
    for tier, ids in users.items():
        total = sum(pushes.get(u, 0) for u in ids)
        got = sum(1 for u in ids if pushes.get(u, 0) > 0)
        firsts = [first[u] for u in ids if u in first]
        per_tier_hour[tier.value] = total / len(ids) / hours
        rows.append(
            [
                tier.label,
                len(ids),
                got,
                total,
                f"{per_tier_hour[tier.value]:.1f}",
                f"{min(firsts):.0f}" if firsts else "-",
                f"{max(firsts):.0f}" if firsts else "-",
            ]
        )
    table(
        f"Pushes per tier, default `arbcast run`, {minutes:g} min",
        ["tier", "users", "users with a push", "pushes", "per user per hour", "first (s)",
         "last first (s)"],
        rows,
    )  # fmt: skip
    free = users[Tier.FREE]
    # A Free user without any push counts as the whole run (the promise was missed).
    slowest = max(first.get(u, minutes * 60) for u in free)
    result: dict[str, object] = {
        "per_tier_per_user_hour": per_tier_hour,
        "free_first_push_s": [first.get(u) for u in free],
        "log": str(data / "bot.log"),
        "messages": str(data / "received.json"),
    }
    (data / "received.json").write_text(json.dumps(received, indent=1))
    print(result)
    emit(
        "live_tiers",
        "slowest_free_first_push",
        slowest,
        "s",
        baseline=None,
        target=FREE_PROMISE_S,
        higher_is_better=False,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--users-per-tier", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.minutes, args.users_per_tier))


if __name__ == "__main__":
    main()
