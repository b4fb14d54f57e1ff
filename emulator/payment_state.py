"""What the emulator remembers of a bot's Stars payments (the methods: `emulator.payments`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field


@dataclass
class Invoice:
    slug: str
    title: str
    description: str
    payload: str
    amount: int  # whole Stars
    subscription_period: int | None

    @property
    def link(self) -> str:
        return f"https://t.me/${self.slug}"


@dataclass
class PreCheckout:
    """A pre_checkout_query the bot must answer; `ok` is None until it does."""

    id: str
    user_id: int
    invoice: Invoice
    total_amount: int
    payload: str
    ok: bool | None = None
    error_message: str | None = None


@dataclass
class Charge:
    """One successful payment; a subscription's charges share `subscription` (its first)."""

    id: str
    user_id: int
    invoice: Invoice
    amount: int
    subscription: str | None  # the first charge's id, for a subscription's payments
    expires_at: int | None  # subscription_expiration_date
    refunded: bool = False
    canceled: bool = False  # the subscription will not renew (first charge only)


@dataclass
class Payments:
    """One bot's invoices, pending pre-checkout queries and charges."""

    invoices: dict[str, Invoice] = field(default_factory=dict)
    pre_checkouts: dict[str, PreCheckout] = field(default_factory=dict)
    charges: dict[str, Charge] = field(default_factory=dict)

    def invoice_by_link(self, link: str) -> Invoice | None:
        slug = link.rsplit("$", 1)[-1] if "$" in link else link
        return self.invoices.get(slug)


def new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)
