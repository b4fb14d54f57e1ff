"""SuperAdmin commands: /admin_stats, /settier, /why, /restrict, /region and /refund. Everyone
else is refused, and audited."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from html import escape
from typing import Any, Final

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, Filter
from aiogram.types import Message

from analytics.errors import AnalyticsError
from analytics.overview import OUTCOMES, DayOverview, day_overview_async
from bot.handlers.payments import refund
from core.events import EventName
from core.experiments.exposures import assigned_counts
from core.models import Tier, UserSession
from core.services import Services
from core.why import why
from messaging.i18n import N_, _
from messaging.ui import plans, templates

router: Final = Router(name=__name__)
log = logging.getLogger(__name__)

SETTIER_USAGE: Final = N_("Usage: /settier &lt;user_id&gt; &lt;tier&gt;, tier one of: {tiers}")


class IsSuperAdmin(Filter):
    async def __call__(self, message: Message, services: Services) -> bool:
        return (
            message.from_user is not None
            and message.from_user.id in services.settings.superadmin_ids
        )


def _audit(
    services: Services, session: UserSession, action: str, allowed: bool, **attrs: Any
) -> None:
    services.emit(
        EventName.ADMIN_ACTION,
        user_id=session.user_id,
        session_id=session.session_id,
        action=action,
        allowed=allowed,
        **attrs,
    )


ADMIN_STATS_USAGE: Final = N_("Usage: /admin_stats [YYYY-MM-DD] (a UTC day; today by default)")


@router.message(Command("admin_stats", ignore_case=True), IsSuperAdmin())
async def admin_stats(
    message: Message, command: CommandObject, services: Services, session: UserSession
) -> None:
    now = services.clock.now()
    today = datetime.fromtimestamp(now, UTC).date()
    arg = (command.args or "").strip()
    try:
        day = date.fromisoformat(arg) if arg else today
    except ValueError:
        await message.answer(_(ADMIN_STATS_USAGE))
        return
    _audit(services, session, "admin_stats", True)
    live = await _live_figures(services, now)
    try:
        as_of = datetime.fromtimestamp(now, UTC)
        overview = await day_overview_async(services.settings.analytics, day, as_of=as_of)
    except AnalyticsError as exc:
        log.warning("/admin_stats: reports unavailable: %s", exc)
        reports = _("<b>Reports for {day} (UTC)</b>\nUnavailable: {error}").format(
            day=day, error=escape(str(exc))
        )
    else:
        reports = render_overview(overview)
    experiments = await _experiments(services, now)
    await message.answer(f"{live}{experiments}\n\n{reports}")


async def _live_figures(services: Services, now: float) -> str:
    """What only Redis knows right now (the lake lags by the sink's batching)."""
    active = await services.sessions.store.count_active(now)
    today = await services.sessions.store.daily_stats(now)
    by_tier = await services.profiles.count_by_tier()
    tiers = ", ".join(f"{t.label} {n}" for t, n in by_tier.items() if n)
    return _(
        "<b>arbcast live (Redis)</b>\n"
        "Active sessions: {active}\n"
        "Sessions started today: {started}\n"
        "Users by tier: {tiers}"
    ).format(active=active, started=today.get("started", 0), tiers=tiers or _("none"))


async def _experiments(services: Services, now: float) -> str:
    """The experiments running now (settings), their split and the users assigned so far."""
    running = [e for e in services.settings.experiments.running if e.running(now)]
    if not running:
        return ""
    counts = await assigned_counts(services.redis, [e.name for e in running])
    lines = [_("Experiments running:")]
    for e in running:
        total = sum(v.weight for v in e.variants)
        split = ", ".join(f"{escape(v.name)} {v.weight / total:.0%}" for v in e.variants)
        lines.append(
            _("{name}: {split}; {n} users assigned").format(
                name=escape(e.name), split=split, n=counts[e.name]
            )
        )
    return "\n" + "\n".join(lines)


def _num(v: float | None, unit: str = "") -> str:
    return _("n/a") if v is None else f"{v:,.2f}{unit}"


def render_overview(o: DayOverview) -> str:
    """The report figures of one day, as the dashboard and `arbcast analytics report` compute
    them (DuckDB over the Parquet the sink wrote)."""
    f = o.onboarding
    started = f.get("started", 0)
    done = f.get("completed", 0)
    done_pct = f" ({done / started:.0%})" if started else ""
    layers = ", ".join(f"L{k} {n}" for k, n in sorted(o.rejected_by_layer.items())) or _("none")
    outcomes = ", ".join(f"{k} {o.outcomes.get(k, 0)}" for k in OUTCOMES)
    lat = ", ".join(f"{k} {_num(o.latency_ms.get(k))}" for k in ("p50", "p95", "p99"))
    median_min = None if o.median_session_s is None else o.median_session_s / 60
    return _(
        "<b>Reports for {day} (UTC)</b> — the dashboard's queries over "
        "{files} Parquet files, {took} ms\n"
        "Users: DAU {dau}, WAU {wau}, new {new}\n"
        "Sessions: started {started}, expired {expired}, terminated {terminated}\n"
        "Session length: median {median}, commands/session {per_session}\n"
        "Onboarding: started {ob_started}, completed {ob_done}{ob_pct}, "
        "skipped {ob_skipped}, in progress {ob_progress}, abandoned {ob_abandoned}\n"
        "Distribution: {outcomes}\n"
        "Users refused by layer: {layers}\n"
        "Alert latency from detection (ms): {latency}\n"
        "Engagement: delivered {delivered}, clicked {clicked}, CTR {ctr}"
    ).format(
        day=o.day,
        files=o.files,
        took=f"{o.took_ms:.0f}",
        dau=o.dau,
        wau=o.wau,
        new=o.new_users,
        started=o.sessions_started,
        expired=o.sessions_expired,
        terminated=o.sessions_terminated,
        median=_num(median_min, " " + _("min")),
        per_session=_num(o.commands_per_session),
        ob_started=started,
        ob_done=done,
        ob_pct=done_pct,
        ob_skipped=f.get("skipped", 0),
        ob_progress=f.get("in_progress", 0),
        ob_abandoned=f.get("abandoned", 0),
        outcomes=outcomes,
        layers=layers,
        latency=lat,
        delivered=o.delivered,
        clicked=o.clicked,
        ctr=_num(o.ctr_pct, "%"),
    )


@router.message(Command("settier", ignore_case=True), IsSuperAdmin())
async def settier(
    message: Message, command: CommandObject, services: Services, session: UserSession, bot: Bot
) -> None:
    args = (command.args or "").split()
    if len(args) != 2 or not args[0].isdigit() or args[1].lower() not in Tier.__members__.values():
        await message.answer(_(SETTIER_USAGE).format(tiers=", ".join(t.value for t in Tier)))
        return
    target, tier = int(args[0]), Tier(args[1].lower())
    await services.profiles.set_tier(target, tier)
    _audit(services, session, "settier", True, target=target, tier=tier.value)
    told = ""
    if target != session.user_id:
        try:
            told_text = plans.tier_changed(tier, await services.profiles.language(target))
            await bot.send_message(target, told_text)
        except TelegramAPIError as exc:  # never talked to the bot, or blocked it
            told = " " + _("(they could not be told: {error})").format(error=escape(str(exc)))
    await message.answer(
        _("✅ User {user} is now on {plan}.").format(user=target, plan=tier.label) + told
    )


@router.message(Command("refund", ignore_case=True), IsSuperAdmin())
async def refund_command(
    message: Message, command: CommandObject, services: Services, session: UserSession, bot: Bot
) -> None:
    args = (command.args or "").split()
    if len(args) != 2 or not args[0].isdigit():
        await message.answer(_("Usage: /refund &lt;user_id&gt; &lt;telegram_payment_charge_id&gt;"))
        return
    target, charge_id = int(args[0]), args[1][:128]
    _audit(services, session, "refund", True, target=target, charge_id=charge_id)
    answer = await refund(services, bot, session.user_id, target, charge_id)
    await message.answer(escape(answer))


LAYERS: Final = {
    1: N_("Session"),
    2: N_("Subscription"),
    3: N_("Preferences"),
    4: N_("Rate limits"),
    5: N_("Technical"),
    6: N_("Context and compliance"),
}


@router.message(Command("why", ignore_case=True), IsSuperAdmin())
async def why_command(
    message: Message, command: CommandObject, services: Services, session: UserSession
) -> None:
    args = (command.args or "").split()
    if len(args) != 2 or not args[0].isdigit():
        await message.answer(_("Usage: /why &lt;user_id&gt; &lt;opportunity_id&gt;"))
        return
    target, oid = int(args[0]), args[1]
    opp = await services.opportunities.get(oid)
    if opp is None:
        await message.answer(
            _("No opportunity {id} is known (closed over an hour ago?).").format(id=escape(oid))
        )
        return
    verdict = await why(
        services.sessions.store,
        services.profiles,
        services.quota,
        services.settings,
        target,
        opp,
        services.clock.now(),
    )
    _audit(services, session, "why", True, target=target, opportunity_id=oid)
    if verdict.eligible:
        await message.answer(
            _("✅ User {user} is eligible for {id} now.").format(user=target, id=escape(oid))
        )
        return
    layer = verdict.layer or 0
    await message.answer(
        _(
            "❌ User {user} would not get {id}: layer {layer} ({name}) — <code>{reason}</code>"
        ).format(
            user=target,
            id=escape(oid),
            layer=layer,
            name=_(LAYERS[layer]) if layer in LAYERS else "?",
            reason=escape(verdict.reason),
        )
        + f"\n{escape(verdict.detail)}"
    )


@router.message(Command("restrict", ignore_case=True), IsSuperAdmin())
async def restrict(
    message: Message, command: CommandObject, services: Services, session: UserSession
) -> None:
    args = (command.args or "").split()
    if len(args) != 2 or not args[0].isdigit() or args[1].lower() not in ("on", "off"):
        await message.answer(_("Usage: /restrict &lt;user_id&gt; on|off"))
        return
    target, on = int(args[0]), args[1].lower() == "on"
    await services.profiles.set_compliance(target, restricted=on)
    _audit(services, session, "restrict", True, target=target, restricted=on)
    done = (
        _("✅ User {user} is restricted: no alerts.")
        if on
        else _("✅ User {user} is no longer restricted.")
    )
    await message.answer(done.format(user=target))


@router.message(Command("region", ignore_case=True), IsSuperAdmin())
async def region(
    message: Message, command: CommandObject, services: Services, session: UserSession
) -> None:
    args = (command.args or "").split()
    ok = len(args) == 2 and args[0].isdigit() and (args[1] == "-" or args[1].isalpha())
    if not ok or len(args[1]) > 8:
        await message.answer(
            _("Usage: /region &lt;user_id&gt; &lt;country code, or - for none&gt;")
        )
        return
    target, code = int(args[0]), "" if args[1] == "-" else args[1].upper()
    await services.profiles.set_compliance(target, region=code)
    _audit(services, session, "region", True, target=target, region=code)
    blocked = services.settings.distribution.blocked_regions
    note = " " + _("(a blocked region: no alerts)") if code in blocked else ""
    await message.answer(
        _("✅ User {user}'s region is {region}{note}.").format(
            user=target, region=escape(code or _("none")), note=note
        )
    )


@router.message(
    Command(
        "admin_stats",
        "settier",
        "why",
        "restrict",
        "region",
        "refund",
        "group_tier",  # bot/handlers/groups/tier.py
        ignore_case=True,
    )
)
async def refused(message: Message, services: Services, session: UserSession) -> None:
    command = (message.text or "").split(maxsplit=1)[0]
    _audit(services, session, command.lstrip("/")[:32], False)
    await message.answer(_(templates.ADMIN_ONLY))
