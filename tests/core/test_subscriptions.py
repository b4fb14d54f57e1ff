"""The Stars subscription store on real Redis: a charge grants once, paid_until only grows,
lapses and refunds fall back to Free only from the paid tier, and orders are checked."""

from __future__ import annotations

from typing import Any

from core.models import Tier
from core.plans import check_order, order_payload, plans_for_sale
from core.profiles import ProfileStore
from core.settings import Settings
from core.store import keys
from core.store.scripts import Scripts
from core.subscriptions import Ended, Payment, SubscriptionStore

UID = 77


def _payment(charge: str, until: float, tier: Tier = Tier.PREMIUM, first: str = "c1") -> Payment:
    return Payment(charge, UID, tier, 3800, until, first)


async def test_a_charge_grants_once_and_paid_until_only_grows(redis: Any) -> None:
    """The same charge id twice changes nothing; an older renewal delivered late does not
    shorten paid_until; the tier sets follow the profile."""
    store = SubscriptionStore(redis)
    assert await store.grant(_payment("c1", 2000.0))
    assert not await store.grant(_payment("c1", 9000.0))
    assert await store.grant(_payment("c3", 5000.0))
    assert await store.grant(_payment("c2", 3000.0))  # late, out of order
    sub = await store.get(UID)
    assert sub is not None and sub.paid_until == 5000.0 and sub.charge_id == "c1"
    assert await redis.hget(keys.user(UID), "tier") == "premium"
    assert await redis.sismember(keys.users_by_tier("premium"), UID)
    record = await store.charge("c2")
    assert record is not None and record.subscription_charge_id == "c1" and not record.refunded


async def test_lapse_waits_for_paid_until_and_spares_an_admin_tier(
    redis: Any, settings: Settings
) -> None:
    """Not before paid_until; after it, Free, once; a tier set since by an admin is kept."""
    store = SubscriptionStore(redis)
    profiles = ProfileStore(redis, Scripts(redis), frozenset())
    await store.grant(_payment("c1", 2000.0))
    assert await store.lapsed(1999.0, 10) == []
    assert await store.lapse(UID, 1999.0) == (Ended.NOTHING, Tier.PREMIUM)
    assert await store.lapsed(2000.0, 10) == [UID]
    assert await store.lapse(UID, 2000.0) == (Ended.FELL_BACK, Tier.PREMIUM)
    assert (await profiles.get(UID)).tier is Tier.FREE
    assert await store.lapse(UID, 2000.0) == (Ended.NOTHING, None)
    assert await store.get(UID) is None
    await store.grant(_payment("c9", 4000.0, first="c9"))
    await profiles.set_tier(UID, Tier.ENTERPRISE)
    assert await store.lapse(UID, 4001.0) == (Ended.KEPT_TIER, Tier.PREMIUM)
    assert (await profiles.get(UID)).tier is Tier.ENTERPRISE


async def test_refunds_are_recorded_once(redis: Any) -> None:
    """Unknown or another user's charge: UNKNOWN_CHARGE; the current subscription's charge:
    Free at once; again: NOTHING."""
    store = SubscriptionStore(redis)
    await store.grant(_payment("c1", 2000.0))
    assert (await store.refund(UID, "nope", 0))[0] is Ended.UNKNOWN_CHARGE
    assert (await store.refund(UID + 1, "c1", 0))[0] is Ended.UNKNOWN_CHARGE
    assert await store.refund(UID, "c1", 0) == (Ended.FELL_BACK, Tier.PREMIUM)
    assert await store.refund(UID, "c1", 0) == (Ended.NOTHING, Tier.PREMIUM)
    record = await store.charge("c1")
    assert record is not None and record.refunded


def test_an_order_passes_only_at_its_price_for_its_payer(settings: Settings) -> None:
    """The payload names the plan and payer; a wrong amount, currency, payer or a plan not for
    sale is refused with a reason."""
    price = plans_for_sale(settings.tiers)[Tier.PREMIUM]
    payload = order_payload(Tier.PREMIUM, UID)
    ok = check_order(settings.tiers, payload, currency="XTR", total_amount=price, payer_id=UID)
    assert not isinstance(ok, str) and ok.tier is Tier.PREMIUM
    for currency, amount, payer, data in (
        ("XTR", price - 1, UID, payload),
        ("USD", price, UID, payload),
        ("XTR", price, UID + 1, payload),
        ("XTR", 0, UID, order_payload(Tier.FREE, UID)),
        ("XTR", price, UID, "garbage"),
    ):
        verdict = check_order(
            settings.tiers, data, currency=currency, total_amount=amount, payer_id=payer
        )
        assert isinstance(verdict, str) and verdict
    assert Tier.FREE not in plans_for_sale(settings.tiers)
