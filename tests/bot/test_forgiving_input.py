"""Input that forgives (issue 15), through the real dispatcher and the emulator: pairs checked
against the market's symbols with a "did you mean" button, timezones as offsets and cities,
only the market's exchanges, /logout confirmed, and a resumed /start offering to finish
onboarding."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from core.models import SessionState
from messaging.ui import templates
from tests.bot.conftest import BotEnv
from tests.bot.settings_screens import buttons, click, message_by_id, open_settings


async def test_a_pair_the_market_lacks_gets_a_suggestion_to_tap(botenv: BotEnv) -> None:
    """The issue's "dogecoin please" no longer mutes DOGECOIN/PLEASE."""
    env = botenv
    mid = await open_settings(env)
    await click(env, 1, mid, "set:open:muted")
    await click(env, 1, mid, "set:mute:")
    await env.send(1, "dogecoin please")
    reply = await env.last(1)
    assert "I don't know the pair “dogecoin please”" in reply["plain_text"]
    assert "Did you mean DOGE/USDT?" in reply["plain_text"]
    assert (await env.services.profiles.get(1)).preferences.muted_pairs == frozenset()
    menu = await click(env, 1, reply["message_id"], "set:mute:DOGE/USDT")
    assert (await env.services.profiles.get(1)).preferences.muted_pairs == {"DOGE/USDT"}
    assert "set:unmute:DOGE/USDT" in buttons(menu)  # the reply became the muted-pairs page
    mid = menu["message_id"]
    await env.send(1, "SOL/USDT")  # the suggestion ended the wait for a pair
    assert (await env.last(1))["plain_text"] == templates.STRAY_TEXT
    # Nothing close: no button, and the format is explained.
    await click(env, 1, mid, "set:mute:")
    await env.send(1, "hello world")
    reply = await env.last(1)
    assert "BASE/QUOTE" in reply["plain_text"] and buttons(reply) == []
    # Forms a trader types: a bare base and a glued pair.
    await env.send(1, "ETHUSDT")
    assert "Muted ETH/USDT" in (await env.last(1))["plain_text"]
    assert (await env.services.profiles.get(1)).preferences.muted_pairs == {
        "DOGE/USDT",
        "ETH/USDT",
    }


async def test_a_forged_suggestion_for_an_unknown_pair_is_refused(botenv: BotEnv) -> None:
    mid = await open_settings(botenv)
    await botenv.press(1, mid, "set:mute:DOGECOIN/PLEASE")
    assert (await botenv.callback_answers(1))[-1]["text"] == templates.UNKNOWN_BUTTON
    assert (await botenv.services.profiles.get(1)).preferences.muted_pairs == frozenset()


@pytest.mark.parametrize(
    ("typed", "stored", "shown"),
    [
        ("UTC+3", "Etc/GMT-3", "UTC+3"),
        ("GMT+3", "Etc/GMT-3", "UTC+3"),
        ("utc-5", "Etc/GMT+5", "UTC-5"),
        ("moscow", "Europe/Moscow", "Europe/Moscow"),
        ("New York", "America/New_York", "America/New_York"),
        ("UTC+5:30", None, None),  # a half-hour zone: some fixed IANA zone at +05:30
    ],
)
async def test_timezones_typed_as_offsets_and_cities_are_taken(
    botenv: BotEnv, typed: str, stored: str | None, shown: str | None
) -> None:
    env = botenv
    mid = await open_settings(env)
    await click(env, 1, mid, "set:open:tz")
    await click(env, 1, mid, "set:tz:")
    await env.send(1, typed)
    assert "Timezone set to" in (await env.last(1))["plain_text"]
    tz = (await env.services.profiles.get(1)).preferences.timezone
    if stored is None:
        offset = ZoneInfo(tz).utcoffset(datetime(2026, 1, 15))
        assert offset is not None and offset.total_seconds() == 5.5 * 3600
        return
    assert tz == stored
    assert f"Timezone: {shown}" in (await message_by_id(env, 1, mid))["plain_text"]


async def test_only_the_markets_exchanges_are_offered(botenv: BotEnv) -> None:
    env = botenv
    mid = await open_settings(env)
    page = await click(env, 1, mid, "set:open:exch")
    market = [e.name for e in env.services.settings.market.exchanges]
    offered = [b[len("set:exch:+") :] for b in buttons(page) if b.startswith("set:exch:")]
    assert offered == market and "coinbase" not in offered
    await env.press(1, mid, "set:exch:+coinbase")  # an old keyboard's button
    assert (await env.callback_answers(1))[-1]["text"] == templates.UNKNOWN_BUTTON
    assert (await env.services.profiles.get(1)).exchanges == frozenset()


async def test_logout_asks_first_and_staying_keeps_the_session(botenv: BotEnv) -> None:
    env = botenv
    await env.send(1, "/start")
    await env.send(1, "/logout")
    question = await env.last(1)
    assert "Log out?" in question["plain_text"]
    assert buttons(question) == ["sess:logout", "sess:stay"]
    session = await env.services.sessions.store.get(1)
    assert session is not None and session.state is SessionState.ACTIVE
    after = await click(env, 1, question["message_id"], "sess:stay")
    assert "still logged in" in after["plain_text"]
    session = await env.services.sessions.store.get(1)
    assert session is not None and session.state is SessionState.ACTIVE
    await env.send(1, "/logout")
    after = await click(env, 1, (await env.last(1))["message_id"], "sess:logout")
    assert "You are logged out" in after["plain_text"]
    session = await env.services.sessions.store.get(1)
    assert session is not None and session.state is SessionState.TERMINATED


async def test_a_resumed_start_offers_to_finish_onboarding(botenv: BotEnv) -> None:
    env = botenv
    await env.send(1, "/start")  # onboarding begins; the user walks away
    await env.send(1, "/start")
    offer = await env.last(1)
    assert "setup isn't finished" in offer["plain_text"]
    assert buttons(offer) == ["set:finish:"]
    step = await click(env, 1, offer["message_id"], "set:finish:")
    assert "Your plan" in step["plain_text"]
    # Once onboarding is complete, a resumed /start just says what to do next.
    for name in ("tier", "types", "schedule", "risk", "exchanges"):
        await click(env, 1, offer["message_id"], f"ob:{name}:next")
    await env.send(1, "/start")
    last = await env.last(1)
    assert "/opportunities" in last["plain_text"] and buttons(last) == []
