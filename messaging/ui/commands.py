"""Every bot command, who may use it, and its one-line help. /help and the session gate read it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeAllGroupChats

from core.models import Tier
from messaging.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, _, use_locale


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    description: str
    needs_session: bool = True
    admin_only: bool = False


COMMANDS: Final[tuple[CommandSpec, ...]] = (
    CommandSpec("start", N_("Start or resume your session"), needs_session=False),
    CommandSpec("help", N_("What you can do"), needs_session=False),
    CommandSpec("opportunities", N_("Live opportunities for you")),
    CommandSpec("settings", N_("Your preferences (alias /preferences)")),
    CommandSpec("language", N_("Language: English or Russian")),
    CommandSpec("dnd", N_("Do Not Disturb: /dnd 2h, /dnd off")),
    CommandSpec("subscription", N_("Plans, and buying one with Telegram Stars")),
    CommandSpec("status", N_("Your session")),
    CommandSpec("logout", N_("End your session")),
    CommandSpec("admin_stats", N_("Sessions and onboarding figures"), admin_only=True),
    CommandSpec("settier", N_("Change a user's tier: /settier <user_id> <tier>"), admin_only=True),
    CommandSpec(
        "refund", N_("Refund a Stars payment: /refund <user_id> <charge_id>"), admin_only=True
    ),
    CommandSpec(
        "why", N_("Why a user gets an opportunity or not: /why <user_id> <id>"), admin_only=True
    ),
    CommandSpec(
        "restrict",
        N_("Stop or allow a user's alerts (compliance): /restrict <user_id> on|off"),
        admin_only=True,
    ),
    CommandSpec(
        "region",
        N_("Set a user's region (blocked regions get no alerts): /region <user_id> <CC|->"),
        admin_only=True,
    ),
    CommandSpec(
        "link_channel",
        N_("Post public alerts to a channel: /link_channel @channel [delay minutes]"),
        admin_only=True,
    ),
    CommandSpec(
        "unlink_channel", N_("Stop posting to a channel: /unlink_channel @channel"), admin_only=True
    ),
)

# The menu of group chats: the only commands the bot answers there (bot/handlers/groups).
GROUP_COMMANDS: Final[tuple[CommandSpec, ...]] = (
    CommandSpec("start", N_("Your own alerts, in a private chat with me"), needs_session=False),
    CommandSpec("group_settings", N_("This group's alerts (admins only)"), needs_session=False),
)

ALIASES: Final[dict[str, str]] = {"preferences": "settings"}

BY_NAME: Final[dict[str, CommandSpec]] = {c.name: c for c in COMMANDS}

OPEN_COMMANDS: Final[frozenset[str]] = frozenset(c.name for c in COMMANDS if not c.needs_session)


def command_name(text: str | None) -> str | None:
    """The command of a message text (`/Start@my_bot x` -> `start`), or None for plain text."""
    if not text or not text.startswith("/"):
        return None
    head = text.split(maxsplit=1)[0][1:]
    name = head.split("@", 1)[0].lower()
    return ALIASES.get(name, name) or None


def description(command: CommandSpec) -> str:
    """The command's one-line help in the current language (descriptions are marked `N_`)."""
    return _(command.description)


def bot_commands(language: str) -> list[BotCommand]:
    """The menu of non-admin commands in `language`, for ``setMyCommands``."""
    with use_locale(language):
        return [
            BotCommand(command=c.name, description=description(c))
            for c in COMMANDS
            if not c.admin_only
        ]


def group_bot_commands(language: str) -> list[BotCommand]:
    """The menu of group chats in `language`."""
    with use_locale(language):
        return [BotCommand(command=c.name, description=description(c)) for c in GROUP_COMMANDS]


async def publish_commands(bot: Bot) -> None:
    """``setMyCommands`` once per language: Telegram shows each user the menu of their app's
    language, and the default one (English) to every other language. Group chats get their own
    menu (a narrower scope wins over the default), so members aren't offered private commands."""
    for language in LANGUAGES:
        code = None if language == DEFAULT_LANGUAGE else language
        await bot.set_my_commands(bot_commands(language), language_code=code)
        await bot.set_my_commands(
            group_bot_commands(language), scope=BotCommandScopeAllGroupChats(), language_code=code
        )


def visible_commands(*, has_session: bool, tier: Tier) -> list[CommandSpec]:
    return [
        c
        for c in COMMANDS
        if (has_session or not c.needs_session) and (not c.admin_only or tier is Tier.SUPERADMIN)
    ]
