"""Issue 15 through the bot: a typed minimum profit, the watchlist (add, "only these pairs",
remove) read by /opportunities, and the fair quota: repeat views and Details cost nothing, and
"left" shows both caps."""

from __future__ import annotations

from typing import Any

from core.models import Opportunity, OpportunityType, Priority, Tier
from tests.bot.conftest import BotEnv
from tests.bot.settings_screens import buttons, click, message_by_id, open_settings


def opp(i: int, now: float, symbol: str) -> Opportunity:
    return Opportunity.model_validate(
        {
            "opportunity_id": f"opp{i}",
            "type": OpportunityType.FUNDING,
            "symbol": symbol,
            "buy_exchange": "binance",
            "sell_exchange": "okx",
            "buy_price": 100.0,
            "sell_price": 100.5,
            "net_spread_pct": 0.5,
            "expected_profit_pct": 0.4 + i / 100,
            "confidence": 0.8,
            "priority": Priority.HIGH,
            "detected_at": now - 600,
            "updated_at": now,
            "expires_at": now + 900,
        }
    )


def listed(message: dict[str, Any]) -> list[str]:
    return [b.removeprefix("op:details:") for b in buttons(message) if b.startswith("op:details:")]


async def test_a_typed_minimum_profit_is_validated_and_saved(botenv: BotEnv) -> None:
    env = botenv
    mid = await open_settings(env)
    await click(env, 1, mid, "set:open:profit")
    prompt = await click(env, 1, mid, "set:profit:")
    assert "0.05% to 20%" in prompt["plain_text"]
    for bad in ("25", "0.01", "-1", "abc", "nan"):
        await env.send(1, bad)
        assert "Please send a percentage from 0.05% to 20%" in (await env.last(1))["plain_text"]
    assert (await env.services.profiles.get(1)).preferences.min_profit_pct == 0.0
    await env.send(1, "0,35 %")
    assert "Minimum profit set to 0.35%" in (await env.last(1))["plain_text"]
    assert (await env.services.profiles.get(1)).preferences.min_profit_pct == 0.35
    assert "Minimum profit: 0.35%" in (await message_by_id(env, 1, mid))["plain_text"]


async def test_the_watchlist_narrows_opportunities_to_its_pairs(botenv: BotEnv) -> None:
    env = botenv
    now = env.clock.now()
    for i, symbol in enumerate(["BTC/USDT", "ETH/USDT", "SOL/USDT"]):
        await env.services.opportunities.put(opp(i, now, symbol))
    await env.services.profiles.ensure(1, "Ann")
    await env.services.profiles.set_tier(1, Tier.PREMIUM)  # caps wide enough for all three
    mid = await open_settings(env)
    page = await click(env, 1, mid, "set:open:watch")
    assert "set:wonly:1" in buttons(page)
    # "Only these pairs" with an empty list would silence everything: refused.
    await click(env, 1, mid, "set:wonly:1")
    assert "Add a pair" in (await env.callback_answers(1))[-1]["text"]
    assert not (await env.services.profiles.get(1)).preferences.watch_only
    await click(env, 1, mid, "set:watch:")
    await env.send(1, "eth")
    assert "Added to your watchlist: ETH/USDT" in (await env.last(1))["plain_text"]
    await click(env, 1, mid, "set:watch:")
    await env.send(1, "sol-usdt")
    # Mode off: the list changes nothing yet.
    await env.send(1, "/opportunities")
    assert sorted(listed(await env.last(1))) == ["opp0", "opp1", "opp2"]
    page = await click(env, 1, mid, "set:wonly:1")
    assert "You get: only these pairs" in page["plain_text"]
    prefs = (await env.services.profiles.get(1)).preferences
    assert prefs.watch_only and prefs.watchlist == {"ETH/USDT", "SOL/USDT"}
    await env.send(1, "/opportunities")
    assert sorted(listed(await env.last(1))) == ["opp1", "opp2"]
    # A pair removed from the list drops out; removing the last turns the mode off.
    await click(env, 1, mid, "set:unwatch:SOL/USDT")
    await env.send(1, "/opportunities")
    assert listed(await env.last(1)) == ["opp1"]
    await click(env, 1, mid, "set:unwatch:ETH/USDT")
    assert "every pair reaches you again" in (await env.callback_answers(1))[-1]["text"]
    prefs = (await env.services.profiles.get(1)).preferences
    assert not prefs.watch_only and prefs.watchlist == frozenset()


async def test_repeat_views_and_details_are_free_and_left_shows_both_caps(
    botenv: BotEnv,
) -> None:
    """The issue's case: /opportunities 5 times in a row on the same opportunities used the
    whole hourly cap. Now it charges once; Details never charges; pushes keep their quota."""
    env = botenv
    now = env.clock.now()
    await env.services.profiles.ensure(1, "Ann")
    await env.services.profiles.set_tier(1, Tier.BASIC)
    limits = env.services.settings.tier_limits(Tier.BASIC)
    await env.services.opportunities.put(opp(1, now, "BTC/USDT"))
    await env.services.opportunities.put(opp(2, now, "ETH/USDT"))
    await env.send(1, "/start")
    for _ in range(5):
        await env.send(1, "/opportunities")
    shown = await env.last(1)
    assert sorted(listed(shown)) == ["opp1", "opp2"]
    assert await env.services.quota.used(1, now) == (2, 2)
    day_left = limits.daily_cap - 2 if limits.daily_cap else "unlimited"
    hour_left = limits.hourly_cap - 2 if limits.hourly_cap else "unlimited"
    assert f"Left today: {day_left} · this hour: {hour_left}" in shown["plain_text"]
    assert "2 seen in the last 10 min: free." in shown["plain_text"]
    for _ in range(3):
        await env.press(1, shown["message_id"], "op:details:opp1")
    assert "opp1" in (await env.last(1))["plain_text"]
    assert await env.services.quota.used(1, now) == (2, 2)
