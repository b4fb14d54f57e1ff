"""/opportunities: the live opportunities the user's tier and preferences allow, best first.

What is shown counts against the user's daily and hourly caps, shared with pushes, once: an
opportunity seen again within `opportunities.repeat_view_free_seconds` is free (issue 15, fair
quota), so asking again for the same list costs nothing and does not starve pushes.

Both ask the push's eligibility (`core.distribution.eligibility`), which decides which layers
answer each question: /opportunities lists what ``Use.ON_DEMAND`` allows, and the buttons on an
opportunity (Details here, mutes and votes in `feedback`) act only on what ``Use.ACCESS``
allows, so a forged or outdated button shows nothing the plan does not include; such a press is
refused and audited (``not_entitled``). The user's own filters are not re-applied to a button:
they choose what is listed, and a card already shown may still be opened. Details costs no
quota: the card was counted when it was listed or pushed (issue 15: "Details never costs
anything").
"""

from __future__ import annotations

from typing import Final

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.handlers.refusals import NOT_ENTITLED, refuse
from core.distribution.caps import Caps
from core.distribution.eligibility import ChatContext, RecipientState, Use, is_eligible
from core.events import EventName
from core.models import Opportunity, UserProfile, UserSession
from core.services import Services
from messaging.i18n import _
from messaging.ui import templates
from messaging.ui.callbacks import OpportunityCB
from messaging.ui.card import card

router: Final = Router(name=__name__)

ON_DEMAND, ACCESS = Use.ON_DEMAND, Use.ACCESS


@router.message(Command("opportunities", ignore_case=True))
async def opportunities(message: Message, services: Services, session: UserSession) -> None:
    now = services.clock.now()
    profile = await services.profiles.get(session.user_id)
    limits = services.settings.tier_limits(profile.tier)
    live = await services.opportunities.live(now)
    state = RecipientState(profile, session)
    context = ChatContext.private(session.user_id)
    policy = services.policy
    wanted = [o for o in live if is_eligible(state, o, now, context, policy=policy, use=ON_DEMAND)]
    wanted = wanted[: services.settings.opportunities.max_shown]
    left: tuple[int | None, int | None] = (None, None)
    free = 0
    withheld: tuple[int, float] | None = None
    window_s = services.settings.opportunities.repeat_view_free_seconds
    if wanted:
        view = await services.quota.take_views(
            session.user_id, [o.opportunity_id for o in wanted], Caps.of(limits), now, window_s
        )
        grant = view.grant
        if view.refused:
            await message.answer(
                templates.quota_exhausted(
                    profile.tier, grant.resets_at, profile.preferences.timezone
                )
            )
            return
        shown = set(view.shown)
        if len(shown) < len(wanted):  # new ones the caps left out: say when more is allowed
            withheld = (len(wanted) - len(shown), grant.resets_at)
        wanted = [o for o in wanted if o.opportunity_id in shown]
        free = len(view.free)
        left = grant.left
        for opp in wanted:
            services.emit(
                EventName.OPPORTUNITIES_SHOWN,
                ts=now,
                user_id=session.user_id,
                session_id=session.session_id,
                opportunity_id=opp.opportunity_id,
                type=opp.type.value,
                priority=opp.priority.value,
                tier=profile.tier.value,
                channel="on_demand",
            )
    keyboard = None
    if wanted:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=_("Details: {pair} {buy}→{sell}").format(
                            pair=o.symbol, buy=o.buy_exchange, sell=o.sell_exchange
                        ),
                        callback_data=OpportunityCB(
                            action="details", opportunity_id=o.opportunity_id
                        ).pack(),
                    )
                ]
                for o in wanted
            ]
        )
    await message.answer(
        templates.opportunities(
            wanted, profile, now, left=left, free=free, free_minutes=window_s / 60
        )
        + templates.withheld_note(withheld, profile.preferences.timezone),
        reply_markup=keyboard,
    )


async def entitled_opportunity(
    query: CallbackQuery, services: Services, session: UserSession, opportunity_id: str
) -> tuple[Opportunity | None, UserProfile] | None:
    """The pressed button's opportunity (None if it is gone) and the user's profile; None, with
    the press refused and audited, if the user's plan does not include it."""
    opp = await services.opportunities.get(opportunity_id)
    profile = await services.profiles.get(session.user_id)
    if opp is None:
        return None, profile
    state, context = RecipientState(profile, session), ChatContext.private(session.user_id)
    if not is_eligible(
        state, opp, services.clock.now(), context, policy=services.policy, use=ACCESS
    ):
        text = templates.not_in_plan(profile.tier)
        await refuse(query, services, session.session_id, NOT_ENTITLED, text)
        return None
    return opp, profile


@router.callback_query(OpportunityCB.filter(F.action == "details"))
async def details(
    query: CallbackQuery, callback_data: OpportunityCB, services: Services, session: UserSession
) -> None:
    found = await entitled_opportunity(query, services, session, callback_data.opportunity_id)
    if found is None:
        return
    opp, profile = found
    services.emit(
        EventName.DETAILS,
        user_id=session.user_id,
        session_id=session.session_id,
        opportunity_id=callback_data.opportunity_id,
        button="details",
    )
    if opp is None:
        await query.answer(_(templates.OPPORTUNITY_GONE), show_alert=True)
        return
    records = await services.opportunities.validation(opp.opportunity_id)
    await query.answer()
    if query.message is not None:
        lines = card(opp, profile, services.clock.now(), full=True)
        await query.message.answer("\n".join([*lines, "", templates.validation_record(records)]))
