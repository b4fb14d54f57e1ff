"""What each onboarding step says and offers: its text and keyboard, for a profile.

The steps' order and the handlers that move between them are in `bot.handlers.onboarding`.
"""

from __future__ import annotations

from html import escape

from aiogram.types import InlineKeyboardMarkup

from bot.handlers.preferences.render import offered_exchanges, summary
from bot.handlers.preferences.texts import API_KEY_GUIDANCE, RISK_HELP
from core.models import OpportunityType, RiskTolerance, Tier, UserProfile
from core.services import Services
from messaging.i18n import _
from messaging.ui import keyboards as kb
from messaging.ui import templates
from messaging.ui.keyboards import Step
from messaging.ui.labels import risk_label, type_label

COUNTED = len(kb.ONBOARDING_STEPS) - 1  # the welcome is not a numbered step


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
    return (
        "<b>"
        + _("Step {n} of {total} · {title}").format(n=number, total=COUNTED, title=title)
        + "</b>"
    )


def render_step(
    step: str, profile: UserProfile, services: Services
) -> tuple[str, InlineKeyboardMarkup]:
    """The text and keyboard of one onboarding step for this profile."""
    settings = services.settings
    p = profile.preferences
    limits = settings.tier_limits(profile.tier)
    if step == Step.WELCOME:
        who = escape(profile.first_name) if profile.first_name else _("trader")
        return (
            _(
                "👋 <b>Let's set you up, {who}.</b>\n"
                "arbcast alerts you to crypto arbitrage opportunities as they appear. In five "
                "short steps you choose what to get and when: your plan, opportunity types, "
                "active hours, risk and exchanges. Each answer is saved at once, and /settings "
                "changes anything later."
            ).format(who=who),
            kb.onboarding_welcome(),
        )
    if step == Step.TIER:
        return (
            _heading(step, _("Your plan"))
            + "\n"
            + _("Now: {plan}.").format(plan=templates.tier_line(profile.tier, limits))
            + "\n\n"
            + templates.tiers(settings.tiers, profile.tier)
            + "\n"
            + _("To upgrade, open /subscription and press Buy: you pay in Telegram Stars."),
            kb.onboarding_tier(),
        )
    if step == Step.TYPES:
        locked = [
            _("{type} from {plan}").format(type=type_label(t), plan=tier.label)
            for t in OpportunityType
            if t not in limits.opportunity_types and (tier := _unlocking_tier(services, t))
        ]
        note = (
            "\n"
            + _(
                "🔒 = not in your {plan} plan ({locked}); keep it selected and it starts when "
                "you upgrade."
            ).format(plan=profile.tier.label, locked=", ".join(locked))
            if locked
            else ""
        )
        return (
            _heading(step, _("Opportunity types"))
            + "\n"
            + _(
                "Tap to choose which opportunities you want alerts for:\n"
                "• Cross-exchange: buy on one exchange, sell on another\n"
                "• Funding rate: perpetual funding differences\n"
                "• Technical: signal-based setups"
            )
            + note,
            kb.onboarding_types(p.opportunity_types, limits.opportunity_types),
        )
    if step == Step.SCHEDULE:
        return (
            _heading(step, _("When"))
            + "\n"
            + _(
                "Alerts arrive only during your active hours, in your timezone. Now: "
                "<b>{hours}</b>, <b>{tz}</b>.\n"
                "/settings also takes any timezone (e.g. America/Chicago) and any hours."
            ).format(hours=kb.hours_label(p.active_hours), tz=escape(p.timezone)),
            kb.onboarding_schedule(p.active_hours, p.timezone),
        )
    if step == Step.RISK:
        lines = "\n".join(
            f"• {risk_label(r).capitalize()}: {_(RISK_HELP[r])}" for r in RiskTolerance
        )
        return (
            _heading(step, _("Risk tolerance"))
            + "\n"
            + _("How much risk suits you?")
            + "\n"
            + lines,
            kb.onboarding_risk(p.risk_tolerance),
        )
    if step == Step.EXCHANGES:
        return (
            _heading(step, _("Exchanges"))
            + "\n"
            + _("Select the exchanges you trade on; with none selected you get all of them.")
            + "\n\n"
            + _(API_KEY_GUIDANCE),
            kb.onboarding_exchanges(profile.exchanges, offered_exchanges(settings)),
        )
    raise ValueError(step)


def done_text(profile: UserProfile, services: Services) -> str:
    return _(
        "🎉 <b>You're all set!</b>\n{summary}\n\n"
        "Send /opportunities for what's live now; /settings changes any of this."
    ).format(summary=summary(profile, services.settings, services.clock.now()))
