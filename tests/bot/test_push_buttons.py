"""Buttons on opportunity messages act at once and are engagement events; /why explains."""

from __future__ import annotations

from core.models import OpportunityType, Tier
from messaging.ui import templates
from tests.bot.conftest import BotEnv
from tests.bot.test_commands import sample


async def _with_message(env: BotEnv) -> int:
    """A message in chat 1 with buttons (onboarding's), to press opportunity buttons on."""
    await env.send(1, "/start")
    return int(next(m for m in await env.messages(1) if m.get("reply_markup"))["message_id"])


async def test_mute_pair_mutes_at_once_and_is_recorded(botenv: BotEnv) -> None:
    opp = sample(1, botenv.clock.now(), type=OpportunityType.FUNDING)  # in the Free plan
    await botenv.services.opportunities.put(opp)
    mid = await _with_message(botenv)
    await botenv.press(1, mid, "op:mute_pair:opp1")
    assert "BTC/USDT" in (await botenv.services.profiles.get(1)).preferences.muted_pairs
    assert "Muted BTC/USDT" in (await botenv.callback_answers(1))[-1]["text"]
    [event] = botenv.services.events.named("engagement.mute_pair")
    assert event.attrs["opportunity_id"] == "opp1"


async def test_mute_type_keeps_the_other_types_and_refuses_the_last(botenv: BotEnv) -> None:
    """A Premium user (every type is in the plan) mutes the types one by one."""
    now = botenv.clock.now()
    await botenv.services.opportunities.put(sample(1, now))
    await botenv.services.opportunities.put(
        sample(2, now, opportunity_id="f", type=OpportunityType.FUNDING)
    )
    await botenv.services.opportunities.put(
        sample(3, now, opportunity_id="t", type=OpportunityType.TECHNICAL)
    )
    mid = await _with_message(botenv)
    await botenv.services.profiles.set_tier(1, Tier.PREMIUM)
    for oid in ("opp1", "f", "t"):
        await botenv.press(1, mid, f"op:mute_type:{oid}")
    types = (await botenv.services.profiles.get(1)).preferences.opportunity_types
    assert types == {OpportunityType.TECHNICAL}
    assert "last opportunity type" in (await botenv.callback_answers(1))[-1]["text"]


async def test_mute_type_from_a_card_keeps_the_last_type_the_plan_includes(
    botenv: BotEnv,
) -> None:
    """A Free user (Funding is the plan's only type) who also selected Arbitrage cannot mute
    Funding from a card, as /settings would refuse it: alerts would stop for good."""
    now = botenv.clock.now()
    await botenv.services.opportunities.put(sample(1, now, type=OpportunityType.FUNDING))
    mid = await _with_message(botenv)
    await botenv.services.profiles.update(
        1, opportunity_types=frozenset({OpportunityType.ARBITRAGE, OpportunityType.FUNDING})
    )
    await botenv.press(1, mid, "op:mute_type:opp1")
    types = (await botenv.services.profiles.get(1)).preferences.opportunity_types
    assert OpportunityType.FUNDING in types
    assert "your plan includes" in (await botenv.callback_answers(1))[-1]["text"]
    assert not botenv.services.events.named("engagement.mute_type")


async def test_votes_are_engagement_events(botenv: BotEnv) -> None:
    mid = await _with_message(botenv)
    await botenv.press(1, mid, "op:up:x1")
    await botenv.press(1, mid, "op:down:x2")
    votes = [(e.attrs["opportunity_id"], e.attrs["vote"])
             for e in botenv.services.events.named("engagement.feedback")]  # fmt: skip
    assert votes == [("x1", "up"), ("x2", "down")]
    # The relevance model learns from votes and orders digests (issue #17): the answers say
    # that much, and that a 👎 removes nothing (muting does).
    answers = [a["text"] for a in (await botenv.callback_answers(1))[-2:]]
    assert "placed higher in your digests" in answers[0] and "/why x1" in answers[0]
    assert "placed lower in your digests; they still come" in answers[1]
    assert "mute" in answers[1] and not any("tune" in a for a in answers)


async def test_why_explains_the_first_failing_layer_to_a_superadmin_only(botenv: BotEnv) -> None:
    now = botenv.clock.now()
    await botenv.services.opportunities.put(
        sample(1, now, opportunity_id="tech", type=OpportunityType.TECHNICAL)
    )
    await botenv.services.opportunities.put(
        sample(2, now, opportunity_id="arb", type=OpportunityType.FUNDING)
    )
    await botenv.send(5, "/start")
    await botenv.send(999, "/start")
    await botenv.send(999, "/why 5 tech")
    assert "layer 2 (Subscription)" in (await botenv.last(999))["text"]
    await botenv.send(999, "/why 5 arb")
    assert "is eligible" in (await botenv.last(999))["text"]
    await botenv.send(999, "/why 77 arb")
    assert "layer 1 (Session)" in (await botenv.last(999))["text"]
    await botenv.send(5, "/why 5 arb")
    assert (await botenv.last(5))["text"] == templates.ADMIN_ONLY


async def test_compliance_fields_are_set_by_superadmin_commands_and_layer_6_reads_them(
    botenv: BotEnv,
) -> None:
    """trading_restricted and region (layer 6) are set by /restrict and /region: /why then names
    the layer; others are refused."""
    now = botenv.clock.now()
    await botenv.services.opportunities.put(
        sample(1, now, opportunity_id="fund", type=OpportunityType.FUNDING)
    )
    await botenv.send(5, "/start")
    await botenv.send(999, "/start")
    await botenv.send(999, "/restrict 5 on")
    assert (await botenv.services.profiles.get(5)).trading_restricted
    await botenv.send(999, "/why 5 fund")
    assert "L6:restricted" in (await botenv.last(999))["text"]
    await botenv.send(999, "/restrict 5 off")
    await botenv.send(999, "/region 5 de")
    profile = await botenv.services.profiles.get(5)
    assert (profile.trading_restricted, profile.region) == (False, "DE")
    await botenv.send(999, "/why 5 fund")
    assert "is eligible" in (await botenv.last(999))["text"]
    await botenv.send(5, "/restrict 5 off")
    assert (await botenv.last(5))["text"] == templates.ADMIN_ONLY
