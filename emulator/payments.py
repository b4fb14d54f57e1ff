"""Telegram Stars payments: invoice links, pre-checkout answers, refunds and subscriptions.

Only Stars (currency XTR) are emulated: digital goods must be sold for Stars, so a provider
token, another currency, more than one price item, a fractional or out-of-range amount, or a
subscription period other than 30 days is refused with Telegram's error. The payer's side (paying
a link, renewals, cancelling from Telegram's UI) is in `emulator.payer`.
"""

from __future__ import annotations

from typing import Any

from emulator.context import ApiContext
from emulator.errors import bad_request
from emulator.params import Params
from emulator.payment_state import Charge, Invoice, new_id

STARS: str = "XTR"
SUBSCRIPTION_PERIOD = 2_592_000  # 30 days: the only period Telegram allows
# Measured on Telegram with createInvoiceLink: a one-off invoice takes up to 100,000 Stars (more:
# CURRENCY_TOTAL_AMOUNT_INVALID), a subscription's price up to 10,000 per period (more:
# SUBSCRIPTION_AMOUNT_INVALID; the documented app config `stars_subscription_amount_max`).
MAX_STARS = 100_000
MAX_SUBSCRIPTION_STARS = 10_000
MAX_TITLE, MAX_DESCRIPTION, MAX_PAYLOAD = 32, 255, 128
MAX_PRE_CHECKOUT_ERROR = 255

TITLE_INVALID = "Bad Request: INVOICE_TITLE_INVALID"
DESCRIPTION_INVALID = "Bad Request: INVOICE_DESCRIPTION_INVALID"
PAYLOAD_INVALID = "Bad Request: INVOICE_PAYLOAD_INVALID"
PROVIDER_INVALID = "Bad Request: PAYMENT_PROVIDER_INVALID"
CURRENCY_INVALID = "Bad Request: CURRENCY_TOTAL_AMOUNT_INVALID"
PRICES_INVALID = "Bad Request: can't parse prices JSON object"
STARS_INVOICE_INVALID = "Bad Request: STARS_INVOICE_INVALID"
SUBSCRIPTION_PERIOD_INVALID = "Bad Request: SUBSCRIPTION_PERIOD_INVALID"
SUBSCRIPTION_AMOUNT_INVALID = "Bad Request: SUBSCRIPTION_AMOUNT_INVALID"
# The Bot API server's own check of a user_id parameter, missing or not a positive number.
USER_ID_INVALID = "Bad Request: invalid user_id specified"
PRE_CHECKOUT_ID_INVALID = "Bad Request: QUERY_ID_INVALID"
PRE_CHECKOUT_ERROR_EMPTY = "Bad Request: ERROR_MESSAGE_EMPTY"
CHARGE_NOT_FOUND = "Bad Request: CHARGE_NOT_FOUND"
CHARGE_ALREADY_REFUNDED = "Bad Request: CHARGE_ALREADY_REFUNDED"
CHARGE_ID_EMPTY = "Bad Request: CHARGE_ID_EMPTY"
SUBSCRIPTION_NOT_FOUND = "Bad Request: SUBSCRIPTION_ID_INVALID"


def _prices(params: Params) -> list[dict[str, Any]]:
    prices = params.json("prices", PRICES_INVALID)
    if not isinstance(prices, list) or not all(isinstance(p, dict) for p in prices):
        raise bad_request(PRICES_INVALID)
    return prices


def _stars_amount(params: Params) -> int:
    """The one price item's whole Stars; anything else is refused as Telegram does."""
    prices = _prices(params)
    if len(prices) != 1:
        raise bad_request(STARS_INVOICE_INVALID)
    amount = prices[0].get("amount")
    label = prices[0].get("label")
    if not isinstance(label, str) or not label:
        raise bad_request(PRICES_INVALID)
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= MAX_STARS:
        raise bad_request(CURRENCY_INVALID)
    return amount


async def create_invoice_link(ctx: ApiContext, params: Params) -> str:
    title = params.text("title") or ""
    description = params.text("description") or ""
    payload = params.text("payload") or ""
    if not 1 <= len(title) <= MAX_TITLE:
        raise bad_request(TITLE_INVALID)
    if not 1 <= len(description) <= MAX_DESCRIPTION:
        raise bad_request(DESCRIPTION_INVALID)
    if not 1 <= len(payload.encode()) <= MAX_PAYLOAD:
        raise bad_request(PAYLOAD_INVALID)
    if params.text("provider_token"):
        raise bad_request(PROVIDER_INVALID)  # Stars take no provider
    if params.text("currency") != STARS:
        raise bad_request(PROVIDER_INVALID)  # other currencies need a provider: not emulated
    amount = _stars_amount(params)
    period = params.integer("subscription_period")
    if period is not None and period != SUBSCRIPTION_PERIOD:
        raise bad_request(SUBSCRIPTION_PERIOD_INVALID)
    if period is not None and amount > MAX_SUBSCRIPTION_STARS:
        raise bad_request(SUBSCRIPTION_AMOUNT_INVALID)
    invoice = Invoice(new_id(""), title, description, payload, amount, period)
    ctx.bot.payments.invoices[invoice.slug] = invoice
    return invoice.link


async def answer_pre_checkout_query(ctx: ApiContext, params: Params) -> bool:
    query_id = params.text("pre_checkout_query_id") or ""
    query = ctx.bot.payments.pre_checkouts.get(query_id)
    if query is None or query.ok is not None:
        raise bad_request(PRE_CHECKOUT_ID_INVALID)
    ok = params.flag("ok")
    error = params.text("error_message")
    if not ok and not error:
        raise bad_request(PRE_CHECKOUT_ERROR_EMPTY)
    if error is not None and len(error) > MAX_PRE_CHECKOUT_ERROR:
        raise bad_request("Bad Request: MESSAGE_TOO_LONG")
    query.ok, query.error_message = ok, (None if ok else error)
    await ctx.state.notify()
    return True


def _charge(ctx: ApiContext, params: Params) -> Charge:
    user_id = params.integer("user_id", missing=USER_ID_INVALID)
    if user_id is None or user_id <= 0:
        raise bad_request(USER_ID_INVALID)
    charge_id = params.text("telegram_payment_charge_id", missing=CHARGE_ID_EMPTY) or ""
    charge = ctx.bot.payments.charges.get(charge_id)
    if charge is None or charge.user_id != user_id:
        raise bad_request(CHARGE_NOT_FOUND)
    return charge


async def refund_star_payment(ctx: ApiContext, params: Params) -> bool:
    charge = _charge(ctx, params)
    if charge.refunded:
        raise bad_request(CHARGE_ALREADY_REFUNDED)
    charge.refunded = True
    # A refunded subscription payment ends the subscription: it does not renew.
    first = ctx.bot.payments.charges.get(charge.subscription or "")
    if first is not None:
        first.canceled = True
    return True


async def edit_user_star_subscription(ctx: ApiContext, params: Params) -> bool:
    charge = _charge(ctx, params)
    if charge.subscription is None:
        raise bad_request(SUBSCRIPTION_NOT_FOUND)
    if "is_canceled" not in params.data:
        raise bad_request("Bad Request: is_canceled is empty")
    first = ctx.bot.payments.charges[charge.subscription]
    first.canceled = params.flag("is_canceled")
    return True
