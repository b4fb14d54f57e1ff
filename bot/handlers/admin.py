"""SuperAdmin commands: /admin_stats and /settier. Everyone else is refused, and audited."""

from __future__ import annotations

from html import escape
from typing import Any, Final

from aiogram import Router
from aiogram.filters import Command, CommandObject, Filter
from aiogram.types import Message

from core.events import Event, EventName
from core.models import Tier, UserSession
from core.services import Services
from core.why import why
from messaging import templates

router: Final = Router(name=__name__)

SETTIER_USAGE: Final = "Usage: /settier &lt;user_id&gt; &lt;tier&gt;, tier one of: " + ", ".join(
    t.value for t in Tier
)


class IsSuperAdmin(Filter):
    async def __call__(self, message: Message, services: Services) -> bool:
        return (
            message.from_user is not None
            and message.from_user.id in services.settings.superadmin_ids
        )


def _audit(
    services: Services, session: UserSession, action: str, allowed: bool, **attrs: Any
) -> None:
    services.events.emit(
        Event(
            name=EventName.ADMIN_ACTION,
            ts=services.clock.now(),
            user_id=session.user_id,
            session_id=session.session_id,
            attrs={"action": action, "allowed": allowed, **attrs},
        )
    )


@router.message(Command("admin_stats"), IsSuperAdmin())
async def admin_stats(message: Message, services: Services, session: UserSession) -> None:
    now = services.clock.now()
    active = await services.sessions.store.count_active(now)
    today = await services.sessions.store.daily_stats(now)
    by_tier = await services.profiles.count_by_tier()
    started = today.get("started", 0)
    completed = today.get("onboarding_completed", 0)
    rate = f"{completed / started:.0%}" if started else "n/a"
    tiers = ", ".join(f"{t.label} {n}" for t, n in by_tier.items() if n)
    _audit(services, session, "admin_stats", True)
    await message.answer(
        "<b>arbcast today (UTC)</b>\n"
        f"Active sessions: {active}\n"
        f"Sessions started today: {started}\n"
        f"Sessions expired today: {today.get('expired', 0)}\n"
        f"Logouts today: {today.get('terminated', 0)}\n"
        f"Onboarding completed today: {completed} ({rate} of sessions started)\n"
        f"Users by tier: {tiers or 'none'}"
    )


@router.message(Command("settier"), IsSuperAdmin())
async def settier(
    message: Message, command: CommandObject, services: Services, session: UserSession
) -> None:
    args = (command.args or "").split()
    if len(args) != 2 or not args[0].isdigit() or args[1].lower() not in Tier.__members__.values():
        await message.answer(SETTIER_USAGE)
        return
    target, tier = int(args[0]), Tier(args[1].lower())
    await services.profiles.set_tier(target, tier)
    _audit(services, session, "settier", True, target=target, tier=tier.value)
    await message.answer(f"✅ User {target} is now on {tier.label}.")


LAYERS: Final = {
    1: "Session",
    2: "Subscription",
    3: "Preferences",
    4: "Rate limits",
    5: "Technical",
    6: "Context and compliance",
}


@router.message(Command("why"), IsSuperAdmin())
async def why_command(
    message: Message, command: CommandObject, services: Services, session: UserSession
) -> None:
    args = (command.args or "").split()
    if len(args) != 2 or not args[0].isdigit():
        await message.answer("Usage: /why &lt;user_id&gt; &lt;opportunity_id&gt;")
        return
    target, oid = int(args[0]), args[1]
    opp = await services.opportunities.get(oid)
    if opp is None:
        await message.answer(f"No opportunity {escape(oid)} is known (closed over an hour ago?).")
        return
    s = services.sessions.store
    verdict = await why(
        services.redis, s, services.quota, services.settings, target, opp, services.clock.now()
    )
    _audit(services, session, "why", True, target=target, opportunity_id=oid)
    if verdict.eligible:
        await message.answer(f"✅ User {target} is eligible for {escape(oid)} now.")
        return
    layer = verdict.layer or 0
    await message.answer(
        f"❌ User {target} would not get {escape(oid)}: layer {layer} "
        f"({LAYERS.get(layer, '?')}) — <code>{escape(verdict.reason)}</code>\n"
        f"{escape(verdict.detail)}"
    )


@router.message(Command("admin_stats", "settier", "why"))
async def refused(message: Message, services: Services, session: UserSession) -> None:
    command = (message.text or "").split(maxsplit=1)[0]
    _audit(services, session, command.lstrip("/")[:32], False)
    await message.answer(templates.ADMIN_ONLY)
