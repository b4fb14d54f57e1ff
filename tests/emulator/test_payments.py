"""Telegram Stars payments in the emulator: invoice links validated as Telegram does, the payer's
pre-checkout and payment, renewals, cancelling and refunds."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from emulator.server import EmulatorServer
from tests.emulator.conftest import TOKEN, Control

MONTH = 2_592_000
GOOD: dict[str, Any] = {
    "title": "Premium",
    "description": "30 days of Premium",
    "payload": "plan:premium:7",
    "currency": "XTR",
    "prices": [{"label": "Premium", "amount": 3800}],
    "subscription_period": MONTH,
}


async def _link(control: Control, **override: Any) -> tuple[int, Any]:
    return await control.bot_api(TOKEN, "createInvoiceLink", **{**GOOD, **override})


async def _next_update(control: Control, offset: int) -> dict[str, Any]:
    status, body = await control.bot_api(TOKEN, "getUpdates", offset=offset, timeout=5)
    assert status == 200 and body["result"], body
    update: dict[str, Any] = body["result"][0]
    return update


async def _pay(control: Control, link: str, answer: dict[str, Any] | None, **extra: Any) -> Any:
    """The user pays `link`; the bot (played here over getUpdates) answers the pre-checkout."""
    paying = asyncio.create_task(control.post("/emulator/users/7/pay", {"link": link, **extra}))
    query = await _next_update(control, 0)
    assert "pre_checkout_query" in query
    if answer is not None:
        qid = query["pre_checkout_query"]["id"]
        status, _ = await control.bot_api(
            TOKEN, "answerPreCheckoutQuery", pre_checkout_query_id=qid, **answer
        )
        assert status == 200
    result = await paying
    await control.bot_api(TOKEN, "getUpdates", offset=query["update_id"] + 1, timeout=0)
    return result, query


@pytest.mark.parametrize(
    ("override", "error"),
    [
        ({"currency": "USD"}, "PAYMENT_PROVIDER_INVALID"),
        ({"provider_token": "tok"}, "PAYMENT_PROVIDER_INVALID"),
        ({"subscription_period": 86_400}, "SUBSCRIPTION_PERIOD_INVALID"),
        ({"prices": [{"label": "a", "amount": 1}, {"label": "b", "amount": 2}]}, "STARS_INVOICE"),
        ({"prices": [{"label": "a", "amount": 1.5}]}, "CURRENCY_TOTAL_AMOUNT_INVALID"),
        ({"prices": [{"label": "a", "amount": 10_001}]}, "SUBSCRIPTION_AMOUNT_INVALID"),
        (
            {"prices": [{"label": "a", "amount": 100_001}], "subscription_period": None},
            "CURRENCY_TOTAL_AMOUNT_INVALID",
        ),
        ({"title": ""}, "INVOICE_TITLE_INVALID"),
    ],
)
async def test_invoice_links_are_refused_as_telegram_refuses_them(
    control: Control, override: dict[str, Any], error: str
) -> None:
    """Stars only: no provider, XTR, one whole-Star price, a 30-day period; else a 400."""
    status, body = await _link(control, **override)
    assert status == 400 and error in body["description"], body


async def test_a_paid_link_sends_pre_checkout_then_the_successful_payment(
    control: Control,
) -> None:
    """ok=true at pre-checkout charges the user and delivers successful_payment with a charge id
    and an expiration 30 days on; the charge can be refunded once."""
    status, body = await _link(control)
    assert status == 200 and body["result"].startswith("https://t.me/$")
    result, query = await _pay(control, body["result"], {"ok": True})
    assert query["pre_checkout_query"]["total_amount"] == 3800
    assert query["pre_checkout_query"]["invoice_payload"] == "plan:premium:7"
    assert result["status"] == "paid"
    paid = (await _next_update(control, query["update_id"] + 1))["message"]["successful_payment"]
    charge = paid["telegram_payment_charge_id"]
    assert charge == result["telegram_payment_charge_id"]
    assert paid["is_recurring"] and paid["is_first_recurring"]
    assert paid["currency"] == "XTR" and paid["total_amount"] == 3800
    assert paid["subscription_expiration_date"] == result["subscription_expiration_date"]
    status, _ = await control.bot_api(
        TOKEN, "refundStarPayment", user_id=7, telegram_payment_charge_id=charge
    )
    assert status == 200
    status, again = await control.bot_api(
        TOKEN, "refundStarPayment", user_id=7, telegram_payment_charge_id=charge
    )
    assert status == 400 and again["description"] == "Bad Request: CHARGE_ALREADY_REFUNDED"
    status, unknown = await control.bot_api(
        TOKEN, "refundStarPayment", user_id=7, telegram_payment_charge_id="nope"
    )
    assert status == 400 and "CHARGE_NOT_FOUND" in unknown["description"]


async def test_a_declined_or_unanswered_pre_checkout_charges_nothing(
    control: Control, emulator: EmulatorServer
) -> None:
    """ok=false declines; no answer within the pre-checkout timeout cancels, and a late answer
    is refused."""
    _, body = await _link(control)
    declined, _ = await _pay(control, body["result"], {"ok": False, "error_message": "no"})
    assert declined["status"] == "declined" and declined["error_message"] == "no"
    await control.post("/emulator/config", {"pre_checkout_timeout": 0})
    canceled, query = await _pay(control, body["result"], None)
    assert canceled["status"] == "canceled"
    status, late = await control.bot_api(
        TOKEN,
        "answerPreCheckoutQuery",
        pre_checkout_query_id=query["pre_checkout_query"]["id"],
        ok=True,
    )
    assert status == 400, late
    payments = await control.get("/emulator/payments")
    assert payments["charges"] == []


async def test_renewal_extends_and_cancel_stops_renewals(control: Control) -> None:
    """A renewal is a new successful_payment (is_recurring, not first) 30 days after the last;
    after editUserStarSubscription(is_canceled) the subscription does not renew."""
    _, body = await _link(control)
    paid, _ = await _pay(control, body["result"], {"ok": True})
    first = paid["telegram_payment_charge_id"]
    renewed = await control.post("/emulator/users/7/subscription/renew", {"charge_id": first})
    assert renewed["telegram_payment_charge_id"] != first
    assert renewed["subscription_expiration_date"] == paid["subscription_expiration_date"] + MONTH
    status, _ = await control.bot_api(
        TOKEN,
        "editUserStarSubscription",
        user_id=7,
        telegram_payment_charge_id=first,
        is_canceled=True,
    )
    assert status == 200
    await control.post("/emulator/users/7/subscription/renew", {"charge_id": first}, status=409)
