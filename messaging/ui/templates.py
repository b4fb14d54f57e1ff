"""Message texts, in Telegram HTML. Pure functions of domain objects; every value is escaped."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from html import escape
from typing import Any

from core.models import (
    OnboardingState,
    Opportunity,
    SessionState,
    Tier,
    UserProfile,
    UserSession,
)
from core.settings import TierLimits
from messaging.ui.card import card, zone
from messaging.ui.commands import CommandSpec

NEED_START = (
    "👋 Please send /start first: it opens your session. Only /start and /help work without one."
)
EXPIRED = (
    "⌛ Your session expired after {days} days of inactivity. Send /start to resume — "
    "your settings are kept."
)
TERMINATED = "👋 You logged out. Send /start to begin a new session."
ADMIN_ONLY = "⛔ This command is for administrators only. The attempt was recorded."
UNKNOWN_COMMAND = "🤔 I don't know /{name}. Send /help for the commands you can use."
UNKNOWN_BUTTON = "This button is no longer valid. Send /help to start over."
STRAY_TEXT = "I answer commands. Send /help to see them, or /opportunities for what's live."
TRY_AGAIN = "⚠️ Something went wrong on our side and was recorded. Please try again."
UNAVAILABLE = "⚠️ arbcast is briefly unavailable. Please try again in a minute."


PRIVATE_BUTTON = "🔒 My buttons work only in a private chat with me."
OPPORTUNITY_GONE = "This opportunity has closed or expired."


def not_in_plan(tier: Tier) -> str:
    """The alert for a button on an opportunity the user's plan does not include (plain text)."""
    return f"🔒 This opportunity is not in your {tier.label} plan. /subscription shows each plan."


def private_chat_link(bot_username: str | None) -> str | None:
    """The t.me deep link that opens a private chat with the bot and offers Start."""
    return f"https://t.me/{bot_username}?start=group" if bot_username else None


def private_pointer(command: str | None, bot_username: str | None) -> str:
    """The answer to a personal command in a group: where to ask instead, never the data."""
    link = private_chat_link(bot_username)
    where = (
        f'<a href="{escape(link)}">open a private chat with me</a>'
        if link
        else "open a private chat with me (tap my name, then Start)"
    )
    if command is None:
        return f"🔒 I work only in a private chat, where your data stays yours: {where}."
    if command == "start":
        return f"👋 Your session and alerts live in a private chat: {where}."
    return f"🔒 /{escape(command[:32])} is personal, so I answer it only in private: {where}."


def when(ts: float, tz: str = "UTC") -> str:
    return datetime.fromtimestamp(ts, tz=zone(tz)).strftime("%Y-%m-%d %H:%M %Z")


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    ]
    return " ".join(p for p in parts if p) or f"{seconds}s"


def refusal(session: UserSession | None, ttl_seconds: float) -> str:
    if session is None:
        return NEED_START
    if session.state is SessionState.TERMINATED:
        return TERMINATED
    return EXPIRED.format(days=round(ttl_seconds / 86_400))


def welcome(name: str, *, resumed: bool, previous: SessionState | None, ttl_seconds: float) -> str:
    who = escape(name) if name else "trader"
    days = round(ttl_seconds / 86_400)
    if resumed:
        return f"👋 Welcome back, <b>{who}</b>. Your session is active for {days} more days."
    lead = {
        SessionState.EXPIRED: "Your previous session had expired; this is a new one.",
        SessionState.TERMINATED: "You had logged out; this is a new session.",
        None: "Your session has started.",
    }[previous]
    return (
        f"🚀 Welcome to <b>arbcast</b>, {who}!\n{lead}\n"
        f"It stays active while you use the bot and ends after {days} days without activity."
    )


def help_text(commands: Iterable[CommandSpec], *, has_session: bool) -> str:
    lines = ["<b>Commands</b>"]
    lines += [f"/{c.name} — {escape(c.description)}" for c in commands]
    if not has_session:
        lines.append("\nSend /start to open a session and unlock the rest.")
    return "\n".join(lines)


def status(session: UserSession, profile: UserProfile, now: float) -> str:
    tz = profile.preferences.timezone
    onboarding = {
        OnboardingState.PENDING: "not started",
        OnboardingState.IN_PROGRESS: "in progress",
        OnboardingState.SKIPPED: "skipped (finish any time with /settings)",
        OnboardingState.COMPLETED: "completed",
    }[session.onboarding]
    return (
        "<b>Your session</b>\n"
        f"State: {session.state.value}\n"
        f"Started: {when(session.created_at, tz)}\n"
        f"Expires: {when(session.expires_at, tz)} (in {duration(session.expires_at - now)})\n"
        f"Tier: {profile.tier.label}\n"
        f"Onboarding: {onboarding}\n"
        f"Commands used: {session.commands_used} · opportunities received: "
        f"{session.opportunities_received}"
    )


def _cap(n: int) -> str:
    return "unlimited" if n == 0 else str(n)


def tier_line(tier: Tier, limits: TierLimits) -> str:
    types = ", ".join(sorted(t.label for t in limits.opportunity_types))
    price = (
        f"{limits.stars_per_month} ⭐ per 30 days"
        if limits.stars_per_month
        else "free"
        if limits.price_usd_month == 0
        else f"${limits.price_usd_month:g}/month"
    )
    delay = (
        f"; each alert {duration(limits.delay_seconds)} after the paid plans, if still open"
        if limits.delay_seconds
        else ""
    )
    cooldown = duration(limits.push_cooldown_seconds) if limits.push_cooldown_seconds else "none"
    return (
        f"<b>{tier.label}</b> ({price}): {_cap(limits.daily_cap)}/day, "
        f"{_cap(limits.hourly_cap)}/hour, push cooldown {cooldown}; {types}{delay}"
    )


def tiers(table: Mapping[Tier, TierLimits], current: Tier) -> str:
    lines = ["<b>Subscription tiers</b>"]
    for tier, limits in table.items():
        if tier is Tier.SUPERADMIN and current is not Tier.SUPERADMIN:
            continue
        mark = " ← you" if tier is current else ""
        lines.append(tier_line(tier, limits) + mark)
    lines.append("\nPlans are paid in Telegram Stars, renew every 30 days and can be cancelled.")
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
        return (
            "🔎 No live opportunities match your tier and preferences right now. "
            "New ones are detected continuously; try again shortly."
        )
    parts = [f"<b>Live opportunities</b> ({len(items)})"]
    parts += ["\n".join(card(o, profile, now)) for o in items]
    notes = []
    if free:
        notes.append(f"{free} seen in the last {free_minutes:g} min: free.")
    if left != (None, None):
        notes.append(f"Left today: {_left(left[0])} · this hour: {_left(left[1])}")
    if notes:
        parts.append("<i>" + "\n".join(notes) + "</i>")
    return "\n\n".join(parts)


def withheld_note(withheld: tuple[int, float] | None, tz: str) -> str:
    """What the caps left out of an /opportunities reply, and when more is allowed."""
    if withheld is None:
        return ""
    n, resets_at = withheld
    verb = "needs" if n == 1 else "need"
    return f"\n<i>{n} more {verb} quota: it resets at {when(resets_at, tz)}.</i>"


def _left(n: int | None) -> str:
    return "unlimited" if n is None else str(n)


def quota_exhausted(tier: Tier, resets_at: float, tz: str) -> str:
    return (
        f"📊 You have used your {tier.label} allowance of opportunities for now. "
        f"It resets at {when(resets_at, tz)}. See /subscription for higher limits."
    )


LEVEL_NAMES = {1: "Market", 2: "Technical", 3: "User", 4: "Scoring"}


def validation_record(records: list[dict[str, Any]], *, max_figures: int = 4) -> str:
    """The validation pipeline's decisions for one opportunity, latest per level."""
    if not records:
        return "<i>No validation record is kept for this opportunity any more.</i>"
    latest: dict[int, dict[str, Any]] = {}
    for r in records:
        latest[int(r["level"])] = r
    lines = ["<b>Validation</b>"]
    for level in sorted(latest):
        r = latest[level]
        mark = "✅" if r["passed"] else "❌"
        figures = ", ".join(
            f"{escape(str(k))} {float(v):.4g}"
            for k, v in list(r.get("figures", {}).items())[:max_figures]
        )
        lines.append(
            f"{mark} L{level} {LEVEL_NAMES.get(level, '?')}: {escape(str(r['reason']))}"
            + (f" ({figures})" if figures else "")
        )
    return "\n".join(lines)


def session_reminder(expires_at: float, now: float, tz: str) -> str:
    """Sent once, about a day before a session expires: alerts stop with the session."""
    return (
        f"⏳ Your session ends in {duration(expires_at - now)} ({when(expires_at, tz)}), and "
        "with it your alerts. Press the button, or send me anything, to keep it for another "
        "week."
    )


def session_kept(expires_at: float, tz: str) -> str:
    return f"✅ Session kept: alerts continue until at least {when(expires_at, tz)}."
