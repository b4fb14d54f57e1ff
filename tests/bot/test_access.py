"""Access through the real path (aiogram webhook <- emulator over HTTP, real Redis): buttons
check the plan as /opportunities does, groups get a pointer to the private chat and never the
data, other bots' commands are ignored, and refused buttons are audited."""

from __future__ import annotations

from typing import Any

import pytest

from core.events import EventName
from core.groups.deeplinks import start_url
from core.models import OpportunityType, SessionState, Tier
from core.store import keys
from messaging.ui import group_texts, templates
from tests.bot.conftest import BotEnv
from tests.bot.test_commands import sample

GROUP = -100


async def _session_and_message(env: BotEnv, uid: int = 1) -> int:
    """A user with a session and a message of the bot's with buttons (onboarding's) to press on."""
    await env.send(uid, "/start")
    return int(next(m for m in await env.messages(uid) if m.get("reply_markup"))["message_id"])


def _refused_buttons(env: BotEnv) -> list[tuple[Any, ...]]:
    return [
        (e.user_id, e.attrs["data"], e.attrs["reason"])
        for e in env.services.events.named(EventName.CALLBACK)
        if e.attrs["allowed"] is False
    ]


async def _username(env: BotEnv) -> str:
    username = (await env.bot.me()).username
    assert username is not None
    return username


# --- buttons apply the plan ------------------------------------------------------------------


async def test_a_free_user_pressing_arbitrage_details_is_refused_and_audited(
    botenv: BotEnv,
) -> None:
    env = botenv
    now = env.clock.now()
    await env.services.opportunities.put(
        sample(1, now, opportunity_id="arb1", type=OpportunityType.ARBITRAGE)
    )
    mid = await _session_and_message(env)
    sent_before = len(await env.messages(1))
    await env.press(1, mid, "op:details:arb1")
    answer = (await env.callback_answers(1))[-1]
    assert answer["text"] == templates.not_in_plan(Tier.FREE) and answer["show_alert"]
    assert len(await env.messages(1)) == sent_before, "no card was sent"
    assert _refused_buttons(env) == [(1, "op:details:arb1", "not_entitled")]
    assert env.services.events.named("engagement.details") == []

    await env.services.profiles.set_tier(1, Tier.BASIC)  # Basic includes spreads
    await env.press(1, mid, "op:details:arb1")
    card = (await env.last(1))["text"]
    assert "Cross-exchange" in card and "arb1" in card
    assert len(env.services.events.named("engagement.details")) == 1


async def test_details_respects_the_tier_delay(botenv: BotEnv) -> None:
    """Free sees funding 300 s late: a Details press before then is refused, after it the card
    is shown."""
    env = botenv
    now = env.clock.now()
    fresh = sample(1, now, opportunity_id="fresh", detected_at=now, type=OpportunityType.FUNDING)
    await env.services.opportunities.put(fresh)
    mid = await _session_and_message(env)
    await env.press(1, mid, "op:details:fresh")
    assert [r[2] for r in _refused_buttons(env)] == ["not_entitled"]

    env.clock.set(now + 301)
    await env.press(1, mid, "op:details:fresh")
    assert "fresh" in (await env.last(1))["text"]


async def test_details_costs_no_quota(botenv: BotEnv) -> None:
    """Issue 15: "Details never costs anything"; the card was counted when listed or pushed."""
    env = botenv
    await env.services.opportunities.put(sample(1, env.clock.now(), type=OpportunityType.FUNDING))
    mid = await _session_and_message(env)
    for _ in range(3):
        await env.press(1, mid, "op:details:opp1")
    assert sum("opp1" in t for t in await env.texts(1)) == 3
    assert await env.services.quota.used(1, env.clock.now()) == (0, 0)


@pytest.mark.parametrize("action", ["mute_pair", "mute_type", "up", "down"])
async def test_every_opportunity_button_checks_the_plan(botenv: BotEnv, action: str) -> None:
    """A mute's answer would name the pair, so a Free user's press on a spread (a paid plan's)
    is refused like Details, and changes nothing."""
    env = botenv
    await env.services.opportunities.put(
        sample(1, env.clock.now(), opportunity_id="fund1", type=OpportunityType.ARBITRAGE,
               symbol="SECRET/USDT")
    )  # fmt: skip
    mid = await _session_and_message(env)
    before = await env.services.profiles.get(1)
    await env.press(1, mid, f"op:{action}:fund1")
    answer = (await env.callback_answers(1))[-1]
    assert answer["text"] == templates.not_in_plan(Tier.FREE)
    assert "SECRET" not in answer["text"]
    assert await env.services.profiles.get(1) == before
    assert _refused_buttons(env) == [(1, f"op:{action}:fund1", "not_entitled")]
    assert not [e for e in env.services.events.events if e.name.startswith("engagement.")]


# --- forged callback data is audited ---------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("tier:premium", "unknown"),  # no keyboard has tier buttons: not our prefix
        ("op:explode:opp1", "forged"),
        ("ob:nowhere:x", "forged"),
        ("set:risk:evil", "forged"),
        ("ob:::", "forged"),
        ("zz:unknown", "unknown"),
        ("x" * 64, "unknown"),
    ],
)
async def test_forged_callback_data_is_refused_and_audited_with_its_reason(
    botenv: BotEnv, data: str, reason: str
) -> None:
    env = botenv
    mid = await _session_and_message(env)
    before = await env.services.profiles.get(1)
    await env.press(1, mid, data)
    answer = (await env.callback_answers(1))[-1]
    assert answer["show_alert"] and answer["text"]
    assert _refused_buttons(env) == [(1, data, reason)]
    assert await env.services.profiles.get(1) == before


async def test_a_stale_onboarding_button_is_audited_as_stale(botenv: BotEnv) -> None:
    env = botenv
    mid = await _session_and_message(env)
    await env.press(1, mid, "ob:risk:low")  # a real step, but not the current one
    assert _refused_buttons(env) == [(1, "ob:risk:low", "stale")]


# --- groups ----------------------------------------------------------------------------------

PERSONAL = [
    "/status",
    "/opportunities",
    "/admin_stats",
    "/settings",
    "/preferences",
    "/dnd 2h",
    "/subscription",
    "/logout",
    "/why 1 opp1",
    "/settier 1 enterprise",
    "/help",
]


@pytest.mark.parametrize("text", PERSONAL)
async def test_personal_and_admin_commands_in_a_group_get_a_pointer_not_the_data(
    botenv: BotEnv, text: str
) -> None:
    """Asked by a SuperAdmin with a session (who would see the most), in a group."""
    env = botenv
    await env.services.opportunities.put(sample(1, env.clock.now()))
    await env.send(999, "/start")
    before = await env.services.profiles.get(1), await env.services.profiles.get(999)
    session = await env.services.sessions.store.get(999)
    await env.send(999, text, chat_type="group", chat_id=GROUP)
    [reply] = await env.messages(GROUP)
    name = text.split()[0][1:]
    name = "settings" if name == "preferences" else name
    assert reply["text"] == templates.private_pointer(name, await _username(env))
    assert f"https://t.me/{await _username(env)}?start=group" in reply["text"]
    for figure in ("Active sessions", "State:", "Tier:", "BTC/USDT", "Commands used"):
        assert figure not in reply["text"]
    after = await env.services.profiles.get(1), await env.services.profiles.get(999)
    assert after == before, "nothing was changed"
    again = await env.services.sessions.store.get(999)
    assert again is not None and session is not None
    assert again.state is SessionState.ACTIVE and again.session_id == session.session_id
    assert env.services.events.named(EventName.ADMIN_ACTION) == []
    [audit] = [e for e in env.services.events.named(EventName.COMMAND) if e.user_id == 999][-1:]
    assert (audit.attrs["command"], audit.attrs["allowed"], audit.attrs["reason"]) == (
        name,
        False,
        "group_chat",
    )


@pytest.mark.parametrize("chat_type", ["group", "supergroup"])
async def test_start_in_a_group_opens_no_session_and_links_to_the_private_chat(
    botenv: BotEnv, chat_type: str
) -> None:
    env = botenv
    await env.send(7, "/start", chat_type=chat_type, chat_id=GROUP)
    text = (await env.last(GROUP))["text"]
    link = start_url(await _username(env), "group", GROUP)  # the payload names the group
    assert text == group_texts.start_in_group(link)
    assert await env.services.sessions.store.get(7) is None
    assert await env.services.redis.exists(keys.user(7)) == 0, "no profile was created"
    await env.send(7, "/start")  # the deep link opens the private chat: a session starts there
    session = await env.services.sessions.store.get(7)
    assert session is not None and session.state is SessionState.ACTIVE


async def test_group_chatter_and_other_bots_commands_are_never_answered(botenv: BotEnv) -> None:
    env = botenv
    await env.send(1, "/start")
    for text in ("hello everyone", "/price", "/price@some_other_bot", "/status@some_other_bot"):
        await env.send(1, text, chat_type="group", chat_id=GROUP)
    assert await env.messages(GROUP) == []
    await env.send(1, f"/price@{await _username(env)}", chat_type="group", chat_id=GROUP)
    assert (await env.last(GROUP))["text"] == templates.private_pointer(None, await _username(env))


async def test_commands_addressed_to_another_bot_are_ignored_in_private(botenv: BotEnv) -> None:
    env = botenv
    await env.send(2, "/start@some_other_bot")
    assert await env.messages(2) == []
    assert await env.services.sessions.store.get(2) is None
    await env.send(1, "/start")
    sent = len(await env.messages(1))
    for text in ("/price@some_other_bot", "/status@some_other_bot", "/help@SOME_OTHER_BOT"):
        await env.send(1, text)
    assert len(await env.messages(1)) == sent
    await env.send(1, f"/status@{(await _username(env)).upper()}")
    assert "State: active" in (await env.last(1))["text"]


async def test_a_button_on_a_group_message_gets_an_alert_and_is_audited(botenv: BotEnv) -> None:
    env = botenv
    await env.send(1, "/start")
    await env.send(1, "/settings", chat_type="group", chat_id=GROUP)
    pointer = await env.last(GROUP)
    await env.press(1, pointer["message_id"], "set:push:0", chat_id=GROUP)
    answer = (await env.callback_answers(GROUP))[-1]
    assert answer["text"] == templates.PRIVATE_BUTTON and answer["show_alert"]
    assert (await env.services.profiles.get(1)).preferences.push_enabled is True
    assert _refused_buttons(env) == [(1, "set:push:0", "group_chat")]


async def test_commands_are_case_insensitive_as_the_gate_reads_them(botenv: BotEnv) -> None:
    """The gate lowercases a command to decide what it may open; the handlers now agree, so a
    user without a session typing /Help gets help, not "I don't know /help" (found by the fuzz
    test)."""
    env = botenv
    await env.send(3, "/Help")
    assert (await env.last(3))["text"].startswith("<b>Commands</b>")
    await env.send(3, "/START")
    assert await env.services.sessions.store.get(3) is not None
    await env.send(3, "/Status")
    assert "State: active" in (await env.last(3))["text"]
