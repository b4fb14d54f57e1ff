"""/group_tier <chat_id> <tier|none>: a SuperAdmin sets a group's plan (it otherwise has the
plan of the admin who turned its alerts on). Others fall through to bot/handlers/admin.py,
which refuses and audits every SuperAdmin command."""

from __future__ import annotations

import re
from html import escape
from typing import Final

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.filters import PRIVATE_CHAT
from bot.handlers.admin import IsSuperAdmin
from core.events import EventName
from core.groups.store import GroupError, GroupStore
from core.models import Tier, UserSession
from core.services import Services
from messaging.i18n import N_, _

router: Final = Router(name=__name__)
USAGE: Final = N_(
    "Usage: /group_tier &lt;chat_id&gt; &lt;tier&gt; (one of: {tiers}), or none to give the "
    "group its enabling admin's plan again"
)
_CHAT_ID = re.compile(r"^-\d{1,20}$")


@router.message(Command("group_tier", ignore_case=True), PRIVATE_CHAT, IsSuperAdmin())
async def group_tier(
    message: Message, command: CommandObject, services: Services, session: UserSession
) -> None:
    args = (command.args or "").lower().split()
    names = {t.value for t in Tier}
    if len(args) != 2 or not _CHAT_ID.match(args[0]) or args[1] not in names | {"none"}:
        await message.answer(_(USAGE).format(tiers=", ".join(sorted(names))))
        return
    chat_id, tier = int(args[0]), None if args[1] == "none" else Tier(args[1])
    try:
        config = await GroupStore(services.redis).set_tier(chat_id, tier, services.clock.now())
    except GroupError as exc:
        await message.answer(escape(str(exc)))
        return
    services.emit(
        EventName.ADMIN_ACTION,
        user_id=session.user_id,
        session_id=session.session_id,
        action="group_tier",
        allowed=True,
        target=chat_id,
        tier=tier.value if tier else "",
    )
    title = escape(config.title or str(chat_id))
    if tier is None:
        await message.answer(
            _("✅ {title} has its enabling admin's plan again.").format(title=title)
        )
    else:
        await message.answer(
            _("✅ {title} is now on {plan}.").format(title=title, plan=escape(tier.label))
        )
