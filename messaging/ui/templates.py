"""Message texts, in Telegram HTML. Pure functions of domain objects; every value is escaped."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from html import escape
from typing import Any

from core.models import (
    Opportunity,
    SessionState,
    Tier,
    UserProfile,
    UserSession,
)
from core.settings import TierLimits
from messaging.i18n import N_, _, ngettext, use_locale
from messaging.ui.card import card, zone
from messaging.ui.commands import CommandSpec, description
from messaging.ui.labels import onboarding_label, state_label, type_label

# Constants stay English (tests compare with them); send them through _() (see messaging.i18n).
NEED_START = N_(
    "👋 Please send /start first: it opens your session. Only /start and /help work without one."
)
EXPIRED = N_(
    "⌛ Your session expired after {days} days of inactivity. Send /start to resume — "
    "your settings are kept."
)
TERMINATED = N_("👋 You logged out. Send /start to begin a new session.")
ADMIN_ONLY = N_("⛔ This command is for administrators only. The attempt was recorded.")
UNKNOWN_COMMAND = N_("🤔 I don't know /{name}. Send /help for the commands you can use.")
UNKNOWN_BUTTON = N_("This button is no longer valid. Send /help to start over.")
STRAY_TEXT = N_("I answer commands. Send /help to see them, or /opportunities for what's live.")
TRY_AGAIN = N_("⚠️ Something went wrong on our side and was recorded. Please try again.")
UNAVAILABLE = N_("⚠️ arbcast is briefly unavailable. Please try again in a minute.")


PRIVATE_BUTTON = N_("🔒 My buttons work only in a private chat with me.")
OPPORTUNITY_GONE = N_("This opportunity has closed or expired.")


def not_in_plan(tier: Tier) -> str:
    """The alert for a button on an opportunity the user's plan does not include (plain text)."""
    return _(
        "🔒 This opportunity is not in your {plan} plan. /subscription shows each plan."
    ).format(plan=tier.label)


def private_chat_link(bot_username: str | None) -> str | None:
    """The t.me deep link that opens a private chat with the bot and offers Start."""
    return f"https://t.me/{bot_username}?start=group" if bot_username else None


def private_pointer(command: str | None, bot_username: str | None) -> str:
    """The answer to a personal command in a group: where to ask instead, never the data."""
    link = private_chat_link(bot_username)
    here = _("open a private chat with me")  # not inside the f-string: gettext must find it
    where = (
        f'<a href="{escape(link)}">{here}</a>'
        if link
        else _("open a private chat with me (tap my name, then Start)")
    )
    if command is None:
        return _("🔒 I work only in a private chat, where your data stays yours: {where}.").format(
            where=where
        )
    if command == "start":
        return _("👋 Your session and alerts live in a private chat: {where}.").format(where=where)
    return _("🔒 /{command} is personal, so I answer it only in private: {where}.").format(
        command=escape(command[:32]), where=where
    )


def when(ts: float, tz: str = "UTC") -> str:
    return datetime.fromtimestamp(ts, tz=zone(tz)).strftime("%Y-%m-%d %H:%M %Z")


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    parts = [
        _("{n}d").format(n=days) if days else "",
        _("{n}h").format(n=hours) if hours else "",
        _("{n}m").format(n=minutes) if minutes else "",
    ]
    return " ".join(p for p in parts if p) or _("{n}s").format(n=seconds)


def refusal(session: UserSession | None, ttl_seconds: float) -> str:
    if session is None:
        return _(NEED_START)
    if session.state is SessionState.TERMINATED:
        return _(TERMINATED)
    return _(EXPIRED).format(days=round(ttl_seconds / 86_400))


def welcome(name: str, *, resumed: bool, previous: SessionState | None, ttl_seconds: float) -> str:
    who = escape(name) if name else _("trader")
    days = round(ttl_seconds / 86_400)
    if resumed:
        return _(
            "👋 Welcome back, <b>{who}</b>. Your session is active for {days} more days."
        ).format(who=who, days=days)
    lead = {
        SessionState.EXPIRED: _("Your previous session had expired; this is a new one."),
        SessionState.TERMINATED: _("You had logged out; this is a new session."),
        None: _("Your session has started."),
    }[previous]
    return _(
        "🚀 Welcome to <b>arbcast</b>, {who}!\n{lead}\n"
        "It stays active while you use the bot and ends after {days} days without activity."
    ).format(who=who, lead=lead, days=days)


def help_text(commands: Iterable[CommandSpec], *, has_session: bool) -> str:
    lines = [_("<b>Commands</b>")]
    lines += [f"/{c.name} — {escape(description(c))}" for c in commands]
    if not has_session:
        lines.append("\n" + _("Send /start to open a session and unlock the rest."))
    return "\n".join(lines)


def status(session: UserSession, profile: UserProfile, now: float) -> str:
    tz = profile.preferences.timezone
    return _(
        "<b>Your session</b>\n"
        "State: {state}\n"
        "Started: {started}\n"
        "Expires: {expires} (in {left})\n"
        "Tier: {tier}\n"
        "Onboarding: {onboarding}\n"
        "Commands used: {commands} · opportunities received: {received}"
    ).format(
        state=state_label(session.state),
        started=when(session.created_at, tz),
        expires=when(session.expires_at, tz),
        left=duration(session.expires_at - now),
        tier=profile.tier.label,
        onboarding=onboarding_label(session.onboarding),
        commands=session.commands_used,
        received=session.opportunities_received,
    )


def _cap(n: int) -> str:
    return _("unlimited") if n == 0 else str(n)


def tier_line(tier: Tier, limits: TierLimits) -> str:
    types = ", ".join(sorted(type_label(t) for t in limits.opportunity_types))
    price = (
        _("{stars} ⭐ per 30 days").format(stars=limits.stars_per_month)
        if limits.stars_per_month
        else _("free")
        if limits.price_usd_month == 0
        else _("${price}/month").format(price=f"{limits.price_usd_month:g}")
    )
    delay = (
        _("; each alert {delay} after the paid plans, if still open").format(
            delay=duration(limits.delay_seconds)
        )
        if limits.delay_seconds
        else ""
    )
    cooldown = duration(limits.push_cooldown_seconds) if limits.push_cooldown_seconds else _("none")
    return _(
        "<b>{tier}</b> ({price}): {daily}/day, {hourly}/hour, push cooldown {cooldown}; "
        "{types}{delay}"
    ).format(
        tier=tier.label,
        price=price,
        daily=_cap(limits.daily_cap),
        hourly=_cap(limits.hourly_cap),
        cooldown=cooldown,
        types=types,
        delay=delay,
    )


def tiers(table: Mapping[Tier, TierLimits], current: Tier) -> str:
    lines = [_("<b>Subscription tiers</b>")]
    for tier, limits in table.items():
        if tier is Tier.SUPERADMIN and current is not Tier.SUPERADMIN:
            continue
        mark = _(" ← you") if tier is current else ""
        lines.append(tier_line(tier, limits) + mark)
    lines.append(
        "\n" + _("Plans are paid in Telegram Stars, renew every 30 days and can be cancelled.")
    )
    return "\n".join(lines)


def opportunities(
    items: list[Opportunity],
    profile: UserProfile,
    now: float,
    *,
    left: tuple[int | None, int | None] = (None, None),
    free: int = 0,
    free_minutes: float = 0,
) -> str:
    """The /opportunities reply; `left` is what the daily and hourly caps still allow, `free`
    how many were shown again at no cost (seen within `free_minutes`)."""
    if not items:
        return _(
            "🔎 No live opportunities match your tier and preferences right now. "
            "New ones are detected continuously; try again shortly."
        )
    parts = [_("<b>Live opportunities</b> ({n})").format(n=len(items))]
    parts += ["\n".join(card(o, profile, now)) for o in items]
    notes = []
    if free:
        notes.append(
            _("{n} seen in the last {minutes} min: free.").format(
                n=free, minutes=f"{free_minutes:g}"
            )
        )
    if left != (None, None):
        notes.append(
            _("Left today: {today} · this hour: {hour}").format(
                today=_left(left[0]), hour=_left(left[1])
            )
        )
    if notes:
        parts.append("<i>" + "\n".join(notes) + "</i>")
    return "\n\n".join(parts)


def withheld_note(withheld: tuple[int, float] | None, tz: str) -> str:
    """What the caps left out of an /opportunities reply, and when more is allowed."""
    if withheld is None:
        return ""
    n, resets_at = withheld
    note = ngettext(
        "{n} more needs quota: it resets at {at}.", "{n} more need quota: it resets at {at}.", n
    ).format(n=n, at=when(resets_at, tz))
    return f"\n<i>{note}</i>"


def _left(n: int | None) -> str:
    return _("unlimited") if n is None else str(n)


def quota_exhausted(tier: Tier, resets_at: float, tz: str) -> str:
    return _(
        "📊 You have used your {tier} allowance of opportunities for now. "
        "It resets at {at}. See /subscription for higher limits."
    ).format(tier=tier.label, at=when(resets_at, tz))


LEVEL_NAMES = {1: N_("Market"), 2: N_("Technical"), 3: N_("User"), 4: N_("Scoring")}


def validation_record(records: list[dict[str, Any]], *, max_figures: int = 4) -> str:
    """The validation pipeline's decisions for one opportunity, latest per level."""
    if not records:
        return "<i>" + _("No validation record is kept for this opportunity any more.") + "</i>"
    latest: dict[int, dict[str, Any]] = {}
    for r in records:
        latest[int(r["level"])] = r
    lines = [_("<b>Validation</b>")]
    for level in sorted(latest):
        r = latest[level]
        mark = "✅" if r["passed"] else "❌"
        figures = ", ".join(
            f"{escape(str(k))} {float(v):.4g}"
            for k, v in list(r.get("figures", {}).items())[:max_figures]
        )
        lines.append(
            f"{mark} L{level} {_(LEVEL_NAMES[level]) if level in LEVEL_NAMES else '?'}: "
            f"{escape(str(r['reason']))}" + (f" ({figures})" if figures else "")
        )
    return "\n".join(lines)


def session_reminder(expires_at: float, now: float, tz: str, language: str | None = None) -> str:
    """Sent once, about a day before a session expires: alerts stop with the session. Sent off
    the bot (the reminder sweep), so in the `language` it is given."""
    with use_locale(language):
        return _(
            "⏳ Your session ends in {left} ({at}), and with it your alerts. Press the button, or "
            "send me anything, to keep it for another week."
        ).format(left=duration(expires_at - now), at=when(expires_at, tz))


def session_kept(expires_at: float, tz: str) -> str:
    return _("✅ Session kept: alerts continue until at least {at}.").format(
        at=when(expires_at, tz)
    )
