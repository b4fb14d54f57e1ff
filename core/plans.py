"""Plans sold for Telegram Stars: what is for sale, the order an invoice carries, and the check
a pre-checkout query must pass.

The invoice payload is the order: ``plan:<tier>:<user id>``. Telegram hands it back in the
pre-checkout query and in every successful payment of the subscription (renewals included), so
the bot needs no stored order: a query passes when it names a plan for sale, at today's price in
Stars, for the user who is paying.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.models import Tier
from core.settings import TierLimits

STARS_CURRENCY = "XTR"
SUBSCRIPTION_PERIOD_SECONDS = 2_592_000  # 30 days: the only period Telegram allows
_PREFIX = "plan"


def N_(message: str) -> str:
    """Marks a text for the catalogue (core cannot import messaging's gettext)."""
    return message


class Refusal(str):
    """Why a pre-checkout query is refused: the English text, with the `template` and `values`
    it was made from, so the bot can say it in the payer's language."""

    template: str
    values: dict[str, str | int]

    def __new__(cls, template: str, **values: str | int) -> Refusal:
        text = super().__new__(cls, template.format(**values))
        text.template, text.values = template, values
        return text


@dataclass(frozen=True)
class Order:
    tier: Tier
    user_id: int


def plans_for_sale(tiers: Mapping[Tier, TierLimits]) -> dict[Tier, int]:
    """Tier -> Stars per 30 days, cheapest first; a price of 0 is not for sale."""
    priced = {t: limits.stars_per_month for t, limits in tiers.items() if limits.stars_per_month}
    return dict(sorted(priced.items(), key=lambda item: item[1]))


def order_payload(tier: Tier, user_id: int) -> str:
    return f"{_PREFIX}:{tier.value}:{user_id}"


def parse_order(payload: str) -> Order | None:
    """The order an invoice payload names, or None for a payload that is not ours."""
    prefix, _, rest = payload.partition(":")
    tier_name, _, user = rest.partition(":")
    if prefix != _PREFIX or tier_name not in Tier.__members__.values() or not user.isdigit():
        return None
    return Order(Tier(tier_name), int(user))


def check_order(
    tiers: Mapping[Tier, TierLimits],
    payload: str,
    *,
    currency: str,
    total_amount: int,
    payer_id: int,
) -> Order | str:
    """The order if the payment matches it, else why not (the text the payer is shown)."""
    order = parse_order(payload)
    if order is None or order.user_id != payer_id:
        return Refusal(N_("This order is not valid. Open /subscription and press Buy again."))
    price = plans_for_sale(tiers).get(order.tier)
    if price is None:
        return Refusal(
            N_("{plan} is not for sale any more. See /subscription."), plan=order.tier.label
        )
    if currency != STARS_CURRENCY or total_amount != price:
        return Refusal(
            N_("The price of {plan} is now {price} Stars. Open /subscription and press Buy again."),
            plan=order.tier.label,
            price=price,
        )
    return order
