"""Onboarding: a short guided setup in one message that each step edits.

welcome → tier (what it gives, how to upgrade) → opportunity types → active hours and timezone
→ risk tolerance → exchanges and API-key guidance → done (summary). Every answer is saved at
once; "Skip" on any step leaves the rest for /settings, whose "Finish onboarding" resumes here.

Each step shown, answered, skipped or completed is an ``onboarding.step`` event, so the funnel
(started, each step, completed, abandoned) can be counted. The step lives in the chat's FSM state
(Redis); a button of any other step or message is stale and answered with an alert.
"""

from __future__ import annotations

from typing import Final

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot.handlers.onboarding_steps import done_text, render_step
from bot.handlers.preferences.parsing import parse_toggle
from bot.handlers.preferences.render import offered_exchanges
from bot.handlers.preferences.replies import edit_or_send
from bot.handlers.preferences.saving import save_member, save_preferences, save_type
from bot.handlers.preferences.texts import LAST_TYPE
from bot.handlers.refusals import FORGED, refuse
from bot.handlers.refusals import STALE as STALE_REASON
from core.events import EventName, Scalar
from core.models import (
    OnboardingState,
    OpportunityType,
    RiskTolerance,
    UserSession,
)
from core.services import Services
from messaging.i18n import N_, _
from messaging.ui import keyboards as kb
from messaging.ui import templates
from messaging.ui.callbacks import OnboardingCB, SettingsCB
from messaging.ui.keyboards import Act, Step
from messaging.ui.labels import risk_label

router: Final = Router(name=__name__)

STALE: Final = N_(
    "This onboarding step is no longer current. Send /settings to change your preferences."
)
SKIPPED_TEXT: Final = N_(
    "👌 Onboarding skipped. Your answers so far are saved; finish any time with /settings. "
    "Send /opportunities for what's live now."
)


class Onboarding(StatesGroup):
    welcome = State()
    tier = State()
    types = State()
    schedule = State()
    risk = State()
    exchanges = State()


STATES: Final[dict[str, State]] = {
    Step.WELCOME: Onboarding.welcome,
    Step.TIER: Onboarding.tier,
    Step.TYPES: Onboarding.types,
    Step.SCHEDULE: Onboarding.schedule,
    Step.RISK: Onboarding.risk,
    Step.EXCHANGES: Onboarding.exchanges,
}


def step_event(
    services: Services,
    user_id: int,
    session_id: str | None,
    step: str,
    action: str,
    value: str | None = None,
    **extra: Scalar,
) -> None:
    attrs: dict[str, Scalar] = {"step": step, "action": action, **extra}
    if value is not None:
        attrs["value"] = value
    services.emit(EventName.ONBOARDING_STEP, attrs, user_id=user_id, session_id=session_id)


async def begin_onboarding(message: Message, state: FSMContext, services: Services) -> None:
    """Start onboarding with a new message (after /start of a new session, in private chats)."""
    user = message.from_user
    assert user is not None
    session = await services.sessions.current(user.id)
    await services.sessions.set_onboarding(user.id, OnboardingState.IN_PROGRESS)
    profile = await services.profiles.get(user.id)
    text, markup = render_step(Step.WELCOME, profile, services)
    sent = await message.answer(text, reply_markup=markup)
    await state.set_state(Onboarding.welcome)
    await state.update_data(ob_msg=sent.message_id)
    sid = session.session_id if session else None
    step_event(services, user.id, sid, Step.WELCOME, "shown", source="start")


@router.callback_query(SettingsCB.filter(F.action == Act.FINISH))
async def resume_from_settings(
    query: CallbackQuery, services: Services, session: UserSession, state: FSMContext
) -> None:
    """ "Finish onboarding" in /settings: continue in the same message from the plan step."""
    profile = await services.profiles.get(session.user_id)
    if profile.onboarding is OnboardingState.COMPLETED:
        await query.answer(_("Onboarding is already complete."), show_alert=True)
        return
    if not isinstance(query.message, Message):
        await refuse(query, services, session.session_id, STALE_REASON, _(STALE))
        return
    await services.sessions.set_onboarding(session.user_id, OnboardingState.IN_PROGRESS)
    await state.set_state(Onboarding.tier)
    await state.update_data(ob_msg=query.message.message_id)
    text, markup = render_step(Step.TIER, profile, services)
    await edit_or_send(query, text, markup)
    await query.answer()
    step_event(services, session.user_id, session.session_id, Step.TIER, "shown", source="settings")


@router.callback_query(OnboardingCB.filter())
async def on_step_button(
    query: CallbackQuery,
    callback_data: OnboardingCB,
    services: Services,
    session: UserSession,
    state: FSMContext,
) -> None:
    step, value = callback_data.step, callback_data.value
    current = await state.get_state()
    data = await state.get_data()
    expected = STATES.get(step)
    if expected is None:  # no keyboard offers this step
        await refuse(query, services, session.session_id, FORGED, _(STALE))
        return
    if (
        current != expected.state
        or not isinstance(query.message, Message)
        or data.get("ob_msg") != query.message.message_id
    ):
        await refuse(query, services, session.session_id, STALE_REASON, _(STALE))
        return
    uid, sid = session.user_id, session.session_id

    if value == "skip":
        await services.sessions.set_onboarding(uid, OnboardingState.SKIPPED)
        await state.clear()
        await edit_or_send(query, _(SKIPPED_TEXT), None)
        await query.answer(_("Skipped — /settings has everything"))
        step_event(services, uid, sid, step, "skipped")
        return

    if value == "next":
        index = kb.ONBOARDING_STEPS.index(step)
        if index + 1 < len(kb.ONBOARDING_STEPS):
            following = kb.ONBOARDING_STEPS[index + 1]
            await state.set_state(STATES[following])
            profile = await services.profiles.get(uid)
            text, markup = render_step(following, profile, services)
            await edit_or_send(query, text, markup)
            await query.answer()
            step_event(services, uid, sid, following, "shown")
            return
        await _complete(query, services, session, state)
        return

    outcome = await _answer(step, value, services, session)
    if outcome is None:
        await refuse(query, services, sid, FORGED, _(templates.UNKNOWN_BUTTON))
        return
    note, saved = outcome
    if not saved:
        await query.answer(note, show_alert=True)
        return
    step_event(services, uid, sid, step, "answered", value)
    profile = await services.profiles.get(uid)
    text, markup = render_step(step, profile, services)
    await edit_or_send(query, text, markup)
    await query.answer(note)


async def _complete(
    query: CallbackQuery, services: Services, session: UserSession, state: FSMContext
) -> None:
    profile = await services.profiles.get(session.user_id)
    if profile.onboarding is not OnboardingState.COMPLETED:
        await services.sessions.set_onboarding(session.user_id, OnboardingState.COMPLETED)
    await state.clear()
    await edit_or_send(query, done_text(profile, services), kb.onboarding_done())
    await query.answer(_("Onboarding complete 🎉"))
    step_event(services, session.user_id, session.session_id, Step.DONE, "completed")


async def _answer(
    step: str, value: str, services: Services, session: UserSession
) -> tuple[str, bool] | None:
    """Save one answer: a note to show and whether anything was saved; None if the value is
    not one this step offers (a forged or outdated button)."""
    source = "onboarding"
    if step == Step.TYPES:
        try:
            add, member = parse_toggle(value, {t.value for t in OpportunityType})
        except ValueError:
            return None
        plan = services.settings.tier_limits((await services.profiles.get(session.user_id)).tier)
        saved = await save_type(
            services,
            session,
            OpportunityType(member),
            add,
            source=source,
            plan_types=plan.opportunity_types,
        )
        return (_("Saved"), True) if saved else (_(LAST_TYPE), False)
    if step == Step.SCHEDULE:
        kind, _sep, choice = value.partition("=")
        if kind == "h" and choice in {kb.hours_value(h) for h in kb.HOURS}:
            start, _sep, end = choice.partition("-")
            hours = (int(start), int(end))
            await save_preferences(services, session, {"active_hours": hours}, source=source)
            return _("Active hours saved"), True
        if kind == "tz" and choice in kb.TIMEZONES:
            await save_preferences(services, session, {"timezone": choice}, source=source)
            return _("Timezone {tz}").format(tz=choice), True
        return None
    if step == Step.RISK:
        if value not in {r.value for r in RiskTolerance}:
            return None
        risk = RiskTolerance(value)
        await save_preferences(services, session, {"risk_tolerance": risk}, source=source)
        return _("Risk tolerance {risk}").format(risk=risk_label(risk)), True
    if step == Step.EXCHANGES:
        try:
            add, member = parse_toggle(value, offered_exchanges(services.settings))
        except ValueError:
            return None
        await save_member(services, session, "exchanges", member, add, source=source)
        return _("Saved"), True
    return None  # welcome and tier have only Next and Skip
