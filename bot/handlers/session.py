"""/status shows the session; /logout ends it; the expiry reminder's button keeps it."""

from __future__ import annotations

from typing import Final

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from core.models import SessionState, UserSession
from core.services import Services
from messaging.ui import templates
from messaging.ui.callbacks import SessionCB

router: Final = Router(name=__name__)


@router.message(Command("status", ignore_case=True))
async def status(message: Message, services: Services, session: UserSession) -> None:
    profile = await services.profiles.get(session.user_id)
    await message.answer(templates.status(session, profile, services.clock.now()))


@router.message(Command("logout", ignore_case=True))
async def logout(
    message: Message, services: Services, session: UserSession, state: FSMContext
) -> None:
    await state.clear()
    await services.sessions.end(session.user_id, SessionState.TERMINATED, "logout")
    await message.answer(
        "👋 You are logged out: no more alerts until you send /start again. "
        "Your preferences are kept."
    )


@router.callback_query(SessionCB.filter(F.action == "keep"))
async def keep(query: CallbackQuery, services: Services, session: UserSession) -> None:
    # The session gate already counted the press as activity, which extended the session.
    profile = await services.profiles.get(session.user_id)
    await query.answer(templates.session_kept(session.expires_at, profile.preferences.timezone))
