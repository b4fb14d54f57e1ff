"""The payer's side of Stars payments, played through the control API.

Paying a link sends the bot a pre_checkout_query and waits up to `pre_checkout_timeout` (10 s,
as Telegram) for `answerPreCheckoutQuery`; only an ok answer charges the user and sends the
successful_payment message. Renewals need no pre-checkout (Telegram debits the user each period)
and arrive as new successful_payment messages with `is_recurring`. Cancelling from Telegram's UI
and letting a subscription lapse send the bot nothing: it learns by the renewal not coming.
"""

from __future__ import annotations

from typing import Any

from emulator.errors import ControlError
from emulator.payment_state import Charge, Invoice, PreCheckout, new_id
from emulator.payments import STARS
from emulator.simulate import ensure_private_chat
from emulator.state import BotState, EmulatorState, now_date
from emulator.updates import PendingUpdate


def _emulated_date(state: EmulatorState) -> int:
    """Wall-clock seconds, moved by what POST /emulator/clock advanced."""
    return now_date() + int(state.clock_offset)


def _int_field(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ControlError(400, f"{name} must be an integer")
    return value


async def pay(
    state: EmulatorState, bot: BotState, user_id: int, body: dict[str, Any]
) -> tuple[str, PendingUpdate | None, dict[str, Any]]:
    """(outcome, the successful_payment update or None, details): outcome is paid, declined
    (the bot answered ok=false) or canceled (no answer within the pre-checkout timeout)."""
    link = body.get("link")
    if not isinstance(link, str):
        raise ControlError(400, "link (from createInvoiceLink) is required")
    invoice = bot.payments.invoice_by_link(link)
    if invoice is None:
        raise ControlError(404, f"no invoice link {link!r} was created by this bot")
    # `tamper` plays a forged order, to test that the bot checks the pre-checkout query.
    tamper = body.get("tamper") or {}
    if not isinstance(tamper, dict):
        raise ControlError(400, "tamper must be an object (total_amount, invoice_payload)")
    amount = _int_field(tamper, "total_amount", invoice.amount)
    payload = str(tamper.get("invoice_payload", invoice.payload))
    user, _ = ensure_private_chat(bot, user_id, body.get("first_name"))
    query = PreCheckout(new_id(str(bot.id)), user.id, invoice, amount, payload)
    bot.payments.pre_checkouts[query.id] = query
    bot.push_update(
        {
            "pre_checkout_query": {
                "id": query.id,
                "from": user.to_json(),
                "currency": STARS,
                "total_amount": amount,
                "invoice_payload": payload,
            }
        }
    )
    timeout = state.config.pre_checkout_timeout
    await state.wait_until(lambda: query.ok is not None, timeout)
    details: dict[str, Any] = {"pre_checkout_query_id": query.id}
    if query.ok is None:
        query.ok = False  # a late answer is refused: the payment was cancelled
        return "canceled", None, details
    if not query.ok:
        details["error_message"] = query.error_message
        return "declined", None, details
    charge = Charge(new_id("stxEmu"), user.id, invoice, amount, None, None)
    if invoice.subscription_period is not None:
        charge.subscription = charge.id
        charge.expires_at = _emulated_date(state) + invoice.subscription_period
    bot.payments.charges[charge.id] = charge
    update = _successful_payment(state, bot, charge, payload, first=True)
    return "paid", update, {**details, **charge_json(charge)}


def _subscription(bot: BotState, user_id: int, body: dict[str, Any]) -> Charge:
    charge_id = body.get("charge_id")
    charge = bot.payments.charges.get(charge_id if isinstance(charge_id, str) else "")
    if charge is None or charge.user_id != user_id or charge.subscription is None:
        raise ControlError(404, f"user {user_id} has no subscription charge {charge_id!r}")
    return bot.payments.charges[charge.subscription]


def renew(
    state: EmulatorState, bot: BotState, user_id: int, body: dict[str, Any]
) -> tuple[PendingUpdate, dict[str, Any]]:
    """The next period's payment of the subscription that `charge_id` belongs to."""
    first = _subscription(bot, user_id, body)
    if first.canceled:
        raise ControlError(409, "the subscription was cancelled or refunded: it does not renew")
    latest = max(
        (c for c in bot.payments.charges.values() if c.subscription == first.id),
        key=lambda c: c.expires_at or 0,
    )
    invoice = first.invoice
    period = invoice.subscription_period or 0
    charge = Charge(new_id("stxEmu"), user_id, invoice, invoice.amount, first.id, None)
    charge.expires_at = (latest.expires_at or _emulated_date(state)) + period
    bot.payments.charges[charge.id] = charge
    update = _successful_payment(state, bot, charge, invoice.payload, first=False)
    return update, charge_json(charge)


def cancel(bot: BotState, user_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """The user cancels in Telegram's UI: no update; the subscription does not renew."""
    first = _subscription(bot, user_id, body)
    first.canceled = True
    return charge_json(first)


def charge_json(charge: Charge) -> dict[str, Any]:
    """A charge as the control API shows it."""
    return {
        "user_id": charge.user_id,
        "telegram_payment_charge_id": charge.id,
        "subscription_charge_id": charge.subscription,
        "total_amount": charge.amount,
        "subscription_expiration_date": charge.expires_at,
        "refunded": charge.refunded,
        "canceled": charge.canceled,
    }


def _successful_payment(
    state: EmulatorState, bot: BotState, charge: Charge, payload: str, *, first: bool
) -> PendingUpdate:
    invoice: Invoice = charge.invoice
    paid: dict[str, Any] = {
        "currency": STARS,
        "total_amount": charge.amount,
        "invoice_payload": payload,
        "telegram_payment_charge_id": charge.id,
        "provider_payment_charge_id": "",
    }
    if invoice.subscription_period is not None:
        paid.update(
            subscription_expiration_date=charge.expires_at,
            is_recurring=True,
            is_first_recurring=first,
        )
    user, chat = ensure_private_chat(bot, charge.user_id, None)
    message = {
        "message_id": bot.new_message_id(chat.id),
        "from": user.to_json(),
        "chat": chat.to_json(),
        "date": _emulated_date(state),
        "successful_payment": paid,
    }
    return bot.push_update({"message": message})
