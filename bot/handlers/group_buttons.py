"""Buttons on a group's or channel's alert card: they act for whoever presses them.

A group card is shown to many people, so Details cannot answer in the group: the presser with
an active session gets the details in their private chat (the same full card /opportunities'
Details shows, for their plan: what it does not include is refused, as in private), and the
press is answered with a note saying so; a presser without a session (or one whose private chat
the bot cannot write to) gets a pointer: the answer opens the bot with a ``/start`` deep link,
and no session is opened silently. Every press is counted per chat (`EventName.GROUP_BUTTON`).
"""

from __future__ import annotations

import logging
from typing import Final

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import CallbackQuery

from core.distribution.eligibility import ChatContext, RecipientState, Use, is_eligible
from core.events import EventName
from core.groups.deeplinks import SourceKind, start_url
from core.models import UserSession
from core.services import Services
from messaging.i18n import _
from messaging.ui import templates
from messaging.ui.card import card
from messaging.ui.group_card import GroupCardCB

router: Final = Router(name=__name__)
log = logging.getLogger(__name__)


def _source(query: CallbackQuery) -> tuple[int, str, SourceKind]:
    chat = query.message.chat if query.message is not None else None
    if chat is None:
        return 0, "", "group"
    kind: SourceKind = "channel" if chat.type == ChatType.CHANNEL else "group"
    return chat.id, str(chat.type), kind


@router.callback_query(GroupCardCB.filter(F.action == "details"))
async def group_details(
    query: CallbackQuery, callback_data: GroupCardCB, services: Services, bot: Bot
) -> None:
    chat_id, chat_kind, source = _source(query)
    now = services.clock.now()
    user_id = query.from_user.id
    session = await services.sessions.current(user_id)
    live = session if session is not None and session.is_active(now) else None

    def count(answer: str) -> None:
        services.emit(
            EventName.GROUP_BUTTON,
            user_id=user_id,
            session_id=live.session_id if live else None,
            chat_id=chat_id,
            chat_kind=chat_kind,
            button="details",
            opportunity_id=callback_data.opportunity_id,
            has_session=live is not None,
            answer=answer,
        )

    if live is not None:
        answer = await _details_in_private(query, callback_data.opportunity_id, services, bot, live)
        if answer is not None:
            count(answer)
            return
    me = await bot.me()
    url = start_url(me.username or "", source, chat_id)
    count("pointer")
    await query.answer(
        _("Details open in our private chat: press Start there to open your session."), url=url
    )


async def _details_in_private(
    query: CallbackQuery, opportunity_id: str, services: Services, bot: Bot, session: UserSession
) -> str | None:
    """Send the details to the presser's private chat; the answer given (None: the private
    chat is closed to the bot, so the caller points to /start instead)."""
    services.sessions.record_activity(session, command=True)
    now = services.clock.now()
    profile = await services.profiles.get(session.user_id)
    opp = await services.opportunities.get(opportunity_id)
    if opp is None:
        await query.answer(_(templates.OPPORTUNITY_GONE), show_alert=True)
        return "gone"
    state, context = RecipientState(profile, session), ChatContext.private(session.user_id)
    if not is_eligible(state, opp, now, context, policy=services.policy, use=Use.ACCESS):
        await query.answer(templates.not_in_plan(profile.tier), show_alert=True)
        return "refused"
    records = await services.opportunities.validation(opportunity_id)
    text = "\n".join(
        [*card(opp, profile, now, full=True), "", templates.validation_record(records)]
    )
    try:
        await bot.send_message(session.user_id, text)
    except (TelegramForbiddenError, TelegramBadRequest) as exc:
        log.info("details for %s could not go to their private chat: %s", session.user_id, exc)
        return None
    services.emit(
        EventName.DETAILS,
        user_id=session.user_id,
        session_id=session.session_id,
        opportunity_id=opportunity_id,
        button="details",
    )
    await query.answer(_("Sent you the details in our private chat."))
    return "private"
