"""The text and keyboard of each settings page, and the one-line-per-preference summary."""

from __future__ import annotations

from html import escape

from aiogram.types import InlineKeyboardMarkup

from bot.handlers.preferences.texts import API_KEY_GUIDANCE, RISK_HELP
from core.distribution.timezone_names import timezone_label
from core.market.catalogue import MarketCatalogue
from core.models import OnboardingState, OpportunityType, RiskTolerance, UserProfile
from core.settings import Settings
from messaging.i18n import LANGUAGE_NAMES, _, normalize
from messaging.ui import keyboards as kb
from messaging.ui import templates
from messaging.ui.keyboards import Page
from messaging.ui.labels import risk_label, type_label


def _names(items: frozenset[str], labels: dict[str, str] | None = None) -> str:
    return ", ".join(escape((labels or {}).get(i, i)) for i in sorted(items))


def hours_text(hours: tuple[int, int]) -> str:
    label = kb.hours_label(hours)
    return label + (_(" (overnight)") if hours[0] > hours[1] else "")


def summary(profile: UserProfile, settings: Settings, now: float) -> str:
    """Every preference of the profile, one line each (Telegram HTML)."""
    p = profile.preferences
    allowed = settings.tier_limits(profile.tier).opportunity_types
    types = ", ".join(type_label(t) for t in OpportunityType if t in p.opportunity_types) or _(
        "none"
    )
    locked = [
        type_label(t) for t in OpportunityType if t in p.opportunity_types and t not in allowed
    ]
    if locked:
        types += " " + _("({types} not in your {plan} plan: /subscription)").format(
            types=", ".join(locked), plan=profile.tier.label
        )
    dnd = (
        _("on until {until}").format(until=templates.when(p.dnd_until, p.timezone))
        if p.dnd_until is not None and p.in_dnd(now)
        else _("off")
    )
    return "\n".join(
        [
            _("Push alerts: {state}").format(state=_on(p.push_enabled)),
            _("Opportunity types: {types}").format(types=types),
            _("Muted pairs: {pairs}").format(pairs=_names(p.muted_pairs) or _("none")),
            _("Watchlist: {watch}").format(watch=_watch_text(p.watchlist, p.watch_only)),
            _("Minimum profit: {pct}%").format(pct=f"{p.min_profit_pct:g}"),
            _("Timezone: {tz}").format(tz=escape(timezone_label(p.timezone))),
            _("Active hours: {hours}").format(hours=hours_text(p.active_hours)),
            _("Do Not Disturb: {state}").format(state=dnd),
            _("High-priority alerts through DND: {state}").format(
                state=_on(p.high_priority_pierces_dnd)
            ),
            _("Risk tolerance: {risk}").format(risk=risk_label(p.risk_tolerance)),
            _("Exchanges: {names}").format(
                names=_names(profile.exchanges, kb.EXCHANGES) or _("all")
            ),
            _("Language: {name}").format(name=LANGUAGE_NAMES[normalize(profile.language)]),
        ]
    )


def _on(on: bool) -> str:
    return _("on") if on else _("off")


def _watch_text(pairs: frozenset[str], only: bool) -> str:
    listed = _names(pairs) or _("no pairs")
    return (
        _("only {pairs}").format(pairs=listed) if only else _("off ({pairs})").format(pairs=listed)
    )


def offered_exchanges(settings: Settings) -> tuple[str, ...]:
    return MarketCatalogue.of(settings).exchanges


def profit_range(settings: Settings) -> str:
    o = settings.opportunities
    return _("{low}% to {high}%").format(
        low=f"{o.min_profit_floor_pct:g}", high=f"{o.min_profit_ceiling_pct:g}"
    )


def render(
    page: str, profile: UserProfile, settings: Settings, now: float
) -> tuple[str, InlineKeyboardMarkup]:
    """The text and keyboard of one settings page."""
    p = profile.preferences
    allowed = settings.tier_limits(profile.tier).opportunity_types
    if page == Page.TYPES:
        return (
            _(
                "<b>📊 Opportunity types</b>\nTap a type to turn its alerts on or off. "
                "🔒 = not in your {plan} plan yet (see /subscription)."
            ).format(plan=profile.tier.label),
            kb.settings_types(p.opportunity_types, allowed),
        )
    if page == Page.MUTED:
        listed = _names(p.muted_pairs) or _("none")
        return (
            _(
                "<b>🔇 Muted pairs</b>: {pairs}\nMuted pairs never alert you. "
                "Tap a pair to unmute it, or mute another."
            ).format(pairs=listed),
            kb.settings_muted(p.muted_pairs),
        )
    if page == Page.PROFIT:
        return (
            _(
                "<b>💰 Minimum profit</b>: {pct}%\n"
                "Only opportunities with at least this expected profit reach you. Pick one, or "
                "type any value from {range}."
            ).format(pct=f"{p.min_profit_pct:g}", range=profit_range(settings)),
            kb.settings_profit(p.min_profit_pct),
        )
    if page == Page.WATCH:
        mode = _("only these pairs") if p.watch_only else _("everything except muted pairs")
        return (
            _(
                "<b>👀 Watchlist</b>: {pairs}\nYou get: {mode}. "
                "Choose “Only these pairs” to get alerts for your watchlist alone."
            ).format(pairs=_names(p.watchlist) or _("empty"), mode=mode),
            kb.settings_watch(p.watchlist, p.watch_only),
        )
    if page == Page.TZ:
        return (
            _(
                "<b>🌍 Timezone</b>: {tz}\nIt sets your active hours and every time I show you."
            ).format(tz=escape(timezone_label(p.timezone))),
            kb.settings_timezone(p.timezone),
        )
    if page == Page.HOURS:
        return (
            _(
                "<b>🕗 Active hours</b>: {hours} ({tz})\nAlerts arrive only between these hours."
            ).format(hours=hours_text(p.active_hours), tz=escape(timezone_label(p.timezone))),
            kb.settings_hours(p.active_hours),
        )
    if page == Page.DND:
        active = p.dnd_until is not None and p.in_dnd(now)
        state = (
            _("on until {until}").format(until=templates.when(p.dnd_until, p.timezone))
            if p.dnd_until is not None and active
            else _("off")
        )
        return (
            _(
                "<b>🌙 Do Not Disturb</b>: {state}\nIt pauses alerts until it ends "
                "(also /dnd 2h, /dnd off). High-priority alerts can come through if you opt in."
            ).format(state=state),
            kb.settings_dnd(active, p.high_priority_pierces_dnd),
        )
    if page == Page.RISK:
        lines = "\n".join(
            f"• {risk_label(r).capitalize()}: {_(RISK_HELP[r])}" for r in RiskTolerance
        )
        return (
            _("<b>⚖️ Risk tolerance</b>: {risk}").format(risk=risk_label(p.risk_tolerance))
            + f"\n{lines}",
            kb.settings_risk(p.risk_tolerance),
        )
    if page == Page.EXCHANGES:
        return (
            _(
                "<b>🏦 Exchanges you trade on</b>: {names}"
                "\nYou get opportunities on these exchanges only; none selected means all."
            ).format(names=_names(profile.exchanges, kb.EXCHANGES) or _("all"))
            + f"\n\n{_(API_KEY_GUIDANCE)}",
            kb.settings_exchanges(profile.exchanges, offered_exchanges(settings)),
        )
    if page == Page.LANGUAGE:
        return (
            _("<b>🌐 Language</b>: {name}\nEvery message, button and alert uses it.").format(
                name=LANGUAGE_NAMES[normalize(profile.language)]
            ),
            kb.settings_language(profile.language),
        )
    onboarding = (
        ""
        if profile.onboarding is OnboardingState.COMPLETED
        else "\n\n" + _("Onboarding isn't finished: tap “Finish onboarding” to complete it.")
    )
    return (
        _("<b>⚙️ Your settings</b>\n{summary}\n\nTap a button to change a setting.").format(
            summary=summary(profile, settings, now)
        )
        + onboarding,
        kb.settings_main(profile, now, exchanges_offered=len(offered_exchanges(settings))),
    )
