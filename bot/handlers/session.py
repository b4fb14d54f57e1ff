"""/status shows the session; /logout asks, then ends it; the expiry reminder's button keeps it."""

from __future__ import annotations

from typing import Final

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from core.models import SessionState, UserSession
from core.services import Services
from messaging.i18n import N_, _
from messaging.ui import keyboards as kb
from messaging.ui import templates
from messaging.ui.callbacks import SessionCB

router: Final = Router(name=__name__)


@router.message(Command("status", ignore_case=True))
async def status(message: Message, services: Services, session: UserSession) -> None:
    profile = await services.profiles.get(session.user_id)
    await message.answer(templates.status(session, profile, services.clock.now()))


LOGOUT_QUESTION: Final = N_(
    "Log out? Your alerts stop until you send /start again; your preferences are kept."
)
LOGGED_OUT: Final = N_(
    "👋 You are logged out: no more alerts until you send /start again. Your preferences are kept."
)
STAYED: Final = N_("👍 You are still logged in.")


@router.message(Command("logout", ignore_case=True))
async def logout(message: Message) -> None:
    # Ending the session stops every alert: one tap too easy to make by mistake, so it asks.
    await message.answer(_(LOGOUT_QUESTION), reply_markup=kb.confirm_logout())


@router.callback_query(SessionCB.filter(F.action == "logout"))
async def logout_confirmed(
    query: CallbackQuery, services: Services, session: UserSession, state: FSMContext
) -> None:
    await state.clear()
    await services.sessions.end(session.user_id, SessionState.TERMINATED, "logout")
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(_(LOGGED_OUT))


@router.callback_query(SessionCB.filter(F.action == "stay"))
async def logout_cancelled(query: CallbackQuery) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(_(STAYED))


@router.callback_query(SessionCB.filter(F.action == "keep"))
async def keep(query: CallbackQuery, services: Services, session: UserSession) -> None:
    # The session gate already counted the press as activity, which extended the session.
    profile = await services.profiles.get(session.user_id)
    await query.answer(templates.session_kept(session.expires_at, profile.preferences.timezone))
