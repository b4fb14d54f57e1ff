"""A trader's language, end to end: aiogram over HTTP to the emulator, real Redis.

A user whose Telegram app is in Russian (``language_code`` "ru" in every update) gets /start,
onboarding, /help, /settings and the session gate's refusals in Russian, and so do the pushes a
queue shard renders for them off the bot. The language can be switched from /settings (or
/language), is stored in the profile, and then wins over the app's ``language_code``. The
oracle is what the emulator's chat shows, compared with texts written out here.
"""

from __future__ import annotations

from typing import Any

from aiogram.types import BotCommandScopeAllGroupChats

from actors.user_queue_shard import UserQueueShard
from core.models import Opportunity, OpportunityType, Priority, Tier
from core.settings import Settings
from messaging.outbox.store import Outbox
from messaging.ui.callbacks import SettingsCB
from messaging.ui.commands import COMMANDS, GROUP_COMMANDS, publish_commands
from messaging.ui.keyboards import Act, Page

from .conftest import BotEnv
from .outbox_delivery import deliver
from .settings_screens import click

RU = 31
EN = 32
LANGUAGE_PAGE = SettingsCB(action=Act.OPEN, value=Page.LANGUAGE).pack()
TO_RUSSIAN = SettingsCB(action=Act.LANGUAGE, value="ru").pack()


async def send(env: BotEnv, uid: int, text: str, language_code: str | None) -> None:
    """A message from a user whose app language is `language_code` (None: not sent)."""
    body: dict[str, Any] = {"text": text, "first_name": "Аня", "wait": True, "timeout": 10}
    if language_code is not None:
        body["language_code"] = language_code
    await env._post(f"/emulator/users/{uid}/messages", body)


def labels(message: dict[str, Any]) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


async def test_a_russian_app_gets_russian_start_onboarding_help_and_settings(
    botenv: BotEnv,
) -> None:
    """/start with language_code "ru" stores Russian and answers in it; so do onboarding's
    first step, /help (with the command descriptions), /settings and its buttons."""
    env = botenv
    await send(env, RU, "/opportunities", "ru")  # before /start: the gate's refusal
    assert (await env.last(RU))["text"].startswith("👋 Сначала отправьте /start")
    await send(env, RU, "/start", "ru")
    texts = await env.texts(RU)
    assert texts[-2].startswith("🚀 Добро пожаловать в <b>arbcast</b>, Аня!\nВаша сессия началась.")
    assert texts[-1].startswith("👋 <b>Давайте всё настроим, Аня.</b>")
    assert "Далее ▶" in labels(await env.last(RU))
    assert (await env.services.profiles.get(RU)).language == "ru"

    await send(env, RU, "/help", "ru")
    help_text = (await env.last(RU))["text"]
    assert help_text.startswith("<b>Команды</b>\n/start — Начать или продолжить сессию")
    assert "/language — Язык: английский или русский" in help_text

    await send(env, RU, "/settings", "ru")
    page = await env.last(RU)
    assert page["text"].startswith("<b>⚙️ Ваши настройки</b>\nPush-оповещения: вкл.")
    assert "🌐 Язык: 🇷🇺 Русский ›" in labels(page)
    assert "🌍 Часовой пояс: UTC ›" in labels(page)


async def test_a_push_rendered_by_a_shard_is_in_the_recipients_language(
    botenv: BotEnv, settings: Settings, redis_url: str, redis: Any
) -> None:
    """A Free trader with a Russian app and one with an English app get the same funding
    opportunity from the same shard tick, each in their own language."""
    clock, services = botenv.clock, botenv.services
    await send(botenv, RU, "/start", "ru")
    await send(botenv, EN, "/start", "en-US")
    await services.sessions.activity.flush()
    shard = UserQueueShard(0, 1, settings, redis_url)
    outbox = Outbox(redis, settings.distribution.delivery, clock=clock)
    await outbox.ensure_group()
    await shard.load(clock.now())
    now = clock.now()
    opp = Opportunity(
        opportunity_id="f-ru", type=OpportunityType.FUNDING, symbol="ETH/USDT",
        buy_exchange="binance", sell_exchange="okx", buy_price=100.0, sell_price=100.0,
        net_spread_pct=0.4, expected_profit_pct=0.4, confidence=0.8, priority=Priority.MEDIUM,
        detected_at=now, updated_at=now, expires_at=now + 3_600,
    )  # fmt: skip
    await services.opportunities.put(opp)
    await shard.fanout(opp, now)
    clock.advance(seconds=settings.tiers[Tier.FREE].delay_seconds)
    await shard.tick(clock.now())
    sent = {m.chat_id: msg for m, msg in await deliver(botenv, outbox)}
    assert set(sent) == {RU, EN}
    ru, en = (await botenv.last(RU)), (await botenv.last(EN))
    # A Free alert comes after the Free delay, as a digest of the queue: here of one.
    assert ru["text"].startswith(
        "📬 Аня, 1 возможность, лучшие первыми\n\n1. 🔔 <b>ETH/USDT</b> · Ставка финансирования"
    )
    assert "чистый после комиссий и проскальзывания <b>0.400%</b>" in ru["text"]
    assert labels(ru)[:3] == ["ℹ️ 1", "🔕 Пара", "🔕 Тип"]
    assert en["text"].startswith(
        "📬 Аня, 1 opportunity, best first\n\n1. 🔔 <b>ETH/USDT</b> · Funding rate"
    )
    assert labels(en)[:3] == ["ℹ️ 1", "🔕 Pair", "🔕 Type"]


async def test_switching_language_from_settings_and_with_the_command(botenv: BotEnv) -> None:
    """An English user opens Language in /settings and picks Русский: the page is redrawn in
    Russian at once, the choice is stored and outlives the app's language_code; /language en
    switches back."""
    env = botenv
    await send(env, EN, "/start", None)
    await send(env, EN, "/settings", None)
    menu = await env.last(EN)
    assert "🌐 Language: 🇬🇧 English ›" in labels(menu)
    page = await click(env, EN, menu["message_id"], LANGUAGE_PAGE)
    assert page["text"].startswith("<b>🌐 Language</b>: 🇬🇧 English")
    assert labels(page)[:2] == ["✅ 🇬🇧 English", "🇷🇺 Русский"]

    page = await click(env, EN, menu["message_id"], TO_RUSSIAN)
    assert page["text"].startswith("<b>⚙️ Ваши настройки</b>")
    assert "Язык: 🇷🇺 Русский" in page["text"]
    assert (await env.callback_answers(EN))[-1]["text"] == "Язык: 🇷🇺 Русский"
    assert (await env.services.profiles.get(EN)).language == "ru"

    await send(env, EN, "/help", "en")  # the stored choice wins over the app's language
    assert (await env.last(EN))["text"].startswith("<b>Команды</b>")
    await send(env, EN, "/language en", "ru")
    assert (await env.last(EN))["text"] == "✅ Language: 🇬🇧 English"
    await send(env, EN, "/help", "ru")
    assert (await env.last(EN))["text"].startswith("<b>Commands</b>\n/start — Start or resume")


async def test_the_command_menu_is_published_in_each_language(botenv: BotEnv) -> None:
    """setMyCommands per language: the default menu is the English descriptions, the "ru" one
    the Russian, with the same commands and no admin command in either."""
    await publish_commands(botenv.bot)
    default = await botenv.bot.get_my_commands()
    russian = await botenv.bot.get_my_commands(language_code="ru")
    public = [c for c in COMMANDS if not c.admin_only]
    assert [(c.command, c.description) for c in default] == [
        (c.name, c.description) for c in public
    ]
    assert [c.command for c in russian] == [c.name for c in public]
    assert dict((c.command, c.description) for c in russian)["start"] == (
        "Начать или продолжить сессию"
    )


async def test_group_chats_get_their_own_menu_in_each_language(botenv: BotEnv) -> None:
    """Groups are offered only what the bot answers there (/start, /group_settings), in the
    member's language; the private menu stays the default."""
    await publish_commands(botenv.bot)
    scope = BotCommandScopeAllGroupChats()
    default = await botenv.bot.get_my_commands(scope=scope)
    russian = await botenv.bot.get_my_commands(scope=scope, language_code="ru")
    assert [(c.command, c.description) for c in default] == [
        ("start", "Your own alerts, in a private chat with me"),
        ("group_settings", "This group's alerts (admins only)"),
    ]
    assert [c.command for c in russian] == [c.name for c in GROUP_COMMANDS]
    assert dict((c.command, c.description) for c in russian)["group_settings"] == (
        "Оповещения этой группы (только для админов)"
    )
