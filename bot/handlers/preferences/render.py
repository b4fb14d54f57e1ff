"""The text and keyboard of each settings page, and the one-line-per-preference summary."""

from __future__ import annotations

from html import escape

from aiogram.types import InlineKeyboardMarkup

from bot.handlers.preferences.texts import API_KEY_GUIDANCE, RISK_HELP
from core.distribution.timezone_names import timezone_label
from core.market.catalogue import MarketCatalogue
from core.models import OnboardingState, OpportunityType, RiskTolerance, UserProfile
from core.settings import Settings
from messaging.ui import keyboards as kb
from messaging.ui import templates
from messaging.ui.keyboards import Page


def _names(items: frozenset[str], labels: dict[str, str] | None = None) -> str:
    return ", ".join(escape((labels or {}).get(i, i)) for i in sorted(items))


def hours_text(hours: tuple[int, int]) -> str:
    label = kb.hours_label(hours)
    return label + (" (overnight)" if hours[0] > hours[1] else "")


def summary(profile: UserProfile, settings: Settings, now: float) -> str:
    """Every preference of the profile, one line each (Telegram HTML)."""
    p = profile.preferences
    allowed = settings.tier_limits(profile.tier).opportunity_types
    types = ", ".join(t.label for t in OpportunityType if t in p.opportunity_types) or "none"
    locked = [t.label for t in OpportunityType if t in p.opportunity_types and t not in allowed]
    if locked:
        types += f" ({', '.join(locked)} not in your {profile.tier.label} plan: /subscription)"
    dnd = (
        f"on until {templates.when(p.dnd_until, p.timezone)}"
        if p.dnd_until is not None and p.in_dnd(now)
        else "off"
    )
    return "\n".join(
        [
            f"Push alerts: {'on' if p.push_enabled else 'off'}",
            f"Opportunity types: {types}",
            f"Muted pairs: {_names(p.muted_pairs) or 'none'}",
            f"Watchlist: {_watch_text(p.watchlist, p.watch_only)}",
            f"Minimum profit: {p.min_profit_pct:g}%",
            f"Timezone: {escape(timezone_label(p.timezone))}",
            f"Active hours: {hours_text(p.active_hours)}",
            f"Do Not Disturb: {dnd}",
            f"High-priority alerts through DND: {'on' if p.high_priority_pierces_dnd else 'off'}",
            f"Risk tolerance: {p.risk_tolerance.value}",
            f"Exchanges: {_names(profile.exchanges, kb.EXCHANGES) or 'all'}",
        ]
    )


def _watch_text(pairs: frozenset[str], only: bool) -> str:
    listed = _names(pairs) or "no pairs"
    return f"only {listed}" if only else f"off ({listed})"


def offered_exchanges(settings: Settings) -> tuple[str, ...]:
    return MarketCatalogue.of(settings).exchanges


def profit_range(settings: Settings) -> str:
    o = settings.opportunities
    return f"{o.min_profit_floor_pct:g}% to {o.min_profit_ceiling_pct:g}%"


def render(
    page: str, profile: UserProfile, settings: Settings, now: float
) -> tuple[str, InlineKeyboardMarkup]:
    """The text and keyboard of one settings page."""
    p = profile.preferences
    allowed = settings.tier_limits(profile.tier).opportunity_types
    if page == Page.TYPES:
        return (
            "<b>📊 Opportunity types</b>\nTap a type to turn its alerts on or off. "
            f"🔒 = not in your {profile.tier.label} plan yet (see /subscription).",
            kb.settings_types(p.opportunity_types, allowed),
        )
    if page == Page.MUTED:
        listed = _names(p.muted_pairs) or "none"
        return (
            f"<b>🔇 Muted pairs</b>: {listed}\nMuted pairs never alert you. "
            "Tap a pair to unmute it, or mute another.",
            kb.settings_muted(p.muted_pairs),
        )
    if page == Page.PROFIT:
        return (
            f"<b>💰 Minimum profit</b>: {p.min_profit_pct:g}%\n"
            "Only opportunities with at least this expected profit reach you. Pick one, or type "
            f"any value from {profit_range(settings)}.",
            kb.settings_profit(p.min_profit_pct),
        )
    if page == Page.WATCH:
        mode = "only these pairs" if p.watch_only else "everything except muted pairs"
        return (
            f"<b>👀 Watchlist</b>: {_names(p.watchlist) or 'empty'}\nYou get: {mode}. "
            "Choose “Only these pairs” to get alerts for your watchlist alone.",
            kb.settings_watch(p.watchlist, p.watch_only),
        )
    if page == Page.TZ:
        return (
            f"<b>🌍 Timezone</b>: {escape(timezone_label(p.timezone))}\n"
            "It sets your active hours and every time I show you.",
            kb.settings_timezone(p.timezone),
        )
    if page == Page.HOURS:
        return (
            f"<b>🕗 Active hours</b>: {hours_text(p.active_hours)} "
            f"({escape(timezone_label(p.timezone))})\nAlerts arrive only between these hours.",
            kb.settings_hours(p.active_hours),
        )
    if page == Page.DND:
        active = p.dnd_until is not None and p.in_dnd(now)
        state = (
            f"on until {templates.when(p.dnd_until, p.timezone)}"
            if p.dnd_until is not None and active
            else "off"
        )
        return (
            f"<b>🌙 Do Not Disturb</b>: {state}\nIt pauses alerts until it ends "
            "(also /dnd 2h, /dnd off). High-priority alerts can come through if you opt in.",
            kb.settings_dnd(active, p.high_priority_pierces_dnd),
        )
    if page == Page.RISK:
        lines = "\n".join(f"• {r.value.capitalize()}: {RISK_HELP[r]}" for r in RiskTolerance)
        return (
            f"<b>⚖️ Risk tolerance</b>: {p.risk_tolerance.value}\n{lines}",
            kb.settings_risk(p.risk_tolerance),
        )
    if page == Page.EXCHANGES:
        return (
            f"<b>🏦 Exchanges you trade on</b>: {_names(profile.exchanges, kb.EXCHANGES) or 'all'}"
            "\nYou get opportunities on these exchanges only; none selected means all."
            f"\n\n{API_KEY_GUIDANCE}",
            kb.settings_exchanges(profile.exchanges, offered_exchanges(settings)),
        )
    onboarding = (
        ""
        if profile.onboarding is OnboardingState.COMPLETED
        else "\n\nOnboarding isn't finished: tap “Finish onboarding” to complete it."
    )
    return (
        f"<b>⚙️ Your settings</b>\n{summary(profile, settings, now)}\n\n"
        f"Tap a button to change a setting.{onboarding}",
        kb.settings_main(profile, now, exchanges_offered=len(offered_exchanges(settings))),
    )
