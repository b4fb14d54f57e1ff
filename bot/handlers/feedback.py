"""The buttons on opportunity messages: Mute pair, Mute type, 👍 and 👎.

A press acts at once (a mute changes the preference, and the push shards hear of it through the
users-changed channel) and is an engagement event. A press on an opportunity the user's plan
does not include is refused and audited, as Details is (`entitled_opportunity`): a mute's answer
names the pair, which would reveal it.
"""

from __future__ import annotations

from html import escape
from typing import Final

from aiogram import F, Router
from aiogram.types import CallbackQuery

from bot.handlers.opportunities import entitled_opportunity
from core.events import EventName
from core.models import UserSession
from core.services import Services
from messaging.ui.callbacks import OpportunityCB

router: Final = Router(name=__name__)

ACTIONS: Final = ("mute_pair", "mute_type", "up", "down")
# Votes are recorded as engagement events for analysis; nothing reads them to choose what is
# sent yet (issue [7/8] will), so the answer says exactly that and promises nothing more.
VOTE_RECORDED: Final = (
    "Thanks — your vote is recorded for analysis; it doesn't change your alerts yet."
)


def _engaged(
    services: Services,
    session: UserSession,
    name: str,
    action: str,
    opportunity_id: str,
    **attrs: str,
) -> None:
    services.emit(
        name,
        attrs,
        user_id=session.user_id,
        session_id=session.session_id,
        opportunity_id=opportunity_id,
        button=action,
    )


@router.callback_query(OpportunityCB.filter(F.action.in_(ACTIONS)))
async def pressed(
    query: CallbackQuery, callback_data: OpportunityCB, services: Services, session: UserSession
) -> None:
    action, oid = callback_data.action, callback_data.opportunity_id
    found = await entitled_opportunity(query, services, session, oid)
    if found is None:
        return
    opp, _ = found
    if action in ("up", "down"):
        _engaged(services, session, EventName.FEEDBACK, "feedback", oid, vote=action)
        await query.answer(
            VOTE_RECORDED
            if action == "up"
            else f"{VOTE_RECORDED} For fewer like this, mute the pair or the type with 🔕."
        )
        return
    if opp is None:
        await query.answer(
            "This opportunity is no longer known; mute from /settings.", show_alert=True
        )
        return
    if action == "mute_pair":
        await services.profiles.change_member(session.user_id, "muted_pairs", opp.symbol, "add")
        _engaged(services, session, EventName.MUTE_PAIR, action, oid, pair=opp.symbol)
        await query.answer(f"Muted {escape(opp.symbol)}. Unmute it in /settings.", show_alert=True)
        return
    # The same rule as /settings: the last type, or the last one the plan includes, stays.
    profile = await services.profiles.get(session.user_id)
    plan = services.settings.tier_limits(profile.tier).opportunity_types
    types = await services.profiles.change_member(
        session.user_id,
        "opportunity_types",
        opp.type.value,
        "remove",
        keep_one=True,
        keep_one_of=[t.value for t in plan],
    )
    if opp.type.value in types:  # kept; say how to stop pushes instead
        await query.answer(
            "That is the last opportunity type your plan includes; turn pushes off in /settings.",
            show_alert=True,
        )
        return
    _engaged(services, session, EventName.MUTE_TYPE, action, oid, type=opp.type.value)
    await query.answer(
        f"No more {opp.type.label} opportunities. Undo in /settings.", show_alert=True
    )
