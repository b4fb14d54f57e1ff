"""Session-first gating through the real path: aiogram webhook <- emulator over HTTP, real Redis."""

from __future__ import annotations

import pytest

from core.events import EventName
from core.models import SessionState
from messaging.ui import templates
from messaging.ui.commands import COMMANDS
from tests.bot.conftest import BotEnv

GATED = [f"/{c.name}" for c in COMMANDS if c.needs_session]


@pytest.mark.parametrize("text", [*GATED, "/preferences", "/nonsense", "hello there"])
async def test_without_a_session_everything_but_start_and_help_asks_for_start(
    botenv: BotEnv, text: str
) -> None:
    await botenv.send(1, text)
    assert (await botenv.last(1))["text"].startswith("👋 Please send /start first")
    refused = [e for e in botenv.services.events.named(EventName.COMMAND) if not e.attrs["allowed"]]
    assert len(refused) == 1
    assert refused[0].attrs["reason"] == "no_session"


async def test_help_answers_without_a_session_and_lists_only_open_commands(botenv: BotEnv) -> None:
    await botenv.send(1, "/help")
    text = (await botenv.last(1))["text"]
    assert "/start" in text and "/help" in text
    assert "/opportunities" not in text
    assert "/start to open a session" in text


async def test_help_in_a_session_lists_what_the_tier_allows(botenv: BotEnv) -> None:
    await botenv.send(1, "/start")
    await botenv.send(1, "/help")
    text = (await botenv.last(1))["text"]
    assert "/opportunities" in text and "/logout" in text
    assert "/admin_stats" not in text
    await botenv.send(999, "/start")
    await botenv.send(999, "/help")
    assert "/admin_stats" in (await botenv.last(999))["text"]


async def test_start_opens_a_session_and_unlocks_commands(botenv: BotEnv) -> None:
    await botenv.send(1, "/start", first_name="Ann")
    texts = await botenv.texts(1)
    assert "Welcome to <b>arbcast</b>" in texts[0]
    assert "Ann" in texts[0]
    session = await botenv.services.sessions.store.get(1)
    assert session is not None and session.state is SessionState.ACTIVE
    await botenv.send(1, "/status")
    status = (await botenv.last(1))["text"]
    assert "State: active" in status and "Tier: Free" in status
    started = botenv.services.events.named(EventName.SESSION_STARTED)
    assert [e.user_id for e in started] == [1]


async def test_a_second_start_resumes_the_same_session(botenv: BotEnv) -> None:
    await botenv.send(1, "/start")
    first = await botenv.services.sessions.store.get(1)
    await botenv.send(1, "/start")
    assert "Welcome back" in (await botenv.messages(1))[-2]["text"]
    again = await botenv.services.sessions.store.get(1)
    assert first is not None and again is not None
    assert again.session_id == first.session_id


async def test_design_session_activity_examples_through_the_bot(botenv: BotEnv) -> None:
    """Day 0 /start -> day 7; day 3 /opportunities -> day 10; day 8 -> day 15; day 15 expired."""
    clock, sessions = botenv.clock, botenv.services.sessions
    day0 = clock.now()
    await botenv.send(1, "/start")
    first = await sessions.store.get(1)
    assert first is not None and first.expires_at == day0 + 7 * 86_400

    clock.set(day0 + 3 * 86_400)
    await botenv.send(1, "/opportunities")
    await sessions.activity.flush()
    s = await sessions.store.get(1)
    assert s is not None and s.expires_at == day0 + 10 * 86_400

    clock.set(day0 + 8 * 86_400)
    await botenv.send(1, "/status")
    await sessions.activity.flush()
    s = await sessions.store.get(1)
    assert s is not None and s.expires_at == day0 + 15 * 86_400

    clock.set(day0 + 15 * 86_400)
    await botenv.services.sweeper.run_once()
    s = await sessions.store.get(1)
    assert s is not None and s.state is SessionState.EXPIRED

    await botenv.send(1, "/opportunities")
    assert (await botenv.last(1))["text"].startswith("⌛ Your session expired after 7 days")
    await botenv.send(1, "/start")
    new = await sessions.store.get(1)
    assert new is not None and new.session_id != first.session_id
    assert "previous session had expired" in (await botenv.messages(1))[-2]["text"]


async def test_logout_ends_the_session_and_gates_again(botenv: BotEnv) -> None:
    await botenv.send(1, "/start")
    await botenv.send(1, "/logout")
    await botenv.press(1, (await botenv.last(1))["message_id"], "sess:logout")  # confirm
    assert "logged out" in (await botenv.last(1))["text"]
    s = await botenv.services.sessions.store.get(1)
    assert s is not None and s.state is SessionState.TERMINATED
    await botenv.send(1, "/status")
    assert (await botenv.last(1))["text"] == templates.TERMINATED
    assert botenv.services.events.named(EventName.SESSION_TERMINATED)[0].attrs["reason"] == "logout"


async def test_a_button_pressed_without_a_session_gets_an_alert(botenv: BotEnv) -> None:
    await botenv.send(1, "/start")
    with_buttons = [m for m in await botenv.messages(1) if m.get("reply_markup")]
    assert with_buttons, "onboarding shows inline buttons"
    message = with_buttons[-1]
    data = message["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await botenv.send(1, "/logout")
    await botenv.press(1, (await botenv.last(1))["message_id"], "sess:logout")  # confirm
    await botenv.press(1, message["message_id"], data)
    answers = await botenv.callback_answers(1)
    assert answers[-1]["text"] == templates.TERMINATED
    assert answers[-1]["show_alert"] is True


async def test_a_non_admin_is_refused_admin_commands_and_audited(botenv: BotEnv) -> None:
    await botenv.send(1, "/start")
    for command in ("/admin_stats", "/settier 1 premium"):
        await botenv.send(1, command)
        assert (await botenv.last(1))["text"] == templates.ADMIN_ONLY
    audits = botenv.services.events.named(EventName.ADMIN_ACTION)
    assert [(e.attrs["action"], e.attrs["allowed"]) for e in audits] == [
        ("admin_stats", False),
        ("settier", False),
    ]
    profile = await botenv.services.profiles.get(1)
    assert profile.tier.value == "free"


async def test_superadmin_sees_stats_and_sets_tiers(botenv: BotEnv) -> None:
    for uid in (1, 2, 3):
        await botenv.send(uid, "/start")
    await botenv.send(999, "/start")
    await botenv.send(999, "/admin_stats")
    stats = (await botenv.last(999))["text"]
    assert "Active sessions: 4" in stats
    assert "Sessions started today: 4" in stats
    await botenv.send(999, "/settier 2 premium")
    assert "now on Premium" in (await botenv.last(999))["text"]
    assert (await botenv.services.profiles.get(2)).tier.value == "premium"
    await botenv.send(2, "/subscription")
    assert "Premium" in (await botenv.last(2))["text"]
    await botenv.send(999, "/settier 2 gold")
    assert (await botenv.last(999))["text"].startswith("Usage: /settier")


async def test_blocking_the_bot_ends_the_session(botenv: BotEnv) -> None:
    await botenv.send(1, "/start")
    async with botenv.http.post(f"{botenv.url}/emulator/users/1/block", json={"wait": True}) as r:
        assert r.status == 200
    await botenv.services.sessions.activity.flush()

    async def ended() -> bool:
        s = await botenv.services.sessions.store.get(1)
        return s is not None and s.state is SessionState.TERMINATED

    from tests.helpers import eventually

    await eventually(ended, what="the session ended after the block")
    assert (
        botenv.services.events.named(EventName.SESSION_TERMINATED)[0].attrs["reason"] == "blocked"
    )


async def test_polling_mode_serves_the_same_session_flow(polling_botenv: BotEnv) -> None:
    env = polling_botenv
    await env.send(1, "/status")
    assert (await env.last(1))["text"].startswith("👋 Please send /start first")
    await env.send(1, "/start")
    await env.send(1, "/status")
    assert "State: active" in (await env.last(1))["text"]
