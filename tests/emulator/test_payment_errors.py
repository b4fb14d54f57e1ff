"""The emulator refuses Stars payments with Telegram's own error texts, word for word.

The oracle is what Telegram answered, as reported publicly (each case names its source), not
the emulator's code: a bot that matches on an error's text (arbcast's /refund treats
CHARGE_ALREADY_REFUNDED as done) must meet the same text in tests as in production.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.conftest import TOKEN, Control

MONTH = 2_592_000
INVOICE: dict[str, Any] = {
    "title": "Premium",
    "description": "30 days of Premium",
    "payload": "plan:premium:7",
    "currency": "XTR",
    "prices": [{"label": "Premium", "amount": 100}],
}


async def _link(control: Control, **override: Any) -> tuple[int, Any]:
    return await control.bot_api(TOKEN, "createInvoiceLink", **{**INVOICE, **override})


# Measured against Telegram with createInvoiceLink (a public project's test pins the figures,
# 2026-09-09): one-off 100000 accepted, more refused with CURRENCY_TOTAL_AMOUNT_INVALID; a
# subscription 10000 per period accepted, 10001 refused with SUBSCRIPTION_AMOUNT_INVALID; any
# period but 2592000 refused with SUBSCRIPTION_PERIOD_INVALID.
@pytest.mark.parametrize(
    ("override", "description"),
    [
        ({"prices": [{"label": "x", "amount": 100_000}]}, None),
        (
            {"prices": [{"label": "x", "amount": 100_001}]},
            "Bad Request: CURRENCY_TOTAL_AMOUNT_INVALID",
        ),
        ({"prices": [{"label": "x", "amount": 10_000}], "subscription_period": MONTH}, None),
        (
            {"prices": [{"label": "x", "amount": 10_001}], "subscription_period": MONTH},
            "Bad Request: SUBSCRIPTION_AMOUNT_INVALID",
        ),
        ({"subscription_period": 3 * MONTH}, "Bad Request: SUBSCRIPTION_PERIOD_INVALID"),
        # A prices field that is no JSON array: the Bot API server's own parse error.
        ({"prices": "100"}, "Bad Request: can't parse prices JSON object"),
    ],
)
async def test_invoice_limits_and_texts_are_telegrams(
    control: Control, override: dict[str, Any], description: str | None
) -> None:
    """Each invoice is accepted, or refused with exactly Telegram's description."""
    status, body = await _link(control, **override)
    if description is None:
        assert status == 200 and body["ok"], body
    else:
        assert (status, body["description"]) == (400, description)


async def test_a_refund_without_a_user_id_is_refused_as_the_bot_api_server_does(
    control: Control,
) -> None:
    """tdlib/telegram-bot-api#789: refundStarPayment without user_id answers "Bad Request:
    invalid user_id specified" (the only way to get that error, the maintainer says), before
    the charge is even looked up; editUserStarSubscription checks user_id the same way."""
    for method in ("refundStarPayment", "editUserStarSubscription"):
        status, body = await control.bot_api(
            TOKEN, method, telegram_payment_charge_id="anything", is_canceled=True
        )
        assert (status, body["description"]) == (400, "Bad Request: invalid user_id specified")
