"""What /subscription and the Stars payments say, and their buttons.

A plan's Buy button asks the bot for an invoice link (`PlanCB` buy), and the bot answers with a
button that opens Telegram's payment sheet at that link; Cancel stops the renewal.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from core.models import Tier
from core.plans import Refusal
from core.subscriptions import Subscription
from messaging.i18n import _, use_locale
from messaging.ui.callbacks import PlanCB
from messaging.ui.templates import when


def plan_buttons(
    for_sale: Mapping[Tier, int], current: Tier, subscription: Subscription | None
) -> InlineKeyboardMarkup | None:
    """A Buy button per plan for sale other than the user's own, or, while a plan renews, only
    Cancel: one Stars subscription at a time, so a second one never renews beside it."""
    if subscription is not None and not subscription.canceled:
        cancel = PlanCB(action="cancel").pack()
        text = _("Cancel {plan} renewal").format(plan=subscription.tier.label)
        return InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text=text, callback_data=cancel)]]
        )
    rows = [
        [
            InlineKeyboardButton(
                text=_("Buy {plan} · {stars} ⭐").format(plan=tier.label, stars=stars),
                callback_data=PlanCB(action="buy", tier=tier.value).pack(),
            )
        ]
        for tier, stars in for_sale.items()
        if tier is not current
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def pay_button(stars: int, link: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=_("Pay {stars} ⭐").format(stars=stars), url=link)]
        ]
    )


def subscription_status(subscription: Subscription | None, tz: str) -> str:
    if subscription is None:
        return ""
    until = when(subscription.paid_until, tz)
    if subscription.canceled:
        return "\n\n" + _(
            "{plan} is paid until {until} and will not renew; then you are back on Free."
        ).format(plan=subscription.tier.label, until=until)
    return "\n\n" + _("{plan} renews on {until} (Telegram Stars, every 30 days).").format(
        plan=subscription.tier.label, until=until
    )


def one_at_a_time(subscription: Subscription) -> str:
    return _(
        "Your {plan} plan renews by itself: cancel its renewal in /subscription first, then "
        "buy the other plan."
    ).format(plan=subscription.tier.label)


def refusal(verdict: str) -> str:
    """A pre-checkout refusal in the current language (`core.plans.Refusal` carries its
    template; any other text is already translated)."""
    if isinstance(verdict, Refusal):
        return _(verdict.template).format(**verdict.values)
    return verdict


def invoice_text(tier: Tier, stars: int) -> str:
    return _(
        "<b>{plan}</b>: {stars} ⭐ every 30 days. Press Pay to open Telegram's payment sheet; "
        "you can cancel the renewal any time in /subscription."
    ).format(plan=tier.label, stars=stars)


def invoice_title(tier: Tier) -> str:
    return f"arbcast {tier.label}"


def invoice_description(tier: Tier, stars: int) -> str:
    return _("{plan} plan of arbcast alerts for 30 days, {stars} Stars, renewed monthly.").format(
        plan=tier.label, stars=stars
    )


def granted(tier: Tier, paid_until: float, tz: str, *, renewal: bool) -> str:
    until = when(paid_until, tz)
    if renewal:
        return _("🔁 {plan} renewed: paid until {until}. Thank you!").format(
            plan=tier.label, until=until
        )
    return _(
        "⭐ Payment received: you are on <b>{plan}</b> now, until {until}; it renews every "
        "30 days. /subscription shows your plan."
    ).format(plan=tier.label, until=until)


def fell_back(tier: Tier, language: str | None = None) -> str:
    """Sent off the bot (the expiry sweep), so in the `language` it is given."""
    with use_locale(language):
        return _(
            "Your {plan} plan ended (not renewed), so you are on Free now. "
            "/subscription to buy a plan again."
        ).format(plan=tier.label)


def refunded(tier: Tier, language: str | None = None) -> str:
    """Sent to the payer from a SuperAdmin's /refund, so in the payer's `language`."""
    with use_locale(language):
        return _("Your {plan} payment was refunded, so you are on Free now.").format(
            plan=tier.label
        )


def canceled(subscription: Subscription, tz: str) -> str:
    return _("Renewal cancelled. {plan} stays until {until}, then you are back on Free.").format(
        plan=subscription.tier.label, until=when(subscription.paid_until, tz)
    )


def tier_changed(tier: Tier, language: str | None = None) -> str:
    """Told to a user whose plan a SuperAdmin changed (/settier), in that user's `language`."""
    with use_locale(language):
        return _(
            "Your plan was changed to <b>{plan}</b> by an administrator. See /subscription."
        ).format(plan=tier.label)
