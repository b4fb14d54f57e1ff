"""Onboarding through the real path: aiogram webhook <- emulator over HTTP, real Redis."""

from __future__ import annotations

from typing import Any

from bot.handlers.onboarding import STALE
from bot.handlers.preferences import LAST_TYPE
from core.events import EventName
from core.models import OnboardingState, OpportunityType, RiskTolerance
from messaging.ui import templates
from tests.bot.conftest import BotEnv


def buttons(message: dict[str, Any]) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b.get("callback_data", "") for row in markup.get("inline_keyboard", []) for b in row]


async def onboarding_message(env: BotEnv, uid: int) -> dict[str, Any]:
    for message in reversed(await env.messages(uid)):
        if any(d.startswith("ob:") for d in buttons(message)):
            return message
    raise AssertionError("no onboarding message")


async def message_by_id(env: BotEnv, uid: int, message_id: int) -> dict[str, Any]:
    return next(m for m in await env.messages(uid) if m["message_id"] == message_id)


async def click(env: BotEnv, uid: int, message_id: int, data: str) -> dict[str, Any]:
    """Press a button of the message, then return the message as it is now."""
    message = await message_by_id(env, uid, message_id)
    assert data in buttons(message), f"{data} is not a button of {buttons(message)}"
    await env.press(uid, message_id, data)
    return await message_by_id(env, uid, message_id)


def steps(env: BotEnv) -> list[tuple[Any, ...]]:
    return [
        (e.attrs["step"], e.attrs["action"], *([e.attrs["value"]] if "value" in e.attrs else []))
        for e in env.services.events.named(EventName.ONBOARDING_STEP)
    ]


async def test_completing_onboarding_step_by_step_saves_every_answer_and_completes(
    botenv: BotEnv,
) -> None:
    env = botenv
    await env.send(1, "/start", first_name="Ann")
    msg = await onboarding_message(env, 1)
    mid = msg["message_id"]
    assert "Let's set you up, Ann" in msg["text"]
    assert (await env.services.profiles.get(1)).onboarding is OnboardingState.IN_PROGRESS
    session = await env.services.sessions.store.get(1)
    assert session is not None and session.onboarding is OnboardingState.IN_PROGRESS

    msg = await click(env, 1, mid, "ob:welcome:next")
    assert "Your plan" in msg["text"] and "Free" in msg["text"] and "Premium" in msg["text"]
    assert "To upgrade" in msg["text"]

    msg = await click(env, 1, mid, "ob:tier:next")
    assert "Opportunity types" in msg["text"]
    assert "ob:types:-technical" in buttons(msg)  # every type is on by default
    msg = await click(env, 1, mid, "ob:types:-technical")
    assert "ob:types:+technical" in buttons(msg)  # re-rendered with the new selection

    msg = await click(env, 1, mid, "ob:types:next")
    assert "active hours" in msg["text"]
    await click(env, 1, mid, "ob:schedule:h=8-22")
    await click(env, 1, mid, "ob:schedule:tz=Europe/Berlin")

    msg = await click(env, 1, mid, "ob:schedule:next")
    assert "Risk tolerance" in msg["text"]
    await click(env, 1, mid, "ob:risk:high")

    msg = await click(env, 1, mid, "ob:risk:next")
    assert "need no exchange API keys" in msg["text"] and "never paste keys" in msg["text"]
    await click(env, 1, mid, "ob:exchanges:+binance")
    await click(env, 1, mid, "ob:exchanges:+okx")

    msg = await click(env, 1, mid, "ob:exchanges:next")
    assert "You're all set" in msg["text"]
    assert "Europe/Berlin" in msg["text"] and "Binance, OKX" in msg["text"]
    assert buttons(msg) == ["set:open:"]

    profile = await env.services.profiles.get(1)
    prefs = profile.preferences
    assert prefs.opportunity_types == {OpportunityType.ARBITRAGE, OpportunityType.FUNDING}
    assert prefs.active_hours == (8, 22)
    assert prefs.timezone == "Europe/Berlin"
    assert prefs.risk_tolerance is RiskTolerance.HIGH
    assert profile.exchanges == {"binance", "okx"}
    assert profile.onboarding is OnboardingState.COMPLETED
    session = await env.services.sessions.store.get(1)
    assert session is not None and session.onboarding is OnboardingState.COMPLETED

    # One message, edited at every step: the welcome text and the onboarding message only.
    assert len(await env.messages(1)) == 2
    assert steps(env) == [
        ("welcome", "shown"),
        ("tier", "shown"),
        ("types", "shown"),
        ("types", "answered", "-technical"),
        ("schedule", "shown"),
        ("schedule", "answered", "h=8-22"),
        ("schedule", "answered", "tz=Europe/Berlin"),
        ("risk", "shown"),
        ("risk", "answered", "high"),
        ("exchanges", "shown"),
        ("exchanges", "answered", "+binance"),
        ("exchanges", "answered", "+okx"),
        ("done", "completed"),
    ]
    changed = env.services.events.named(EventName.PREFERENCE_CHANGED)
    assert {e.attrs["field"] for e in changed} >= {
        "opportunity_types",
        "active_hours",
        "timezone",
        "risk_tolerance",
        "exchanges",
    }
    assert all(e.attrs["source"] == "onboarding" for e in changed)

    await env.send(1, "/status")
    assert "Onboarding: completed" in (await env.last(1))["text"]


async def test_a_completed_user_starting_a_new_session_is_not_onboarded_again(
    botenv: BotEnv,
) -> None:
    env = botenv
    await env.send(1, "/start")
    mid = (await onboarding_message(env, 1))["message_id"]
    for step in ("welcome", "tier", "types", "schedule", "risk", "exchanges"):
        await click(env, 1, mid, f"ob:{step}:next")
    await env.send(1, "/logout")
    await env.press(1, (await env.last(1))["message_id"], "sess:logout")  # confirm
    await env.send(1, "/start")
    assert "/opportunities" in (await env.last(1))["text"]
    assert len([s for s in steps(env) if s[1] == "shown" and s[0] == "welcome"]) == 1


async def test_skipping_marks_onboarding_skipped_and_settings_finishes_it_later(
    botenv: BotEnv,
) -> None:
    env = botenv
    await env.send(1, "/start")
    mid = (await onboarding_message(env, 1))["message_id"]
    await click(env, 1, mid, "ob:welcome:next")
    msg = await click(env, 1, mid, "ob:tier:skip")
    assert "Onboarding skipped" in msg["text"] and "/settings" in msg["text"]
    assert not buttons(msg)
    assert (await env.services.profiles.get(1)).onboarding is OnboardingState.SKIPPED
    assert steps(env)[-1] == ("tier", "skipped")
    await env.send(1, "/status")
    assert "Onboarding: skipped" in (await env.last(1))["text"]

    await env.send(1, "/settings")
    menu = await env.last(1)
    assert "Onboarding isn't finished" in menu["text"]
    msg = await click(env, 1, menu["message_id"], "set:finish:")
    assert "Your plan" in msg["text"]
    assert (await env.services.profiles.get(1)).onboarding is OnboardingState.IN_PROGRESS
    resumed = env.services.events.named(EventName.ONBOARDING_STEP)[-1]
    assert resumed.attrs == {"step": "tier", "action": "shown", "source": "settings"}
    for step in ("tier", "types", "schedule", "risk"):
        await click(env, 1, menu["message_id"], f"ob:{step}:next")
    msg = await click(env, 1, menu["message_id"], "ob:exchanges:next")
    assert "You're all set" in msg["text"]
    assert (await env.services.profiles.get(1)).onboarding is OnboardingState.COMPLETED
    assert steps(env)[-1] == ("done", "completed")

    await env.send(1, "/settings")
    assert "set:finish:" not in buttons(await env.last(1))


async def test_skipping_on_the_first_step_saves_nothing_but_the_state(botenv: BotEnv) -> None:
    env = botenv
    await env.send(1, "/start")
    mid = (await onboarding_message(env, 1))["message_id"]
    await click(env, 1, mid, "ob:welcome:skip")
    profile = await env.services.profiles.get(1)
    assert profile.onboarding is OnboardingState.SKIPPED
    assert profile.preferences.opportunity_types == frozenset(OpportunityType)
    assert steps(env) == [("welcome", "shown"), ("welcome", "skipped")]


async def test_stale_onboarding_buttons_get_an_alert_and_change_nothing(botenv: BotEnv) -> None:
    env = botenv
    await env.send(1, "/start")
    mid = (await onboarding_message(env, 1))["message_id"]
    welcome_id = (await env.messages(1))[0]["message_id"]
    await click(env, 1, mid, "ob:welcome:next")
    before = await message_by_id(env, 1, mid)

    await env.press(1, mid, "ob:welcome:next")  # an earlier step
    await env.press(1, mid, "ob:types:-arbitrage")  # a later step
    await env.press(1, mid, "ob:nosuchstep:next")  # no such step
    await env.press(1, welcome_id, "ob:tier:next")  # the right step on another message
    answers = await env.callback_answers(1)
    assert [a["text"] for a in answers[-4:]] == [STALE] * 4
    assert all(a["show_alert"] for a in answers[-4:])
    assert (await message_by_id(env, 1, mid))["text"] == before["text"]
    assert (await env.services.profiles.get(1)).preferences.opportunity_types == frozenset(
        OpportunityType
    )

    await click(env, 1, mid, "ob:tier:skip")
    await env.press(1, mid, "ob:tier:next")  # after skipping, every onboarding button is stale
    assert (await env.callback_answers(1))[-1]["text"] == STALE
    assert (await env.services.profiles.get(1)).onboarding is OnboardingState.SKIPPED


async def test_forged_onboarding_values_get_an_alert_and_change_nothing(botenv: BotEnv) -> None:
    env = botenv
    await env.send(1, "/start")
    mid = (await onboarding_message(env, 1))["message_id"]
    await env.press(1, mid, "ob:welcome:something")
    for step in ("welcome", "tier"):
        await click(env, 1, mid, f"ob:{step}:next")
    await env.press(1, mid, "ob:types:+bogus")
    await env.press(1, mid, "ob:types:arbitrage")
    await click(env, 1, mid, "ob:types:next")
    await env.press(1, mid, "ob:schedule:tz=Mars/Base")
    await env.press(1, mid, "ob:schedule:h=3-4")
    await click(env, 1, mid, "ob:schedule:next")
    await env.press(1, mid, "ob:risk:extreme")
    answers = await env.callback_answers(1)
    assert [a["text"] for a in answers if a["text"] == templates.UNKNOWN_BUTTON] == [
        templates.UNKNOWN_BUTTON
    ] * 6
    prefs = (await env.services.profiles.get(1)).preferences
    assert prefs.timezone == "UTC" and prefs.active_hours == (0, 24)
    assert prefs.risk_tolerance is RiskTolerance.MEDIUM
    assert not [s for s in steps(env) if s[1] == "answered"]


async def test_the_last_opportunity_type_cannot_be_turned_off(botenv: BotEnv) -> None:
    env = botenv
    await env.send(1, "/start")
    mid = (await onboarding_message(env, 1))["message_id"]
    for step in ("welcome", "tier"):
        await click(env, 1, mid, f"ob:{step}:next")
    # Free includes funding only: the types outside the plan go, funding stays (issue 15).
    await click(env, 1, mid, "ob:types:-arbitrage")
    await click(env, 1, mid, "ob:types:-technical")
    msg = await click(env, 1, mid, "ob:types:-funding")
    assert (await env.callback_answers(1))[-1]["text"] == LAST_TYPE
    assert "ob:types:-funding" in buttons(msg)
    types = (await env.services.profiles.get(1)).preferences.opportunity_types
    assert types == {OpportunityType.FUNDING}


async def test_the_exchanges_step_asks_for_no_api_keys_and_an_old_keys_button_saves_nothing(
    botenv: BotEnv,
) -> None:
    """Alerts come from public market data: no step collects keys, and the "I have API keys"
    button of an older build (still on someone's screen) is refused as unknown."""
    env = botenv
    await env.send(1, "/start")
    mid = (await onboarding_message(env, 1))["message_id"]
    for step in ("welcome", "tier", "types", "schedule", "risk"):
        msg = await click(env, 1, mid, f"ob:{step}:next")
    assert not any("keys" in b for b in buttons(msg))
    await click(env, 1, mid, "ob:exchanges:+kraken")
    before = await env.services.profiles.get(1)
    await env.press(1, mid, "ob:exchanges:keys=1")  # as if the old keyboard were still shown
    assert (await env.callback_answers(1))[-1]["text"] == templates.UNKNOWN_BUTTON
    assert await env.services.profiles.get(1) == before


async def test_onboarding_buttons_without_a_session_ask_for_start(botenv: BotEnv) -> None:
    env = botenv
    await env.send(1, "/start")
    mid = (await onboarding_message(env, 1))["message_id"]
    await env.send(1, "/logout")
    await env.press(1, (await env.last(1))["message_id"], "sess:logout")  # confirm
    await env.press(1, mid, "ob:welcome:next")
    answer = (await env.callback_answers(1))[-1]
    assert answer["text"] == templates.TERMINATED and answer["show_alert"]
    assert steps(env) == [("welcome", "shown")]
