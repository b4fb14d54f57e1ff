"""The /group_settings menu's buttons: each press is checked again (an admin's status may
change, and anyone in the group can press), then saved through the groups store and the menu
redrawn on the page it was on."""

from __future__ import annotations

from typing import Final

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, Message

from bot.filters import GROUP_BUTTON
from bot.handlers.groups.admins import is_chat_admin
from bot.handlers.groups.deps import GroupDeps
from bot.handlers.groups.settings import audit, group_config, render_menu, topic_of
from bot.handlers.preferences.parsing import parse_hours
from core.groups.models import GroupConfig
from core.groups.store import GroupChanges
from core.models import OpportunityType
from core.services import Services
from messaging.i18n import _
from messaging.ui import group_texts
from messaging.ui.callbacks import GroupSettingsCB
from messaging.ui.keyboards.group_settings import PAGES, PROFIT_PRESETS

router: Final = Router(name=__name__)
# After a change, the menu stays on the page the button was on.
PAGE_OF: Final = {"type": "types", "profit": "profit", "digest": "digest", "quiet": "quiet"}


def changes_for(
    config: GroupConfig, action: str, value: str, allowed: frozenset[OpportunityType]
) -> GroupChanges | None:
    """What a settings button asks to store; None when its data is not a valid choice."""
    if action == "type" and value in {t.value for t in allowed}:
        return {"opportunity_types": config.opportunity_types ^ {OpportunityType(value)}}
    if action == "profit" and value in PROFIT_PRESETS:
        return {"min_profit_pct": float(value)}
    if action == "digest":
        if value == "default":
            return {"digest_window_seconds": None}
        if value.isdigit() and int(value) <= 86_400:
            return {"digest_window_seconds": float(value)}
    if action == "quiet":
        hours = None if value == "off" else parse_hours(value)
        if value == "off" or hours is not None:
            return {"quiet_hours": hours}
    if action == "topic" and config.is_forum:
        if value == "general":
            return {"thread_id": None}
        if value.isdigit():
            return {"thread_id": int(value)}
    return None


async def _redraw(message: Message, services: Services, config: GroupConfig, page: str) -> None:
    text, markup = await render_menu(services, config, topic_of(message), page)
    try:
        await message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as exc:  # the same menu pressed twice
        if "message is not modified" not in str(exc):
            raise


@router.callback_query(GroupSettingsCB.filter(), GROUP_BUTTON)
async def menu_button(
    query: CallbackQuery,
    callback_data: GroupSettingsCB,
    bot: Bot,
    services: Services,
    groups: GroupDeps,
) -> None:
    message = query.message
    if not isinstance(message, Message):  # too old for Telegram to show it to the bot
        await query.answer()
        return
    chat, user_id = message.chat, query.from_user.id
    action, value = callback_data.action, callback_data.value
    admin = await is_chat_admin(bot, groups, chat.id, user_id)
    if admin is None:
        await query.answer(_(group_texts.CANT_CHECK), show_alert=True)
        return
    if not admin:
        audit(services, user_id, chat, action, False, "not_admin")
        await query.answer(_(group_texts.NOT_ADMIN_BUTTON), show_alert=True)
        return
    now = services.clock.now()
    config = await group_config(groups, chat, now)
    if action == "close":
        audit(services, user_id, chat, "close", True)
        await message.edit_text(_(group_texts.MENU_CLOSED))
        await query.answer()
        return
    if action == "page":
        await _redraw(message, services, config, value if value in PAGES else "main")
        await query.answer()
        return
    if action in ("on", "off"):
        if action == "on":
            config = await groups.store.enable(chat.id, user_id, now)
        else:
            config = await groups.store.pause(chat.id, now)
        audit(services, user_id, chat, action, True)
        await _redraw(message, services, config, "main")
        await query.answer(_(group_texts.SAVED))
        return
    changes = changes_for(config, action, value, services.settings.groups.group_types)
    if changes is None:
        await query.answer()
        return
    allowed = services.settings.groups.group_types
    if "opportunity_types" in changes and not changes["opportunity_types"] & allowed:
        await query.answer(_(group_texts.KEEP_ONE_TYPE), show_alert=True)
        return
    config = await groups.store.update(chat.id, now, **changes)
    audit(services, user_id, chat, f"set_{action}", True)
    await _redraw(message, services, config, PAGE_OF.get(action, "main"))
    await query.answer(_(group_texts.SAVED))
