"""/dnd, /subscription and /opportunities with its shared daily and hourly caps."""

from __future__ import annotations

from core.events import EventName
from core.models import Opportunity, OpportunityType, Priority
from tests.bot.conftest import BotEnv


def sample(i: int, now: float, **kw: object) -> Opportunity:
    base: dict[str, object] = {
        "opportunity_id": f"opp{i}",
        "type": OpportunityType.ARBITRAGE,
        "symbol": "BTC/USDT",
        "buy_exchange": "binance",
        "sell_exchange": "okx",
        "buy_price": 60_000.0,
        "sell_price": 60_300.0,
        "net_spread_pct": 0.3 + i / 100,
        "expected_profit_pct": 0.3 + i / 100,
        "confidence": 0.8,
        "priority": Priority.HIGH,
        "detected_at": now - 600,
        "updated_at": now,
        "expires_at": now + 900,
    }
    base.update(kw)
    return Opportunity.model_validate(base)


async def test_dnd_sets_clears_and_explains_usage(botenv: BotEnv) -> None:
    await botenv.send(1, "/start")
    await botenv.send(1, "/dnd 2h")
    profile = await botenv.services.profiles.get(1)
    assert profile.preferences.dnd_until == botenv.clock.now() + 7200
    assert "Do Not Disturb until" in (await botenv.last(1))["text"]
    await botenv.send(1, "/dnd off")
    assert (await botenv.services.profiles.get(1)).preferences.dnd_until is None
    await botenv.send(1, "/dnd soon")
    assert "Usage: /dnd 2h" in (await botenv.last(1))["text"]
    await botenv.send(1, "/dnd 45d")
    assert "longer than 30 days" in (await botenv.last(1))["text"]


async def test_subscription_shows_the_tier_table(botenv: BotEnv) -> None:
    await botenv.send(1, "/start")
    await botenv.send(1, "/subscription")
    text = (await botenv.last(1))["text"]
    for tier in ("Free", "Basic", "Premium", "Enterprise"):
        assert tier in text
    assert "SuperAdmin" not in text
    assert "5/day" in text  # the Free tier's daily cap from settings


async def test_opportunities_is_friendly_when_nothing_is_live(botenv: BotEnv) -> None:
    await botenv.send(1, "/start")
    await botenv.send(1, "/opportunities")
    assert "No live opportunities" in (await botenv.last(1))["text"]


async def test_opportunities_shows_what_the_tier_allows_and_counts_against_caps(
    botenv: BotEnv,
) -> None:
    now = botenv.clock.now()
    store = botenv.services.opportunities
    funding = OpportunityType.FUNDING
    for i in range(3):
        await store.put(sample(i, now, type=funding))
    await store.put(sample(9, now, opportunity_id="arb"))  # spreads are for paid plans
    # Free sees it five minutes after detection.
    await store.put(sample(8, now, opportunity_id="fresh", detected_at=now, type=funding))
    await botenv.send(1, "/start")
    await botenv.send(1, "/opportunities")
    shown = await botenv.last(1)
    # Free: funding only, 5 minutes delayed, 2 per hour: the two best are shown.
    assert (
        "Live opportunities</b> (2)" in shown["text"] or "Live opportunities (2)" in shown["text"]
    )
    buttons = [row[0]["callback_data"] for row in shown["reply_markup"]["inline_keyboard"]]
    assert buttons == ["op:details:opp2", "op:details:opp1"]
    # The footer counts both caps: 2 of the hour's 2 are used, 3 of the day's 5 remain.
    assert "Left today: 3 · this hour: 0" in shown["text"]
    assert "1 more needs quota: it resets at 2026-01-01 01:00 UTC." in shown["text"]
    # Asking again within the repeat window shows the same two for free (issue 15).
    await botenv.send(1, "/opportunities")
    again = await botenv.last(1)
    assert "2 seen in the last 10 min: free." in again["text"]
    assert "Left today: 3 · this hour: 0" in again["text"]
    buttons = [row[0]["callback_data"] for row in again["reply_markup"]["inline_keyboard"]]
    assert buttons == ["op:details:opp2", "op:details:opp1"]
    # Ten minutes later (same hour) a view is charged again, and the hour has nothing left:
    # refused, and the refusal charges nothing.
    botenv.clock.advance(seconds=botenv.services.settings.opportunities.repeat_view_free_seconds)
    await botenv.send(1, "/opportunities")
    assert "used your Free allowance" in (await botenv.last(1))["text"]
    shown_events = botenv.services.events.named(EventName.OPPORTUNITIES_SHOWN)
    # Shown twice (events record each showing), charged once (the session's count).
    assert [e.attrs["opportunity_id"] for e in shown_events] == ["opp2", "opp1"] * 2
    s = await botenv.services.sessions.store.get(1)
    assert s is not None and s.opportunities_received == 2
    day, hour = await botenv.services.quota.used(1, now)
    assert (day, hour) == (2, 2)


async def test_opportunity_details_button_shows_the_full_record(botenv: BotEnv) -> None:
    now = botenv.clock.now()
    record = {
        "opportunity_id": "opp1",
        "level": 1,
        "passed": True,
        "reason": "ok",
        "figures": {"net_spread_pct": 0.31},
        "ts": now,
        "key": "k",
    }
    opp = sample(1, now, type=OpportunityType.FUNDING)
    await botenv.services.opportunities.apply(opened=[opp], records={"opp1": [record]})
    await botenv.send(1, "/start")
    await botenv.send(1, "/opportunities")
    shown = await botenv.last(1)
    await botenv.press(1, shown["message_id"], "op:details:opp1")
    details = (await botenv.last(1))["text"]
    assert "opp1" in details
    assert "✅ L1 Market: ok (net_spread_pct 0.31)" in details
    await botenv.press(1, shown["message_id"], "op:details:gone")
    assert "closed or expired" in (await botenv.callback_answers(1))[-1]["text"]


async def test_opportunities_asks_the_push_rules_that_concern_a_listing(botenv: BotEnv) -> None:
    """With pushes off and in Do Not Disturb the user still gets what they ask for; a user whose
    trading compliance restricted gets nothing listed (layer 6 applies on demand too)."""
    now = botenv.clock.now()
    await botenv.services.opportunities.put(sample(1, now, type=OpportunityType.FUNDING))
    await botenv.send(1, "/start")
    await botenv.services.profiles.update(1, push_enabled=False, dnd_until=now + 3_600)
    await botenv.send(1, "/opportunities")
    assert "Live opportunities" in (await botenv.last(1))["text"]
    await botenv.services.profiles.set_compliance(1, restricted=True)
    await botenv.send(1, "/opportunities")
    assert "No live opportunities" in (await botenv.last(1))["text"]
