"""/subscription: the tier table, the user's Stars subscription, a Buy button per plan for sale
and Cancel for a renewing one. Buy makes a Stars invoice link (`createInvoiceLink`, currency
XTR, a 30-day `subscription_period`); the payment itself is handled in `bot.handlers.payments`.
"""

from __future__ import annotations

import logging
from typing import Final

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import CallbackQuery, LabeledPrice, Message

from core.events import EventName
from core.models import Tier, UserSession
from core.plans import (
    STARS_CURRENCY,
    SUBSCRIPTION_PERIOD_SECONDS,
    order_payload,
    plans_for_sale,
)
from core.services import Services
from core.subscriptions import SubscriptionStore
from messaging.i18n import _
from messaging.ui import plans, templates
from messaging.ui.callbacks import PlanCB

router: Final = Router(name=__name__)
log = logging.getLogger(__name__)


@router.message(Command("subscription", ignore_case=True))
async def subscription(message: Message, services: Services, session: UserSession) -> None:
    profile = await services.profiles.get(session.user_id)
    current = await SubscriptionStore(services.redis).get(session.user_id)
    text = templates.tiers(services.settings.tiers, profile.tier)
    text += plans.subscription_status(current, profile.preferences.timezone)
    for_sale = plans_for_sale(services.settings.tiers)
    markup = plans.plan_buttons(for_sale, profile.tier, current)
    await message.answer(text, reply_markup=markup)


@router.callback_query(PlanCB.filter(F.action == "buy"))
async def buy(
    query: CallbackQuery,
    callback_data: PlanCB,
    services: Services,
    session: UserSession,
    bot: Bot,
) -> None:
    for_sale = plans_for_sale(services.settings.tiers)
    tier = Tier(callback_data.tier) if callback_data.tier in Tier.__members__.values() else None
    stars = for_sale.get(tier) if tier is not None else None
    if tier is None or stars is None:
        await query.answer(
            _("That plan is not for sale any more; see /subscription."), show_alert=True
        )
        return
    current = await SubscriptionStore(services.redis).get(session.user_id)
    if current is not None and not current.canceled:
        await query.answer(plans.one_at_a_time(current), show_alert=True)
        return
    try:
        link = await bot.create_invoice_link(
            title=plans.invoice_title(tier),
            description=plans.invoice_description(tier, stars),
            payload=order_payload(tier, session.user_id),
            currency=STARS_CURRENCY,
            prices=[LabeledPrice(label=_("{plan}, 30 days").format(plan=tier.label), amount=stars)],
            subscription_period=SUBSCRIPTION_PERIOD_SECONDS,
        )
    except TelegramAPIError as exc:
        log.warning("createInvoiceLink failed for %s: %s", tier.value, exc)
        await query.answer(_("Telegram could not make the invoice; try again."), show_alert=True)
        return
    services.emit(
        EventName.PAYMENT_INVOICE,
        user_id=session.user_id,
        session_id=session.session_id,
        tier=tier.value,
        amount=stars,
    )
    await query.answer()
    if query.message is not None:
        await bot.send_message(
            query.message.chat.id,
            plans.invoice_text(tier, stars),
            reply_markup=plans.pay_button(stars, link),
        )


@router.callback_query(PlanCB.filter(F.action == "cancel"))
async def cancel(query: CallbackQuery, services: Services, session: UserSession, bot: Bot) -> None:
    store = SubscriptionStore(services.redis)
    current = await store.get(session.user_id)
    if current is None or current.canceled:
        await query.answer(_("You have no renewing plan to cancel."), show_alert=True)
        return
    try:
        await bot.edit_user_star_subscription(
            user_id=session.user_id,
            telegram_payment_charge_id=current.charge_id,
            is_canceled=True,
        )
    except TelegramAPIError as exc:
        log.warning("editUserStarSubscription failed for %s: %s", session.user_id, exc)
        await query.answer(_("Telegram could not cancel it now; try again."), show_alert=True)
        return
    await store.mark_canceled(session.user_id)
    services.emit(
        EventName.PAYMENT_CANCELED,
        user_id=session.user_id,
        session_id=session.session_id,
        tier=current.tier.value,
        charge_id=current.charge_id,
        paid_until=current.paid_until,
    )
    profile = await services.profiles.get(session.user_id)
    await query.answer()
    if query.message is not None:
        await bot.send_message(
            query.message.chat.id, plans.canceled(current, profile.preferences.timezone)
        )
