"""/dnd <duration> and /dnd off: Do Not Disturb that ends by itself."""

from __future__ import annotations

import re
from typing import Final

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.handlers.preferences.saving import save_preferences
from core.models import UserSession
from core.services import Services
from messaging.i18n import _, ngettext
from messaging.ui import templates

router: Final = Router(name=__name__)

_UNITS: Final = {"m": 60, "h": 3_600, "d": 86_400, "w": 7 * 86_400}
_PART = re.compile(r"(\d+(?:\.\d+)?)([mhdw])")


def _span(seconds: float) -> str:
    days, rest = divmod(int(seconds), 86_400)
    if days and not rest:
        return ngettext("{n} day", "{n} days", days).format(n=days)
    return templates.duration(seconds)


def usage(max_seconds: float) -> str:
    return _("Usage: /dnd 2h (also 30m, 1d, 1h30m, up to {longest}) or /dnd off.").format(
        longest=templates.duration(max_seconds)
    )


def parse_duration(text: str) -> float | None:
    """'2h' -> 7200, '1h30m' -> 5400, '45' -> 2700 (bare numbers are minutes); None if invalid.

    Numbers go through float, never int: 400 digits make inf (longer than any limit), where
    int(...) * 60.0 raised OverflowError and int() of 4,300 digits raises ValueError."""
    text = text.strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+", text):
        return float(text) * 60.0
    parts = _PART.findall(text)
    if not parts or "".join(a + b for a, b in parts) != text:
        return None
    return sum(float(n) * _UNITS[u] for n, u in parts)


@router.message(Command("dnd"))
async def dnd(
    message: Message, command: CommandObject, services: Services, session: UserSession
) -> None:
    arg = (command.args or "").strip().lower()
    longest = services.settings.dnd_max_seconds
    now = services.clock.now()
    profile = await services.profiles.get(session.user_id)
    if arg in ("off", "0", "stop"):
        await save_preferences(services, session, {"dnd_until": None})
        await message.answer(_("🔔 Do Not Disturb is off: alerts resume."))
        return
    seconds = parse_duration(arg) if arg else None
    if seconds is None or seconds <= 0:
        current = profile.preferences.dnd_until
        state = (
            _("Do Not Disturb is on until {until}.").format(
                until=templates.when(current, profile.preferences.timezone)
            )
            if current is not None and profile.preferences.in_dnd(now)
            else _("Do Not Disturb is off.")
        )
        await message.answer(f"{state}\n{usage(longest)}")
        return
    if seconds > longest:  # inf included
        await message.answer(
            _("That is longer than {span}, the longest Do Not Disturb. {usage}").format(
                span=_span(longest), usage=usage(longest)
            )
        )
        return
    until = now + seconds
    await save_preferences(services, session, {"dnd_until": until})
    await message.answer(
        _("🔕 Do Not Disturb until {until} ({span}). /dnd off ends it sooner.").format(
            until=templates.when(until, profile.preferences.timezone),
            span=templates.duration(seconds),
        )
    )
