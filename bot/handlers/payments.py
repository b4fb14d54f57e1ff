"""Stars payments: the pre-checkout check, granting on successful_payment, and refunds.

A pre_checkout_query is answered in its handler, at once (Telegram cancels the payment after
10 s): ok only for an order (the invoice payload) that names a plan for sale, at its price in
Stars, for the payer, who has no other plan renewing (one Stars subscription at a time, so two
never renew side by side). The tier is granted on the successful_payment message only, once per
`telegram_payment_charge_id` (`SubscriptionStore.grant`): a payment delivered twice grants once
and tells the user once. Renewals are successful payments too (`is_recurring`), and extend
paid_until. Every step is a payment.* event; payment.succeeded carries the revenue.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Final

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import Message, PreCheckoutQuery

from bot.filters import Magic
from core.events import EventName
from core.plans import SUBSCRIPTION_PERIOD_SECONDS, check_order, parse_order
from core.services import Services
from core.subscriptions import Ended, Payment, SubscriptionStore
from messaging.i18n import _
from messaging.ui import plans

router: Final = Router(name=__name__)
log = logging.getLogger(__name__)

ALREADY_REFUNDED: Final = "CHARGE_ALREADY_REFUNDED"


@router.pre_checkout_query()
async def pre_checkout(query: PreCheckoutQuery, services: Services) -> None:
    verdict = check_order(
        services.settings.tiers,
        query.invoice_payload,
        currency=query.currency,
        total_amount=query.total_amount,
        payer_id=query.from_user.id,
    )
    if not isinstance(verdict, str):
        current = await SubscriptionStore(services.redis).get(query.from_user.id)
        if current is not None and not current.canceled:
            verdict = plans.one_at_a_time(current)
    ok = not isinstance(verdict, str)
    if isinstance(verdict, str):
        await query.answer(ok=False, error_message=plans.refusal(verdict))
    else:
        await query.answer(ok=True)
    order = parse_order(query.invoice_payload)
    services.emit(
        EventName.PAYMENT_PRE_CHECKOUT,
        user_id=query.from_user.id,
        ok=ok,
        reason=verdict if isinstance(verdict, str) else None,
        tier=order.tier.value if order else None,
        amount=query.total_amount,
    )


@router.message(Magic(F.successful_payment))
async def successful_payment(message: Message, services: Services) -> None:
    paid = message.successful_payment
    if paid is None or message.from_user is None:
        return
    user_id = message.from_user.id
    order = parse_order(paid.invoice_payload)
    if order is None or order.user_id != user_id:
        # Only our own invoices can be paid; a stranger's payload is recorded, never granted.
        log.error("successful_payment %s with an unknown order", paid.telegram_payment_charge_id)
        services.emit(
            EventName.PAYMENT_DUPLICATE,
            user_id=user_id,
            charge_id=paid.telegram_payment_charge_id,
            reason="unknown_order",
        )
        return
    now = services.clock.now()
    expires = paid.subscription_expiration_date
    paid_until = float(expires) if expires else now + SUBSCRIPTION_PERIOD_SECONDS
    renewal = bool(paid.is_recurring) and not paid.is_first_recurring
    store = SubscriptionStore(services.redis)
    current = await store.get(user_id)
    first_charge = (
        current.charge_id
        if renewal and current is not None and current.tier is order.tier
        else paid.telegram_payment_charge_id
    )
    payment = Payment(
        charge_id=paid.telegram_payment_charge_id,
        user_id=user_id,
        tier=order.tier,
        amount=paid.total_amount,
        paid_until=paid_until,
        subscription_charge_id=first_charge,
    )
    if not await store.grant(payment):
        services.emit(
            EventName.PAYMENT_DUPLICATE,
            user_id=user_id,
            charge_id=payment.charge_id,
            tier=order.tier.value,
            reason="charge_seen",
        )
        return
    services.emit(
        EventName.PAYMENT_SUCCEEDED,
        user_id=user_id,
        tier=order.tier.value,
        amount=payment.amount,
        currency=paid.currency,
        charge_id=payment.charge_id,
        recurring=renewal,
        paid_until=paid_until,
    )
    profile = await services.profiles.get(user_id)
    text = plans.granted(order.tier, paid_until, profile.preferences.timezone, renewal=renewal)
    with contextlib.suppress(TelegramAPIError):  # granted already; a blocked bot changes nothing
        await message.answer(text)


async def refund(services: Services, bot: Bot, admin_id: int, target: int, charge_id: str) -> str:
    """Refund one charge of `target` (SuperAdmins only: the caller checks) and, if it paid for
    the current subscription, put the user back on Free; the answer for the admin."""
    store = SubscriptionStore(services.redis)
    record = await store.charge(charge_id)
    if record is None or record.user_id != target:
        return _("No payment {charge} of user {user} is known.").format(
            charge=charge_id, user=target
        )
    try:
        await bot.refund_star_payment(user_id=target, telegram_payment_charge_id=charge_id)
    except TelegramBadRequest as exc:
        if ALREADY_REFUNDED not in exc.message:
            return _("Telegram refused the refund: {error}").format(error=exc.message)
    ended, tier = await store.refund(target, charge_id, services.clock.now())
    outcome = ended.name.lower()
    services.emit(
        EventName.PAYMENT_REFUNDED,
        user_id=target,
        tier=record.tier.value,
        amount=record.amount,
        charge_id=charge_id,
        outcome=outcome,
        admin=admin_id,
    )
    if ended is Ended.NOTHING:
        return _("Payment {charge} was already refunded.").format(charge=charge_id)
    if ended is Ended.FELL_BACK and tier is not None:
        with contextlib.suppress(TelegramAPIError):
            told = plans.refunded(tier, await services.profiles.language(target))
            await bot.send_message(target, told)
        return _("Refunded {stars} ⭐ to user {user}; they are on Free now.").format(
            stars=record.amount, user=target
        )
    return _(
        "Refunded {stars} ⭐ to user {user}; their tier is unchanged (the plan had already "
        "ended, or a SuperAdmin set the tier since)."
    ).format(stars=record.amount, user=target)
