"""The demo's push section: a burst of opportunities reaches a crowd of users through the whole
pipeline (distributor → queue shards on Ray → outbox → sender → emulator), with live counters."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from rich.console import Console

from arbcast.runtime import Runtime
from core.models import Opportunity, OpportunityType, Priority, Tier
from core.settings import Settings
from core.store import keys

console = Console()
TIERS = (Tier.FREE, Tier.BASIC, Tier.PREMIUM, Tier.ENTERPRISE)


def demo_push_settings(settings: Settings) -> Settings:
    """Short batching windows, so that digests go out while the demo watches."""
    d = settings.distribution.model_copy(
        update={"medium_window_seconds": 4.0, "low_window_seconds": 8.0, "tick_seconds": 0.25}
    )
    return settings.model_copy(update={"distribution": d})


def burst(now: float) -> list[Opportunity]:
    """Opportunities as the engine publishes them, detected ten minutes ago (past every tier's
    delay); MEDIUM and LOW, so each user gets one digest (a HIGH would go out at once, and the
    tier's cooldown between pushes would then hold back the rest)."""
    plan = [
        ("BTC/USDT", OpportunityType.ARBITRAGE, "binance", "okx", 0.9, Priority.MEDIUM),
        ("ETH/USDT", OpportunityType.ARBITRAGE, "bybit", "kraken", 0.6, Priority.MEDIUM),
        ("SOL/USDT", OpportunityType.FUNDING, "okx", "bybit", 0.5, Priority.MEDIUM),
        ("XRP/USDT", OpportunityType.ARBITRAGE, "kraken", "binance", 0.35, Priority.LOW),
        ("DOGE/USDT", OpportunityType.TECHNICAL, "binance", "bybit", 0.45, Priority.MEDIUM),
    ]
    return [
        Opportunity(
            opportunity_id=f"demo{i}",
            type=kind,
            symbol=symbol,
            buy_exchange=buy,
            sell_exchange=sell,
            buy_price=100.0,
            sell_price=100.0 + profit,
            net_spread_pct=profit,
            expected_profit_pct=profit,
            confidence=0.8,
            priority=priority,
            detected_at=now - 600,
            updated_at=now,
            expires_at=now + 1800,
            recommended_position_usd=5_000,
        )
        for i, (symbol, kind, buy, sell, profit, priority) in enumerate(plan)
    ]


async def _emulator_stats(http: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    async with http.get(f"{base}/emulator/stats") as resp:
        data: dict[str, Any] = await resp.json()
        return data


async def run_pushes(
    rt: Runtime, http: aiohttp.ClientSession, base: str, user_ids: list[int]
) -> None:
    console.rule("[bold]8. Pushes: a burst reaches the crowd, at Telegram's rate[/]")
    if rt.pushes is None:
        console.print("[magenta]pushes are off (ARBCAST_DISTRIBUTION__ENABLED=false)[/]")
        return
    redis = rt.services.redis
    # The engine above replayed its market on the fast-forwarded clock: those changes are
    # left out; this burst is stamped with the wall clock the actors read.
    await redis.xtrim(keys.OPPORTUNITY_CHANGES, maxlen=0)
    for i, uid in enumerate(user_ids[:-1]):
        await rt.services.profiles.set_tier(uid, TIERS[i % len(TIERS)])
    if len(user_ids) > 3:
        await rt.services.profiles.update(user_ids[1], dnd_until=time.time() + 7200)
        async with http.post(
            f"{base}/emulator/users/{user_ids[2]}/block", json={}
        ) as resp:  # Telegram tells the bot (my_chat_member): the session ends, no push goes
            assert resp.status == 200, await resp.text()
    rows = await rt.pushes.start()
    before = await _emulator_stats(http, base)
    now = time.time()
    opps = burst(now)
    await rt.services.opportunities.apply(opened=opps)
    console.print(
        f"{rows} users with a session are loaded into {rt.settings.shards} queue shards; "
        f"{len(opps)} opportunities published (batched into one digest per user)"
    )
    last_sent, quiet = 0, 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:
        await asyncio.sleep(1.0)  # a live display's refresh period
        c = await rt.pushes.counters()
        rate = c["sent"] - last_sent
        last_sent = c["sent"]
        dropped = ", ".join(f"{k} {v}" for k, v in sorted(c["dropped"].items())) or "none"
        console.print(
            f"  sent {c['sent']:>4} · pending {c['pending']:>3} · held {c['held']:>2} · "
            f"backlog {c['backlog']:>3} · dropped: {dropped} · "
            f"rate {rate:>2}/s (limit {c['limit_per_second']}/s)"
        )
        quiet = quiet + 1 if c["pending"] == c["held"] and c["backlog"] == 0 and rate == 0 else 0
        if quiet >= 2:
            break
    after = await _emulator_stats(http, base)
    c = await rt.pushes.counters()
    rejected = ", ".join(f"{k} {v}" for k, v in sorted(c["rejected"].items())) or "none"
    console.print(f"rejected by eligibility layer: {rejected}")
    console.print(
        f"the emulator received {after['messages_sent'] - before['messages_sent']} messages, "
        f"answered {after['too_many_requests']['total'] - before['too_many_requests']['total']} "
        f"429s and {after['forbidden'] - before['forbidden']} 403s (one user blocked the bot "
        "before the burst: Telegram told the bot, their session ended, nothing was sent)"
    )
    closing = opps[0].model_copy(update={"closed": True, "updated_at": time.time()})
    await rt.services.opportunities.apply(closed=[closing])
    console.print(
        f"{closing.opportunity_id} closed: the messages that carry it are edited to say so"
    )
    for _ in range(20):  # the edits go out (a few seconds at most) before the demo moves on
        await asyncio.sleep(0.5)
        c = await rt.pushes.counters()
        if c["backlog"] == 0 and c["delayed"] == 0:
            break
    edits = (await _emulator_stats(http, base))["calls"].get("editMessageText", 0)
    console.print(f"{edits - after['calls'].get('editMessageText', 0)} messages edited")
    await rt.pushes.stop()
