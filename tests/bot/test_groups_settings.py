"""/group_settings through the emulator: an admin turns alerts on for two types with a
10-minute digest by pressing the menu's buttons; a member is refused (and the refusal
audited), their presses too; typed values; the forum topic alerts go to; getChatMember is
asked once per user and cached; the group's plan, and a SuperAdmin's /group_tier."""

from __future__ import annotations

from typing import Any

import pytest

from core.events import EventName, MemoryEventLog
from core.groups.store import GroupStore
from core.models import OpportunityType, Tier
from core.settings import Settings
from messaging.ui import group_texts, templates
from messaging.ui.callbacks import GroupSettingsCB
from tests.bot.conftest import BotEnv
from tests.bot.test_groups import (
    ADMIN,
    GROUP,
    MEMBER,
    bot_status,
    calls,
    group_events,
    make_group,
    say,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Every type may go to groups here, so that choosing two of three means something."""
    groups = settings.groups.model_copy(update={"private_only_types": frozenset()})
    return settings.model_copy(update={"groups": groups})


def _buttons(message: dict[str, Any]) -> dict[str, str]:
    rows = (message["reply_markup"] or {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


async def _press(env: BotEnv, user_id: int, message_id: int, action: str, value: str = "") -> None:
    data = GroupSettingsCB(action=action, value=value).pack()
    await env.press(user_id, message_id, data, chat_id=GROUP)


async def _menu(env: BotEnv, user_id: int = ADMIN, text: str = "/group_settings") -> dict[str, Any]:
    await say(env, user_id, text)
    return (await env.messages(GROUP))[-1]


async def _ready(env: BotEnv) -> GroupStore:
    await make_group(env)
    await bot_status(env, "member")
    return GroupStore(env.services.redis)


async def test_an_admin_enables_two_types_with_a_ten_minute_digest(botenv: BotEnv) -> None:
    env = botenv
    store = await _ready(env)
    menu = await _menu(env)
    assert "Alerts: ⏸ off" in menu["plain_text"]
    mid = menu["message_id"]
    await _press(env, ADMIN, mid, "on")
    await _press(env, ADMIN, mid, "page", "types")
    await _press(env, ADMIN, mid, "type", "technical")
    await _press(env, ADMIN, mid, "page", "digest")
    await _press(env, ADMIN, mid, "digest", "600")
    [shown] = [m for m in await env.messages(GROUP) if m["message_id"] == mid]
    assert "Alerts: 🟢 on" in shown["plain_text"]
    assert "How often: a digest every 10 min" in shown["plain_text"]
    assert "Types: Cross-exchange, Funding rate\n" in shown["plain_text"]
    assert any(text.startswith("✅ 10 min") for text in _buttons(shown))
    config = await store.get(GROUP)
    assert config is not None and config.receives_pushes and config.enabled_by == ADMIN
    assert config.opportunity_types == {OpportunityType.ARBITRAGE, OpportunityType.FUNDING}
    assert config.digest_window_seconds == 600
    answers = await env.callback_answers(GROUP)
    assert len(answers) == 5 and all(not a["show_alert"] for a in answers)
    assert await calls(env, "getChatMember") == 1  # one ask, then the cache
    actions = [e["action"] for e in group_events(env, EventName.GROUP_SETTINGS)]
    assert actions == ["open", "on", "set_type", "set_digest"]


async def test_a_member_is_refused_politely_and_audited(botenv: BotEnv) -> None:
    env = botenv
    store = await _ready(env)
    refusal = await _menu(env, MEMBER)
    assert refusal["text"] == group_texts.NOT_ADMIN and refusal["reply_markup"] is None
    menu = await _menu(env, ADMIN)
    await _press(env, MEMBER, menu["message_id"], "on")
    [answer] = await env.callback_answers(GROUP)
    assert answer["show_alert"] and answer["text"] == group_texts.NOT_ADMIN_BUTTON
    config = await store.get(GROUP)
    assert config is not None and not config.enabled
    refused = [e for e in group_events(env, EventName.GROUP_SETTINGS) if not e["allowed"]]
    assert [(e["user_id"], e["action"], e["answer"]) for e in refused] == [
        (MEMBER, "open", "not_admin"),
        (MEMBER, "on", "not_admin"),
    ]


async def test_typed_values_are_saved_or_explained(botenv: BotEnv) -> None:
    env = botenv
    store = await _ready(env)
    for text in (
        "/group_settings quiet 22-8",
        "/group_settings tz Europe/Moscow",
        "/group_settings profit 0.5",
        "/group_settings pairs btc/usdt ETH-USDT",
    ):
        await say(env, ADMIN, text)
    config = await store.get(GROUP)
    assert config is not None
    assert (config.quiet_hours, config.timezone) == ((22, 8), "Europe/Moscow")
    assert config.min_profit_pct == 0.5 and config.pairs == {"BTC/USDT", "ETH/USDT"}
    menu = (await env.messages(GROUP))[-1]["plain_text"]
    assert "Quiet hours: 22:00–08:00 (Europe/Moscow)" in menu
    await say(env, ADMIN, "/group_settings profit lots")
    assert (await env.messages(GROUP))[-1]["text"] == group_texts.BAD_PROFIT
    await say(env, ADMIN, "/group_settings help")
    assert "/group_settings quiet 22-8" in (await env.messages(GROUP))[-1]["text"]
    assert (await store.get(GROUP)) == config


async def test_alerts_go_to_the_topic_the_admin_chose(botenv: BotEnv) -> None:
    env = botenv
    await make_group(env, is_forum=True)
    await bot_status(env, "member")
    topic = await env._post(f"/emulator/chats/{GROUP}/topics", {"name": "Signals"})
    thread = topic["message_thread_id"]
    await say(env, ADMIN, "/group_settings", message_thread_id=thread)
    menu = (await env.messages(GROUP))[-1]
    assert menu["message_thread_id"] == thread  # the menu answers in the topic
    await _press(env, ADMIN, menu["message_id"], "topic", str(thread))
    config = await GroupStore(env.services.redis).get(GROUP)
    assert config is not None and config.is_forum and config.thread_id == thread


async def test_the_group_has_its_admin_s_plan_or_the_one_a_superadmin_sets(
    botenv: BotEnv,
) -> None:
    """The plan shown is the enabling admin's; /group_tier (SuperAdmins only, audited) sets
    another, and `none` gives the admin's back."""
    env = botenv
    store = await _ready(env)
    await env.services.profiles.set_tier(ADMIN, Tier.BASIC)
    mid = (await _menu(env))["message_id"]
    await _press(env, ADMIN, mid, "on")
    [shown] = [m for m in await env.messages(GROUP) if m["message_id"] == mid]
    assert "Plan: Basic" in shown["plain_text"]
    await env.send(MEMBER, "/start")
    await env.send(MEMBER, f"/group_tier {GROUP} enterprise")
    assert (await env.last(MEMBER))["text"] == templates.ADMIN_ONLY
    await env.send(999, "/start")
    await env.send(999, f"/group_tier {GROUP} premium")
    assert "now on Premium" in (await env.last(999))["text"]
    config = await store.get(GROUP)
    assert config is not None and config.tier_override is Tier.PREMIUM
    assert "Plan: Premium" in (await _menu(env))["plain_text"]
    await env.send(999, f"/group_tier {GROUP} none")
    assert "Plan: Basic" in (await _menu(env))["plain_text"]
    await env.send(999, "/group_tier 5 premium")
    assert (await env.last(999))["text"].startswith("Usage: /group_tier")
    log = env.services.events
    assert isinstance(log, MemoryEventLog)
    audits = [(e.user_id, e.attrs["allowed"]) for e in log.named(EventName.ADMIN_ACTION)]
    assert audits == [(MEMBER, False), (999, True), (999, True)]


async def test_an_anonymous_admin_opens_the_menu(botenv: BotEnv) -> None:
    """Only admins can write as the group, so the menu opens without asking Telegram."""
    env = botenv
    await _ready(env)
    await say(env, ADMIN, "/group_settings", anonymous=True)
    menu = (await env.messages(GROUP))[-1]
    assert "Group alerts" in menu["plain_text"] and menu["reply_markup"] is not None
    assert await calls(env, "getChatMember") == 0
