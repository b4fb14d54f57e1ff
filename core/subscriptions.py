"""Stars subscriptions in Redis: granting a paid tier once per charge, renewals, cancelling,
lapses and refunds. This store owns `keys.subscription`, `keys.SUBSCRIPTIONS_DUE` and
`keys.PAYMENT_CHARGES`; each change of tier with them is one Lua script.

A tier set by a SuperAdmin (/settier) and a paid tier live in the same profile field. The rule:
a payment grants the tier it bought; the end of a paid plan (lapse or refund) falls back to Free
only when the profile still holds the tier that was paid for, so it never undoes a tier a
SuperAdmin set since.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from core.models import Tier
from core.store import keys
from core.store.client import answer, store_errors
from core.store.scripts import lua_source


class Ended(IntEnum):
    """What ending a subscription did."""

    UNKNOWN_CHARGE = -1
    NOTHING = 0  # no subscription, renewed meanwhile, or already refunded
    FELL_BACK = 1  # the user is on Free now
    KEPT_TIER = 2  # ended; a SuperAdmin had set another tier since, which stays


@dataclass(frozen=True)
class Subscription:
    user_id: int
    tier: Tier
    charge_id: str  # the first payment's telegram_payment_charge_id
    paid_until: float
    canceled: bool


@dataclass(frozen=True)
class Payment:
    """One successful_payment, as the grant records it."""

    charge_id: str
    user_id: int
    tier: Tier
    amount: int
    paid_until: float
    subscription_charge_id: str


@dataclass(frozen=True)
class ChargeRecord:
    user_id: int
    tier: Tier
    amount: int
    subscription_charge_id: str
    refunded: bool


class SubscriptionStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._grant: AsyncScript = redis.register_script(lua_source("payment_grant"))
        self._end: AsyncScript = redis.register_script(lua_source("subscription_end"))

    @staticmethod
    def _tier_sets(first: Tier) -> list[str]:
        return [keys.users_by_tier(first.value)] + [
            keys.users_by_tier(t.value) for t in Tier if t is not first
        ]

    async def grant(self, payment: Payment) -> bool:
        """Grant the paid tier and extend paid_until; False if this charge was seen before."""
        async with store_errors("recording a payment"):
            granted = await self._grant(
                keys=[
                    keys.PAYMENT_CHARGES,
                    keys.subscription(payment.user_id),
                    keys.SUBSCRIPTIONS_DUE,
                    keys.user(payment.user_id),
                    *self._tier_sets(payment.tier),
                ],
                args=[
                    payment.charge_id,
                    payment.user_id,
                    payment.tier.value,
                    payment.amount,
                    repr(float(payment.paid_until)),
                    payment.subscription_charge_id,
                    keys.SESSION_CHANNEL,
                ],
            )
        return bool(granted)

    async def get(self, user_id: int) -> Subscription | None:
        async with store_errors("reading a subscription"):
            raw = await answer(self._redis.hgetall(keys.subscription(user_id)))
        if not raw or "tier" not in raw:
            return None
        return Subscription(
            user_id=user_id,
            tier=Tier(raw["tier"]),
            charge_id=raw.get("charge", ""),
            paid_until=float(raw.get("paid_until", 0)),
            canceled=raw.get("canceled") == "1",
        )

    async def charge(self, charge_id: str) -> ChargeRecord | None:
        async with store_errors("reading a payment"):
            raw = await answer(self._redis.hget(keys.PAYMENT_CHARGES, charge_id))
        if raw is None:
            return None
        data = json.loads(raw)
        return ChargeRecord(
            user_id=int(data["user"]),
            tier=Tier(data["tier"]),
            amount=int(data["amount"]),
            subscription_charge_id=str(data["subscription"]),
            refunded=bool(data["refunded"]),
        )

    async def mark_canceled(self, user_id: int) -> None:
        """The user cancelled: no renewal; the tier stays until paid_until (single-key write)."""
        async with store_errors("cancelling a subscription"):
            await answer(self._redis.hset(keys.subscription(user_id), "canceled", "1"))

    async def lapsed(self, now: float, limit: int) -> list[int]:
        """Users whose paid period ended by `now`, oldest first, at most `limit`."""
        async with store_errors("reading lapsed subscriptions"):
            members = await self._redis.zrangebyscore(
                keys.SUBSCRIPTIONS_DUE, "-inf", now, start=0, num=limit
            )
        return [int(m) for m in members]

    async def _call_end(
        self, user_id: int, now: float, charge_id: str
    ) -> tuple[Ended, Tier | None]:
        async with store_errors("ending a subscription"):
            outcome, tier = await self._end(
                keys=[
                    keys.PAYMENT_CHARGES,
                    keys.subscription(user_id),
                    keys.SUBSCRIPTIONS_DUE,
                    keys.user(user_id),
                    *self._tier_sets(Tier.FREE),
                ],
                args=[user_id, repr(float(now)), charge_id, keys.SESSION_CHANNEL],
            )
        return Ended(int(outcome)), (Tier(tier) if tier else None)

    async def lapse(self, user_id: int, now: float) -> tuple[Ended, Tier | None]:
        """End the subscription if its paid period is over (not if it was renewed meanwhile)."""
        return await self._call_end(user_id, now, "")

    async def refund(self, user_id: int, charge_id: str, now: float) -> tuple[Ended, Tier | None]:
        """Record a refund of `charge_id` (once); a refund of the current subscription's payment
        ends it at once."""
        return await self._call_end(user_id, now, charge_id)
