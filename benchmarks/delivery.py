"""Delivery: messages/s to the Bot API emulator through a real aiogram Bot with `FloodControl`.

    python -m benchmarks.delivery [--messages 20000] [--concurrency 200] [--window 10]

The emulator runs in its own process; the sender here is an aiogram `Bot` on arbcast's
`JsonSession` with its `FloodControl` request middleware (`messaging.transport.flood_control`),
as the bot and the push senders use them. Chats are made known to the emulator first (one user
message each through its control API). Three phases:

- off: emulator limits off, pacer limits effectively off: the pipeline's own ceiling, --messages
  sendMessage calls to 1,000 chats with --concurrency in flight. Baseline: the same calls as bare
  aiohttp JSON POSTs (no aiogram, no middleware) - the emulator's and the loopback's ceiling.
  Target >= 5,000 messages/s.
- telegram: emulator at Telegram's limits (30/s per bot, 1/s per private chat, burst 3), the
  pacer at arbcast's defaults (`Settings().telegram.pace_*`, 29/s), more messages queued than
  fit, to many chats, for --window seconds: the share of the allowed 30/s reached and the 429s
  seen. Target >= 97% with zero 429s. Baseline: the same Bot without `FloodControl`.
- paid: emulator in paid-broadcast mode (up to 1,000/s with `allow_paid_broadcast`; aiogram's
  `send_message` has the parameter), pacer global rate --paid-pace (990/s), one or two
  messages per chat, for --window/2 seconds: share of the allowed 1,000/s and 429s. Same target.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter

from benchmarks.common import TOKEN, emulator
from benchmarks.report import emit, table
from core.settings import Settings
from messaging.transport.flood_control import FloodControl
from messaging.transport.json_session import JsonSession
from messaging.transport.pacing import Pacer, PacerLimits

TARGET_OFF = 5_000.0
TARGET_SHARE = 0.97
ALLOWED = {"telegram": 30.0, "paid": 1_000.0}
TEXT = "🔺 <b>BTC/USDT</b> arbitrage: buy on binance, sell on okx, <b>+0.80%</b>"
CHAT_BASE = 5_000_000
PAID_PACE = 990.0  # the pacer's global rate in the paid phase (--paid-pace)


@dataclass
class Phase:
    name: str
    sent: int
    seconds: float
    rate: float
    too_many: int
    errors: int
    allowed: float | None = None

    @property
    def share(self) -> float:
        return self.rate / self.allowed if self.allowed else float("nan")


def make_bot(api: str, limits: PacerLimits | None) -> tuple[Bot, FloodControl | None]:
    session = JsonSession(api=TelegramAPIServer.from_base(api), limit=1_000)
    sender = None
    if limits is not None:
        sender = FloodControl(Pacer(limits, max_chats=1_000_000), max_retries=3)
        session.middleware(sender)
    return Bot(TOKEN, session=session), sender


async def control(http: aiohttp.ClientSession, api: str, path: str, body: Any) -> Any:
    async with http.post(f"{api}{path}", json=body) as resp:
        return await resp.json()


async def stats(http: aiohttp.ClientSession, api: str) -> dict[str, Any]:
    async with http.get(f"{api}/emulator/stats") as resp:
        data: dict[str, Any] = await resp.json()
        return data


async def setup(http: aiohttp.ClientSession, api: str, limits: str, chats: list[int]) -> None:
    """Reset the emulator, set its limits, make the chats known (bounded, 100 at a time)."""
    await control(http, api, "/emulator/reset", {})
    await control(http, api, "/emulator/config", {"limits": limits})
    for lo in range(0, len(chats), 100):
        await asyncio.gather(
            *(
                control(
                    http, api, f"/emulator/users/{c}/messages", {"text": "hi", "bot_token": TOKEN}
                )
                for c in chats[lo : lo + 100]
            )
        )


async def _pool(
    jobs: list[Callable[[], Awaitable[None]]], concurrency: int, deadline: float
) -> tuple[int, int, int]:
    """Run jobs with `concurrency` workers until done or `deadline`: (ok, 429s, errors)."""
    it = iter(jobs)
    ok = too_many = errors = 0

    async def worker() -> None:
        nonlocal ok, too_many, errors
        for job in it:
            if time.perf_counter() > deadline:
                return
            try:
                await job()
                ok += 1
            except TelegramRetryAfter:
                too_many += 1
            except Exception:
                errors += 1

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    try:
        await asyncio.wait_for(
            asyncio.gather(*workers), max(0.1, deadline - time.perf_counter()) + 5
        )
    except TimeoutError:
        for w in workers:
            w.cancel()
    return ok, too_many, errors


async def phase_off(api: str, n: int, concurrency: int, limit_s: float) -> tuple[Phase, Phase]:
    chats = [CHAT_BASE + i for i in range(1_000)]
    big = 1e9
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1_000)) as http:
        await setup(http, api, "off", chats)
        targets = list(itertools.islice(itertools.cycle(chats), n))
        # Baseline: bare aiohttp.
        url = f"{api}/bot{TOKEN}/sendMessage"

        def raw(chat: int) -> Callable[[], Awaitable[None]]:
            async def job() -> None:
                payload = {"chat_id": chat, "text": TEXT, "parse_mode": "HTML"}
                async with http.post(url, json=payload) as resp:
                    if resp.status != 200:
                        raise RuntimeError(resp.status)
                    await resp.read()

            return job

        t0 = time.perf_counter()
        ok, tm, err = await _pool([raw(c) for c in targets], concurrency, t0 + limit_s)
        dt = time.perf_counter() - t0
        base = Phase("off · baseline: bare aiohttp", ok, dt, ok / dt, tm, err)

    bot, _ = make_bot(api, PacerLimits(big, big, big, big))
    try:
        await bot.send_message(chats[0], TEXT, parse_mode="HTML")  # warm the connection pool

        def send(chat: int) -> Callable[[], Awaitable[None]]:
            async def job() -> None:
                await bot.send_message(chat, TEXT, parse_mode="HTML")

            return job

        t0 = time.perf_counter()
        ok, tm, err = await _pool([send(c) for c in targets], concurrency, t0 + limit_s)
        dt = time.perf_counter() - t0
    finally:
        await bot.session.close()
    return Phase("off · aiogram Bot + FloodControl", ok, dt, ok / dt, tm, err), base


async def phase_limited(api: str, mode: str, window: float, paced: bool, n_chats: int) -> Phase:
    """Keep more sends queued than the limits allow for `window` seconds; count what got in."""
    allowed = ALLOWED[mode]
    paid = mode == "paid"
    chats = [CHAT_BASE + i for i in range(n_chats)]
    tg = Settings().telegram
    limits = PacerLimits(
        global_per_second=PAID_PACE if paid else tg.pace_global_per_second,
        private_per_second=tg.pace_private_per_second,
        private_burst=tg.pace_private_burst,
        group_per_minute=tg.pace_group_per_minute,
    )
    async with aiohttp.ClientSession() as http:
        await setup(http, api, mode, chats)
        bot, _sender = make_bot(api, limits if paced else None)
        try:
            await bot.get_me()
            before = await stats(http, api)
            # Enough sends to keep the limit busy for the whole window: 1.2x what it allows,
            # spread round-robin over the chats (at most two per chat within the window).
            n = int(allowed * window * 1.2)
            targets = list(itertools.islice(itertools.cycle(chats), n))
            done_at: list[float] = []
            too_many = errors = 0

            async def one(chat: int) -> None:
                nonlocal too_many, errors
                try:
                    await bot.send_message(
                        chat, TEXT, parse_mode="HTML", allow_paid_broadcast=paid or None
                    )
                    done_at.append(time.perf_counter())
                except TelegramRetryAfter:
                    too_many += 1
                except Exception:
                    errors += 1

            t0 = time.perf_counter()
            tasks = [asyncio.create_task(one(c)) for c in targets]
            await asyncio.sleep(window)
            for t in tasks:
                t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*tasks, return_exceptions=True)
            after = await stats(http, api)
        finally:
            await bot.session.close()
    in_window = sum(1 for t in done_at if t - t0 <= window)
    refused = after["too_many_requests"]["total"] - before["too_many_requests"]["total"]
    label = f"{mode} · {'aiogram Bot + FloodControl' if paced else 'baseline: Bot, no pacing'}"
    return Phase(
        label, in_window, window, in_window / window, max(refused, too_many), errors, allowed
    )


async def run_all(
    api: str, messages: int, concurrency: int, window: float, n_chats: int
) -> dict[str, Phase]:
    off, off_base = await phase_off(api, messages, concurrency, limit_s=window * 2)
    tg_base = await phase_limited(api, "telegram", window / 2, paced=False, n_chats=n_chats)
    tg = await phase_limited(api, "telegram", window, paced=True, n_chats=n_chats)
    paid = await phase_limited(
        api, "paid", window / 2, paced=True, n_chats=int(ALLOWED["paid"] * window / 2 * 0.7)
    )
    return {"off": off, "off_base": off_base, "tg": tg, "tg_base": tg_base, "paid": paid}


def measure(
    messages: int = 20_000, concurrency: int = 200, window: float = 10.0, n_chats: int = 600
) -> dict[str, Phase]:
    with emulator("off") as api:
        return asyncio.run(run_all(api, messages, concurrency, window, n_chats))


def report(r: dict[str, Phase]) -> dict[str, object]:
    rows = []
    for p in (r["off_base"], r["off"], r["tg_base"], r["tg"], r["paid"]):
        share = f"{p.share:.1%} of {p.allowed:g}/s" if p.allowed else ""
        rows.append([p.name, p.sent, p.seconds, p.rate, share, p.too_many, p.errors])
    table(
        "Delivery to the emulator",
        ["phase", "sent", "seconds", "messages/s", "share of allowed", "429s", "other errors"],
        rows,
    )
    emit(
        "delivery",
        "paid_share_of_1000_per_s",
        r["paid"].share,
        "ratio",
        baseline=None,
        target=TARGET_SHARE,
        higher_is_better=True,
    )
    emit(
        "delivery",
        "paid_429s",
        r["paid"].too_many,
        "count",
        baseline=None,
        target=0,
        higher_is_better=False,
    )
    emit(
        "delivery",
        "telegram_429s",
        r["tg"].too_many,
        "count",
        baseline=r["tg_base"].too_many,
        target=0,
        higher_is_better=False,
    )
    emit(
        "delivery",
        "telegram_share_of_30_per_s",
        r["tg"].share,
        "ratio",
        baseline=r["tg_base"].share,
        target=TARGET_SHARE,
        higher_is_better=True,
    )
    return emit(
        "delivery",
        "limits_off_messages_per_s",
        r["off"].rate,
        "messages/s",
        baseline=r["off_base"].rate,
        target=TARGET_OFF,
        higher_is_better=True,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--messages", type=int, default=20_000, help="sends in the limits-off phase")
    p.add_argument("--concurrency", type=int, default=200, help="sends in flight (limits off)")
    p.add_argument("--window", type=float, default=10.0, help="seconds at Telegram limits")
    p.add_argument("--chats", type=int, default=600, help="chats at Telegram limits")
    p.add_argument("--paid-pace", type=float, default=990.0, help="pacer rate, paid phase")
    args = p.parse_args()
    global PAID_PACE
    PAID_PACE = args.paid_pace
    logging.getLogger("messaging.transport.flood_control").setLevel(
        logging.ERROR
    )  # 429s are counted instead
    report(measure(args.messages, args.concurrency, args.window, args.chats))


if __name__ == "__main__":
    main()
