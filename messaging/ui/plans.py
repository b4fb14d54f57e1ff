"""What /subscription and the Stars payments say, and their buttons.

A plan's Buy button asks the bot for an invoice link (`PlanCB` buy), and the bot answers with a
button that opens Telegram's payment sheet at that link; Cancel stops the renewal.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from core.models import Tier
from core.subscriptions import Subscription
from messaging.ui.callbacks import PlanCB
from messaging.ui.templates import when


def plan_buttons(
    for_sale: Mapping[Tier, int], current: Tier, subscription: Subscription | None
) -> InlineKeyboardMarkup | None:
    """A Buy button per plan for sale other than the user's own, or, while a plan renews, only
    Cancel: one Stars subscription at a time, so a second one never renews beside it."""
    if subscription is not None and not subscription.canceled:
        cancel = PlanCB(action="cancel").pack()
        text = f"Cancel {subscription.tier.label} renewal"
        return InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text=text, callback_data=cancel)]]
        )
    rows = [
        [
            InlineKeyboardButton(
                text=f"Buy {tier.label} · {stars} ⭐",
                callback_data=PlanCB(action="buy", tier=tier.value).pack(),
            )
        ]
        for tier, stars in for_sale.items()
        if tier is not current
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def pay_button(stars: int, link: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=f"Pay {stars} ⭐", url=link)]]
    )


def subscription_status(subscription: Subscription | None, tz: str) -> str:
    if subscription is None:
        return ""
    until = when(subscription.paid_until, tz)
    if subscription.canceled:
        return (
            f"\n\n{subscription.tier.label} is paid until {until} and will not renew; "
            "then you are back on Free."
        )
    return f"\n\n{subscription.tier.label} renews on {until} (Telegram Stars, every 30 days)."


def one_at_a_time(subscription: Subscription) -> str:
    return (
        f"Your {subscription.tier.label} plan renews by itself: cancel its renewal in "
        "/subscription first, then buy the other plan."
    )


def invoice_text(tier: Tier, stars: int) -> str:
    return (
        f"<b>{tier.label}</b>: {stars} ⭐ every 30 days. Press Pay to open Telegram's payment "
        "sheet; you can cancel the renewal any time in /subscription."
    )


def invoice_title(tier: Tier) -> str:
    return f"arbcast {tier.label}"


def invoice_description(tier: Tier, stars: int) -> str:
    return f"{tier.label} plan of arbcast alerts for 30 days, {stars} Stars, renewed monthly."


def granted(tier: Tier, paid_until: float, tz: str, *, renewal: bool) -> str:
    until = when(paid_until, tz)
    if renewal:
        return f"🔁 {tier.label} renewed: paid until {until}. Thank you!"
    return (
        f"⭐ Payment received: you are on <b>{tier.label}</b> now, until {until}; it renews every "
        "30 days. /subscription shows your plan."
    )


def fell_back(tier: Tier) -> str:
    return (
        f"Your {tier.label} plan ended (not renewed), so you are on Free now. "
        "/subscription to buy a plan again."
    )


def refunded(tier: Tier) -> str:
    return f"Your {tier.label} payment was refunded, so you are on Free now."


def canceled(subscription: Subscription, tz: str) -> str:
    return (
        f"Renewal cancelled. {subscription.tier.label} stays until "
        f"{when(subscription.paid_until, tz)}, then you are back on Free."
    )


def tier_changed(tier: Tier) -> str:
    """Told to a user whose plan a SuperAdmin changed (/settier)."""
    return f"Your plan was changed to <b>{tier.label}</b> by an administrator. See /subscription."
