"""Every bot command, who may use it, and its one-line help. /help and the session gate read it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from core.models import Tier


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    description: str
    needs_session: bool = True
    admin_only: bool = False


COMMANDS: Final[tuple[CommandSpec, ...]] = (
    CommandSpec("start", "Start or resume your session", needs_session=False),
    CommandSpec("help", "What you can do", needs_session=False),
    CommandSpec("opportunities", "Live opportunities for you"),
    CommandSpec("settings", "Your preferences (alias /preferences)"),
    CommandSpec("dnd", "Do Not Disturb: /dnd 2h, /dnd off"),
    CommandSpec("subscription", "Plans, and buying one with Telegram Stars"),
    CommandSpec("status", "Your session"),
    CommandSpec("logout", "End your session"),
    CommandSpec("admin_stats", "Sessions and onboarding figures", admin_only=True),
    CommandSpec("settier", "Change a user's tier: /settier <user_id> <tier>", admin_only=True),
    CommandSpec("refund", "Refund a Stars payment: /refund <user_id> <charge_id>", admin_only=True),
    CommandSpec(
        "why", "Why a user gets an opportunity or not: /why <user_id> <id>", admin_only=True
    ),
    CommandSpec(
        "restrict",
        "Stop or allow a user's alerts (compliance): /restrict <user_id> on|off",
        admin_only=True,
    ),
    CommandSpec(
        "region",
        "Set a user's region (blocked regions get no alerts): /region <user_id> <CC|->",
        admin_only=True,
    ),
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


def visible_commands(*, has_session: bool, tier: Tier) -> list[CommandSpec]:
    return [
        c
        for c in COMMANDS
        if (has_session or not c.needs_session) and (not c.admin_only or tier is Tier.SUPERADMIN)
    ]
