"""Onboarding: a short guided setup in one message that each step edits.

welcome → tier (what it gives, how to upgrade) → opportunity types → active hours and timezone
→ risk tolerance → exchanges and API-key guidance → done (summary). Every answer is saved at
once; "Skip" on any step leaves the rest for /settings, whose "Finish onboarding" resumes here.

Each step shown, answered, skipped or completed is an ``onboarding.step`` event, so the funnel
(started, each step, completed, abandoned) can be counted. The step lives in the chat's FSM state
(Redis); a button of any other step or message is stale and answered with an alert.
"""

from __future__ import annotations

from html import escape
from typing import Final

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.handlers.preferences.parsing import parse_toggle
from bot.handlers.preferences.render import offered_exchanges, summary
from bot.handlers.preferences.replies import edit_or_send
from bot.handlers.preferences.saving import save_member, save_preferences, save_type
from bot.handlers.preferences.texts import API_KEY_GUIDANCE, LAST_TYPE, RISK_HELP
from bot.handlers.refusals import FORGED, refuse
from bot.handlers.refusals import STALE as STALE_REASON
from core.events import EventName, Scalar
from core.models import (
    OnboardingState,
    OpportunityType,
    RiskTolerance,
    Tier,
    UserProfile,
    UserSession,
)
from core.services import Services
from messaging.ui import keyboards as kb
from messaging.ui import templates
from messaging.ui.callbacks import OnboardingCB, SettingsCB
from messaging.ui.keyboards import Act, Step

router: Final = Router(name=__name__)

STALE: Final = (
    "This onboarding step is no longer current. Send /settings to change your preferences."
)
SKIPPED_TEXT: Final = (
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
COUNTED: Final = len(kb.ONBOARDING_STEPS) - 1  # the welcome is not a numbered step


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


def _unlocking_tier(services: Services, kind: OpportunityType) -> Tier | None:
    """The cheapest plan that delivers this type of opportunity."""
    for tier in Tier:  # cheapest first
        if (
            tier is not Tier.SUPERADMIN
            and kind in services.settings.tier_limits(tier).opportunity_types
        ):
            return tier
    return None


def _heading(step: str, title: str) -> str:
    number = kb.ONBOARDING_STEPS.index(step)
    return f"<b>Step {number} of {COUNTED} · {title}</b>"


def render_step(
    step: str, profile: UserProfile, services: Services
) -> tuple[str, InlineKeyboardMarkup]:
    """The text and keyboard of one onboarding step for this profile."""
    settings = services.settings
    p = profile.preferences
    limits = settings.tier_limits(profile.tier)
    if step == Step.WELCOME:
        who = escape(profile.first_name) if profile.first_name else "trader"
        return (
            f"👋 <b>Let's set you up, {who}.</b>\n"
            "arbcast alerts you to crypto arbitrage opportunities as they appear. In five short "
            "steps you choose what to get and when: your plan, opportunity types, active hours, "
            "risk and exchanges. Each answer is saved at once, and /settings changes anything "
            "later.",
            kb.onboarding_welcome(),
        )
    if step == Step.TIER:
        return (
            f"{_heading(step, 'Your plan')}\n"
            f"Now: {templates.tier_line(profile.tier, limits)}.\n\n"
            f"{templates.tiers(settings.tiers, profile.tier)}\n"
            "To upgrade, open /subscription and press Buy: you pay in Telegram Stars.",
            kb.onboarding_tier(),
        )
    if step == Step.TYPES:
        locked = [
            f"{t.label} from {tier.label}"
            for t in OpportunityType
            if t not in limits.opportunity_types and (tier := _unlocking_tier(services, t))
        ]
        note = (
            f"\n🔒 = not in your {profile.tier.label} plan ({', '.join(locked)}); keep it "
            "selected and it starts when you upgrade."
            if locked
            else ""
        )
        return (
            f"{_heading(step, 'Opportunity types')}\n"
            "Tap to choose which opportunities you want alerts for:\n"
            "• Cross-exchange: buy on one exchange, sell on another\n"
            "• Funding rate: perpetual funding differences\n"
            f"• Technical: signal-based setups{note}",
            kb.onboarding_types(p.opportunity_types, limits.opportunity_types),
        )
    if step == Step.SCHEDULE:
        return (
            f"{_heading(step, 'When')}\n"
            f"Alerts arrive only during your active hours, in your timezone. Now: "
            f"<b>{kb.hours_label(p.active_hours)}</b>, <b>{escape(p.timezone)}</b>.\n"
            "/settings also takes any timezone (e.g. America/Chicago) and any hours.",
            kb.onboarding_schedule(p.active_hours, p.timezone),
        )
    if step == Step.RISK:
        lines = "\n".join(f"• {r.value.capitalize()}: {RISK_HELP[r]}" for r in RiskTolerance)
        return (
            f"{_heading(step, 'Risk tolerance')}\nHow much risk suits you?\n{lines}",
            kb.onboarding_risk(p.risk_tolerance),
        )
    if step == Step.EXCHANGES:
        return (
            f"{_heading(step, 'Exchanges')}\n"
            "Select the exchanges you trade on; with none selected you get all of them.\n\n"
            f"{API_KEY_GUIDANCE}",
            kb.onboarding_exchanges(profile.exchanges, offered_exchanges(settings)),
        )
    raise ValueError(step)


def _done_text(profile: UserProfile, services: Services) -> str:
    return (
        "🎉 <b>You're all set!</b>\n"
        f"{summary(profile, services.settings, services.clock.now())}\n\n"
        "Send /opportunities for what's live now; /settings changes any of this."
    )


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
        await query.answer("Onboarding is already complete.", show_alert=True)
        return
    if not isinstance(query.message, Message):
        await refuse(query, services, session.session_id, STALE_REASON, STALE)
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
        await refuse(query, services, session.session_id, FORGED, STALE)
        return
    if (
        current != expected.state
        or not isinstance(query.message, Message)
        or data.get("ob_msg") != query.message.message_id
    ):
        await refuse(query, services, session.session_id, STALE_REASON, STALE)
        return
    uid, sid = session.user_id, session.session_id

    if value == "skip":
        await services.sessions.set_onboarding(uid, OnboardingState.SKIPPED)
        await state.clear()
        await edit_or_send(query, SKIPPED_TEXT, None)
        await query.answer("Skipped — /settings has everything")
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
        await refuse(query, services, sid, FORGED, templates.UNKNOWN_BUTTON)
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
    await edit_or_send(query, _done_text(profile, services), kb.onboarding_done())
    await query.answer("Onboarding complete 🎉")
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
        return ("Saved", True) if saved else (LAST_TYPE, False)
    if step == Step.SCHEDULE:
        kind, _, choice = value.partition("=")
        if kind == "h" and choice in {kb.hours_value(h) for h in kb.HOURS}:
            start, _, end = choice.partition("-")
            hours = (int(start), int(end))
            await save_preferences(services, session, {"active_hours": hours}, source=source)
            return "Active hours saved", True
        if kind == "tz" and choice in kb.TIMEZONES:
            await save_preferences(services, session, {"timezone": choice}, source=source)
            return f"Timezone {choice}", True
        return None
    if step == Step.RISK:
        if value not in {r.value for r in RiskTolerance}:
            return None
        risk = RiskTolerance(value)
        await save_preferences(services, session, {"risk_tolerance": risk}, source=source)
        return f"Risk tolerance {value}", True
    if step == Step.EXCHANGES:
        try:
            add, member = parse_toggle(value, offered_exchanges(services.settings))
        except ValueError:
            return None
        await save_member(services, session, "exchanges", member, add, source=source)
        return "Saved", True
    return None  # welcome and tier have only Next and Skip
