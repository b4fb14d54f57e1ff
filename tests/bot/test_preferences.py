"""/settings through the real path: aiogram webhook <- emulator over HTTP, real Redis."""

from __future__ import annotations

from typing import Any

import pytest

from bot.handlers.preferences import (
    HOURS_EXPECTED,
    LAST_TYPE,
    TZ_EXPECTED,
)
from core.events import EventName
from core.models import OpportunityType, RiskTolerance
from messaging.ui import templates
from tests.bot.conftest import BotEnv
from tests.bot.settings_screens import buttons, click, message_by_id


async def open_settings(env: BotEnv, uid: int = 1, command: str = "/settings") -> int:
    """A user with a session (onboarding skipped) and the settings menu; its message id."""
    await env.send(uid, "/start")
    await env.send(uid, command)
    menu = await env.last(uid)
    assert "Your settings" in menu["plain_text"]
    return int(menu["message_id"])


def changes(env: BotEnv) -> list[tuple[Any, Any]]:
    return [
        (e.attrs["field"], e.attrs["value"])
        for e in env.services.events.named(EventName.PREFERENCE_CHANGED)
    ]


@pytest.mark.parametrize("command", ["/settings", "/preferences"])
async def test_settings_and_its_alias_show_every_current_preference(
    botenv: BotEnv, command: str
) -> None:
    mid = await open_settings(botenv, command=command)
    menu = await message_by_id(botenv, 1, mid)
    for line in (
        "Push alerts: on",
        "Opportunity types: Cross-exchange, Funding rate, Technical",
        "Muted pairs: none",
        "Minimum profit: 0%",
        "Timezone: UTC",
        "Active hours: always",
        "Do Not Disturb: off",
        "High-priority alerts through DND: off",
        "Risk tolerance: medium",
        "Exchanges: all",
    ):
        assert line in menu["plain_text"]
    for page in ("types", "muted", "profit", "tz", "hours", "dnd", "risk", "exch"):
        assert f"set:open:{page}" in buttons(menu)
    assert not any("key" in b for b in buttons(menu))  # alerts need no API keys
    assert "set:push:0" in buttons(menu)


async def test_every_settings_button_saves_at_once_emits_an_event_and_rerenders(
    botenv: BotEnv,
) -> None:
    env = botenv
    mid = await open_settings(env)
    now = env.clock.now()

    msg = await click(env, 1, mid, "set:push:0")
    assert "Push alerts: off" in msg["plain_text"] and "set:push:1" in buttons(msg)

    await click(env, 1, mid, "set:open:types")
    msg = await click(env, 1, mid, "set:type:-technical")  # not the plan's only type
    assert "set:type:+technical" in buttons(msg)
    await click(env, 1, mid, "set:open:")

    await click(env, 1, mid, "set:open:profit")
    msg = await click(env, 1, mid, "set:profit:0.5")
    assert "Minimum profit: 0.5%" in msg["plain_text"]

    await click(env, 1, mid, "set:open:")
    await click(env, 1, mid, "set:open:tz")
    msg = await click(env, 1, mid, "set:tz:Asia/Tokyo")
    assert "Timezone: Asia/Tokyo" in msg["plain_text"]

    await click(env, 1, mid, "set:open:")
    await click(env, 1, mid, "set:open:hours")
    msg = await click(env, 1, mid, "set:hours:9-18")
    assert "Active hours: 09–18" in msg["plain_text"]

    await click(env, 1, mid, "set:open:")
    await click(env, 1, mid, "set:open:dnd")
    msg = await click(env, 1, mid, "set:dnd:8")
    assert "Do Not Disturb: on until" in msg["plain_text"]
    assert (await env.services.profiles.get(1)).preferences.dnd_until == now + 8 * 3600
    msg = await click(env, 1, mid, "set:pierce:1")
    assert "set:pierce:0" in buttons(msg)
    msg = await click(env, 1, mid, "set:dnd:0")
    assert "Do Not Disturb: off" in msg["plain_text"]

    await click(env, 1, mid, "set:open:")
    await click(env, 1, mid, "set:open:risk")
    await click(env, 1, mid, "set:risk:low")

    await click(env, 1, mid, "set:open:")
    await click(env, 1, mid, "set:open:exch")
    await click(env, 1, mid, "set:exch:+kraken")
    msg = await click(env, 1, mid, "set:exch:+okx")
    assert "Kraken, OKX" in msg["plain_text"] or "OKX, Kraken" in msg["plain_text"]
    msg = await click(env, 1, mid, "set:exch:-kraken")
    assert "never paste keys" in msg["plain_text"]

    profile = await env.services.profiles.get(1)
    prefs = profile.preferences
    assert prefs.push_enabled is False
    assert prefs.opportunity_types == {OpportunityType.ARBITRAGE, OpportunityType.FUNDING}
    assert prefs.min_profit_pct == 0.5
    assert prefs.timezone == "Asia/Tokyo"
    assert prefs.active_hours == (9, 18)
    assert prefs.dnd_until is None
    assert prefs.high_priority_pierces_dnd is True
    assert prefs.risk_tolerance is RiskTolerance.LOW
    assert profile.exchanges == {"okx"}
    assert changes(env) == [
        ("push_enabled", "0"),
        ("opportunity_types", "arbitrage,funding"),
        ("min_profit_pct", "0.5"),
        ("timezone", "Asia/Tokyo"),
        ("active_hours", "9-18"),
        ("dnd_until", repr(now + 8 * 3600)),
        ("high_priority_pierces_dnd", "1"),
        ("dnd_until", ""),
        ("risk_tolerance", "low"),
        ("exchanges", "kraken"),
        ("exchanges", "kraken,okx"),
        ("exchanges", "okx"),
    ]
    # Everything happened in the one menu message.
    assert (await env.last(1))["message_id"] == mid


async def test_dnd_from_settings_shows_when_it_ends_and_lapses_by_itself(botenv: BotEnv) -> None:
    env = botenv
    mid = await open_settings(env)
    await click(env, 1, mid, "set:open:dnd")
    msg = await click(env, 1, mid, "set:dnd:1")
    assert "Do Not Disturb" in msg["plain_text"] and "on until" in msg["plain_text"]
    env.clock.advance(hours=2)
    await click(env, 1, mid, "set:open:")
    assert "Do Not Disturb: off" in (await message_by_id(env, 1, mid))["plain_text"]


async def test_muting_a_typed_pair_and_unmuting_it_with_its_button(botenv: BotEnv) -> None:
    env = botenv
    mid = await open_settings(env)
    await click(env, 1, mid, "set:open:muted")
    prompt = await click(env, 1, mid, "set:mute:")
    assert "BTC/USDT" in prompt["text"] and buttons(prompt) == ["set:cancel:muted"]

    await env.send(1, "dogecoin please")  # not a pair the market knows (issue 15)
    refused = await env.last(1)
    assert "Did you mean DOGE/USDT?" in refused["plain_text"]
    assert buttons(refused) == ["set:mute:DOGE/USDT", "set:cancel:muted"]
    await env.send(1, "eth-usdt")
    assert "Muted ETH/USDT" in (await env.last(1))["plain_text"]
    menu = await message_by_id(env, 1, mid)
    assert "set:unmute:ETH/USDT" in buttons(menu)
    assert (await env.services.profiles.get(1)).preferences.muted_pairs == {"ETH/USDT"}

    await click(env, 1, mid, "set:unmute:ETH/USDT")
    assert (await env.services.profiles.get(1)).preferences.muted_pairs == frozenset()
    assert changes(env) == [("muted_pairs", "ETH/USDT"), ("muted_pairs", "")]

    await env.send(1, "SOL/USDT")  # no longer waiting for a pair: plain text
    assert (await env.last(1))["plain_text"] == templates.STRAY_TEXT


async def test_invalid_typed_timezone_is_rejected_with_what_is_expected(botenv: BotEnv) -> None:
    env = botenv
    mid = await open_settings(env)
    await click(env, 1, mid, "set:open:tz")
    await click(env, 1, mid, "set:tz:")
    for bad in ("Mars/Olympus", "UTC+25", "../../etc/passwd", "x" * 300):
        await env.send(1, bad)
        assert (await env.last(1))["plain_text"].startswith(TZ_EXPECTED[:30])
        assert "IANA name" in (await env.last(1))["plain_text"]
    assert (await env.services.profiles.get(1)).preferences.timezone == "UTC"
    await env.send(1, "america/new_york")
    assert "Timezone set to America/New_York" in (await env.last(1))["plain_text"]
    assert (await env.services.profiles.get(1)).preferences.timezone == "America/New_York"
    assert "Timezone: America/New_York" in (await message_by_id(env, 1, mid))["plain_text"]
    assert changes(env) == [("timezone", "America/New_York")]


async def test_invalid_typed_hours_are_rejected_and_overnight_hours_accepted(
    botenv: BotEnv,
) -> None:
    env = botenv
    mid = await open_settings(env)
    await click(env, 1, mid, "set:open:hours")
    await click(env, 1, mid, "set:hours:")
    for bad in ("25-3", "8 to 5", "8-8", "-1-5", "eight-ten"):
        await env.send(1, bad)
        assert "HH-HH" in (await env.last(1))["plain_text"]
    assert (await env.services.profiles.get(1)).preferences.active_hours == (0, 24)
    await env.send(1, "22-06")
    assert "22–06 (overnight)" in (await env.last(1))["plain_text"]
    assert (await env.services.profiles.get(1)).preferences.active_hours == (22, 6)
    assert changes(env) == [("active_hours", "22-6")]
    assert "HH-HH" in HOURS_EXPECTED


async def test_a_command_or_cancel_ends_waiting_for_typed_input(botenv: BotEnv) -> None:
    env = botenv
    mid = await open_settings(env)
    await click(env, 1, mid, "set:open:tz")
    await click(env, 1, mid, "set:tz:")
    await env.send(1, "/status")
    assert "Your session" in (await env.last(1))["plain_text"]
    await env.send(1, "Europe/Paris")
    assert (await env.last(1))["plain_text"] == templates.STRAY_TEXT
    assert (await env.services.profiles.get(1)).preferences.timezone == "UTC"

    # The prompt's Cancel still works after a command ended the wait.
    msg = await click(env, 1, mid, "set:cancel:tz")
    assert "Timezone: UTC" in msg["plain_text"] and "set:tz:Asia/Tokyo" in buttons(msg)
    await click(env, 1, mid, "set:tz:")
    msg = await click(env, 1, mid, "set:cancel:tz")
    assert "set:tz:" in buttons(msg)
    await env.send(1, "Europe/Paris")
    assert (await env.last(1))["plain_text"] == templates.STRAY_TEXT
    assert changes(env) == []


async def test_typed_input_during_onboarding_returns_to_the_onboarding_step(
    botenv: BotEnv,
) -> None:
    env = botenv
    await env.send(1, "/start")
    onboarding = next(m for m in await env.messages(1) if "ob:welcome:next" in buttons(m))
    await env.send(1, "/settings")
    mid = (await env.last(1))["message_id"]
    await click(env, 1, mid, "set:open:hours")
    await click(env, 1, mid, "set:hours:")
    await env.send(1, "7-23")
    assert (await env.services.profiles.get(1)).preferences.active_hours == (7, 23)
    msg = await click(env, 1, onboarding["message_id"], "ob:welcome:next")
    assert "Your plan" in msg["plain_text"]


async def test_the_last_type_stays_on_in_settings(botenv: BotEnv) -> None:
    env = botenv
    mid = await open_settings(env)
    await click(env, 1, mid, "set:open:types")
    # Free includes funding only: it is the type that must stay (issue 15).
    await click(env, 1, mid, "set:type:-funding")
    assert (await env.callback_answers(1))[-1]["text"] == LAST_TYPE
    await click(env, 1, mid, "set:type:-technical")
    await click(env, 1, mid, "set:type:-arbitrage")
    types = (await env.services.profiles.get(1)).preferences.opportunity_types
    assert types == {OpportunityType.FUNDING}


@pytest.mark.parametrize(
    "data",
    [
        "set:profit:7",
        "set:tz:Mars/Base",
        "set:type:+bogus",
        "set:type:funding",
        "set:open:nowhere",
        "set:dnd:5",
        "set:dnd:-1",
        "set:push:maybe",
        "set:risk:extreme",
        "set:hours:30-40",
        "set:exch:+ftx",
        "set:key:binance",
        "set:unmute:BTCUSDT",
        "set:mute:now",
        "set:explode:",
    ],
)
async def test_forged_settings_buttons_get_an_alert_and_change_nothing(
    botenv: BotEnv, data: str
) -> None:
    env = botenv
    mid = await open_settings(env)
    before = await env.services.profiles.get(1)
    await env.press(1, mid, data)
    answer = (await env.callback_answers(1))[-1]
    assert answer["text"] == templates.UNKNOWN_BUTTON and answer["show_alert"]
    assert await env.services.profiles.get(1) == before
    assert changes(env) == []
    refused = env.services.events.named(EventName.CALLBACK)
    assert [(e.attrs["data"], e.attrs["allowed"], e.attrs["reason"]) for e in refused] == [
        (data, False, "forged")
    ]


async def test_settings_buttons_without_a_session_ask_for_start(botenv: BotEnv) -> None:
    env = botenv
    mid = await open_settings(env)
    await env.send(1, "/logout")
    await env.press(1, (await env.last(1))["message_id"], "sess:logout")  # confirm
    await env.press(1, mid, "set:push:0")
    answer = (await env.callback_answers(1))[-1]
    assert answer["text"] == templates.TERMINATED and answer["show_alert"]
    assert (await env.services.profiles.get(1)).preferences.push_enabled is True

    await env.send(2, "/help")  # never had a session
    await env.press(2, (await env.last(2))["message_id"], "set:push:0")
    answer = (await env.callback_answers(2))[-1]
    assert answer["text"] == templates.NEED_START and answer["show_alert"]
    assert changes(env) == []


async def test_settings_in_a_group_points_to_a_private_chat(botenv: BotEnv) -> None:
    env = botenv
    await env.send(1, "/start")
    await env.send(1, "/settings", chat_type="group", chat_id=-100)
    username = (await env.bot.me()).username
    assert (await env.last(-100))["text"] == templates.private_pointer("settings", username)
