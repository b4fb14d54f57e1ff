"""Plans paid in Telegram Stars, end to end: the real dispatcher over HTTP against the emulator,
which plays the payer, on real Redis with a manual clock."""

from __future__ import annotations

from typing import Any

from core.events import EventName, MemoryEventLog
from core.models import Tier
from core.subscriptions import SubscriptionStore
from messaging.outbox.store import Outbox
from messaging.outbox.subscription_expiry import SubscriptionExpiry
from messaging.ui.callbacks import PlanCB
from tests.bot.conftest import BotEnv
from tests.bot.outbox_delivery import deliver

USER = 4242
ADMIN = 999  # a SuperAdmin in the suite's settings
MONTH = 2_592_000


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    markup = message.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


async def _buy(botenv: BotEnv, user: int, tier: Tier) -> str:
    """/subscription, then the plan's Buy button; returns the invoice link the bot offered."""
    await botenv.send(user, "/subscription")
    screen = await botenv.last(user)
    data = PlanCB(action="buy", tier=tier.value).pack()
    assert data in [b.get("callback_data") for b in _buttons(screen)], screen
    await botenv.press(user, screen["message_id"], data)
    invoice = await botenv.last(user)
    (pay,) = _buttons(invoice)
    link: str = pay["url"]
    assert link.startswith("https://t.me/$")
    return link


async def _pay(botenv: BotEnv, user: int, link: str, **extra: Any) -> dict[str, Any]:
    return await botenv._post(
        f"/emulator/users/{user}/pay", {"link": link, "wait": True, "timeout": 10, **extra}
    )


async def _premium(botenv: BotEnv, user: int = USER) -> dict[str, Any]:
    await botenv.send(user, "/start")
    link = await _buy(botenv, user, Tier.PREMIUM)
    paid = await _pay(botenv, user, link)
    assert paid["status"] == "paid" and paid["delivered"], paid
    return paid


async def _tier(botenv: BotEnv, user: int) -> Tier:
    return (await botenv.services.profiles.get(user)).tier


def _events(botenv: BotEnv) -> MemoryEventLog:
    events = botenv.services.events
    assert isinstance(events, MemoryEventLog)
    return events


async def test_a_free_user_buys_premium_with_stars(botenv: BotEnv) -> None:
    """Free -> /subscription -> Buy Premium -> the emulator pays -> the bot answers the
    pre-checkout ok -> successful_payment -> Premium, and the user is told; every step is an
    event and the price is the tier's Stars price."""
    assert await _tier(botenv, USER) in (Tier.FREE,)
    paid = await _premium(botenv)
    assert paid["total_amount"] == botenv.services.settings.tiers[Tier.PREMIUM].stars_per_month
    assert await _tier(botenv, USER) is Tier.PREMIUM
    assert "you are on <b>Premium</b> now" in (await botenv.last(USER))["text"]
    events = _events(botenv)
    (pre,) = events.named(EventName.PAYMENT_PRE_CHECKOUT)
    assert pre.attrs["ok"] is True
    (succeeded,) = events.named(EventName.PAYMENT_SUCCEEDED)
    assert succeeded.attrs["charge_id"] == paid["telegram_payment_charge_id"]
    assert succeeded.attrs["tier"] == "premium" and succeeded.attrs["recurring"] is False
    assert len(events.named(EventName.PAYMENT_INVOICE)) == 1
    sub = await SubscriptionStore(botenv.services.redis).get(USER)
    assert sub is not None and sub.paid_until == paid["subscription_expiration_date"]


async def test_the_same_payment_delivered_twice_is_granted_once(botenv: BotEnv) -> None:
    """A successful_payment with a charge id already granted (a redelivery under a new update
    id) changes nothing and tells the user nothing."""
    paid = await _premium(botenv)
    sent = len(await botenv.messages(USER))
    message = {
        "message_id": 9999,
        "from": {"id": USER, "is_bot": False, "first_name": "Ann"},
        "chat": {"id": USER, "type": "private", "first_name": "Ann"},
        "date": 1,
        "successful_payment": {
            "currency": "XTR",
            "total_amount": paid["total_amount"],
            "invoice_payload": f"plan:premium:{USER}",
            "telegram_payment_charge_id": paid["telegram_payment_charge_id"],
            "provider_payment_charge_id": "",
            "subscription_expiration_date": paid["subscription_expiration_date"] + MONTH,
            "is_recurring": True,
        },
    }
    async with botenv.http.post(
        f"{botenv.url}/emulator/updates?wait=true", json={"message": message}
    ) as resp:
        assert resp.status == 200 and (await resp.json())["delivered"]
    assert len(await botenv.messages(USER)) == sent
    events = _events(botenv)
    assert len(events.named(EventName.PAYMENT_SUCCEEDED)) == 1
    assert len(events.named(EventName.PAYMENT_DUPLICATE)) == 1
    sub = await SubscriptionStore(botenv.services.redis).get(USER)
    assert sub is not None and sub.paid_until == paid["subscription_expiration_date"]


async def test_a_tampered_order_is_refused_at_pre_checkout(botenv: BotEnv) -> None:
    """A pre-checkout whose amount or payload does not match the order is answered ok=false,
    and nothing is charged or granted."""
    await botenv.send(USER, "/start")
    link = await _buy(botenv, USER, Tier.PREMIUM)
    for tamper in (
        {"total_amount": 1},
        {"invoice_payload": "plan:enterprise:" + str(USER)},
        {"invoice_payload": "plan:premium:1"},
    ):
        answer = await _pay(botenv, USER, link, tamper=tamper)
        assert answer["status"] == "declined", (tamper, answer)
        assert answer["error_message"]
    assert await _tier(botenv, USER) is Tier.FREE
    checks = _events(botenv).named(EventName.PAYMENT_PRE_CHECKOUT)
    assert [e.attrs["ok"] for e in checks] == [False, False, False]


async def test_a_renewal_extends_paid_until(botenv: BotEnv) -> None:
    """The next period's payment (is_recurring, not first) extends paid_until by 30 days, keeps
    the tier, and tells the user, even though their session lapsed meanwhile."""
    paid = await _premium(botenv)
    botenv.clock.advance(days=botenv.services.settings.session.ttl_seconds / 86_400 + 1)
    renewed = await botenv._post(
        f"/emulator/users/{USER}/subscription/renew",
        {"charge_id": paid["telegram_payment_charge_id"], "wait": True},
    )
    assert renewed["delivered"]
    sub = await SubscriptionStore(botenv.services.redis).get(USER)
    assert sub is not None
    assert sub.paid_until == paid["subscription_expiration_date"] + MONTH
    assert sub.charge_id == paid["telegram_payment_charge_id"]
    assert "Premium renewed" in (await botenv.last(USER))["text"]
    (_, renewal) = _events(botenv).named(EventName.PAYMENT_SUCCEEDED)
    assert renewal.attrs["recurring"] is True


def _expiry(botenv: BotEnv) -> tuple[SubscriptionExpiry, Outbox]:
    services = botenv.services
    outbox = Outbox(
        services.redis,
        services.settings.distribution.delivery,
        events=services.events,
        clock=services.clock,
    )
    store = SubscriptionStore(services.redis)
    expiry = SubscriptionExpiry(
        store, outbox, services.settings.payments, services.events, services.clock
    )
    return expiry, outbox


async def test_a_lapsed_subscription_falls_back_to_free_with_a_message(botenv: BotEnv) -> None:
    """Before paid_until nothing happens; once it passed without a renewal the user is on Free
    and told so, once."""
    paid = await _premium(botenv)
    expiry, outbox = _expiry(botenv)
    botenv.clock.set(paid["subscription_expiration_date"] - 1)
    assert await expiry.run_once() == 0
    assert await _tier(botenv, USER) is Tier.PREMIUM
    botenv.clock.set(paid["subscription_expiration_date"] + 1)
    assert await expiry.run_once() == 1
    assert await expiry.run_once() == 0
    assert await _tier(botenv, USER) is Tier.FREE
    (delivered,) = await deliver(botenv, outbox)
    assert "you are on Free now" in delivered[0].text
    (expired,) = _events(botenv).named(EventName.PAYMENT_EXPIRED)
    assert expired.attrs["outcome"] == "fell_back"


async def test_cancel_keeps_the_tier_until_paid_until_then_falls_back(botenv: BotEnv) -> None:
    """Cancel in /subscription calls editUserStarSubscription(is_canceled): no more renewals
    (the emulator refuses one), the tier stays until paid_until, then it is Free."""
    paid = await _premium(botenv)
    await botenv.send(USER, "/subscription")
    screen = await botenv.last(USER)
    cancel = PlanCB(action="cancel").pack()
    assert cancel in [b.get("callback_data") for b in _buttons(screen)]
    await botenv.press(USER, screen["message_id"], cancel)
    assert "Renewal cancelled" in (await botenv.last(USER))["text"]
    async with botenv.http.post(
        f"{botenv.url}/emulator/users/{USER}/subscription/renew",
        json={"charge_id": paid["telegram_payment_charge_id"]},
    ) as resp:
        assert resp.status == 409
    expiry, _ = _expiry(botenv)
    assert await expiry.run_once() == 0
    assert await _tier(botenv, USER) is Tier.PREMIUM
    botenv.clock.set(paid["subscription_expiration_date"] + 1)
    assert await expiry.run_once() == 1
    assert await _tier(botenv, USER) is Tier.FREE


async def test_refund_is_for_superadmins_only(botenv: BotEnv) -> None:
    """/refund from a user is refused and audited; from a SuperAdmin it refunds through
    refundStarPayment, puts the payer back on Free and tells them; a second refund changes
    nothing."""
    paid = await _premium(botenv)
    charge = paid["telegram_payment_charge_id"]
    other = 5151
    await botenv.send(other, "/start")
    await botenv.send(other, f"/refund {USER} {charge}")
    refusals = [
        e
        for e in _events(botenv).named(EventName.ADMIN_ACTION)
        if e.user_id == other and e.attrs.get("allowed") is False
    ]
    assert refusals
    assert await _tier(botenv, USER) is Tier.PREMIUM
    await botenv.send(ADMIN, "/start")
    await botenv.send(ADMIN, f"/refund {USER} {charge}")
    assert "they are on Free now" in (await botenv.last(ADMIN))["text"]
    assert await _tier(botenv, USER) is Tier.FREE
    assert "refunded" in (await botenv.last(USER))["text"]
    await botenv.send(ADMIN, f"/refund {USER} {charge}")
    assert "already refunded" in (await botenv.last(ADMIN))["text"]
    outcomes = [e.attrs["outcome"] for e in _events(botenv).named(EventName.PAYMENT_REFUNDED)]
    assert outcomes == ["fell_back", "nothing"]


async def test_settier_tells_the_user_and_a_lapse_keeps_an_admin_tier(botenv: BotEnv) -> None:
    """/settier tells the user their new plan; a paid plan that lapses after a SuperAdmin set
    another tier keeps the admin's tier."""
    paid = await _premium(botenv)
    await botenv.send(ADMIN, "/start")
    await botenv.send(ADMIN, f"/settier {USER} enterprise")
    assert "changed to <b>Enterprise</b>" in (await botenv.last(USER))["text"]
    expiry, _ = _expiry(botenv)
    botenv.clock.set(paid["subscription_expiration_date"] + 1)
    assert await expiry.run_once() == 0
    assert await _tier(botenv, USER) is Tier.ENTERPRISE
    (expired,) = _events(botenv).named(EventName.PAYMENT_EXPIRED)
    assert expired.attrs["outcome"] == "kept_tier"


async def test_one_renewing_plan_at_a_time(botenv: BotEnv) -> None:
    """While a plan renews, /subscription offers only its Cancel, and paying an older invoice
    for another plan is refused at pre-checkout, so two subscriptions never renew together."""
    await botenv.send(USER, "/start")
    basic_link = await _buy(botenv, USER, Tier.BASIC)
    premium_link = await _buy(botenv, USER, Tier.PREMIUM)
    assert (await _pay(botenv, USER, premium_link))["status"] == "paid"
    await botenv.send(USER, "/subscription")
    labels = [b["text"] for b in _buttons(await botenv.last(USER))]
    assert labels == ["Cancel Premium renewal"]
    declined = await _pay(botenv, USER, basic_link)
    assert declined["status"] == "declined" and "cancel" in declined["error_message"]
    assert await _tier(botenv, USER) is Tier.PREMIUM


async def test_a_purchase_works_with_long_polling(polling_botenv: BotEnv) -> None:
    """getUpdates without allowed_updates gets pre_checkout_query (Telegram's default set) and
    the purchase completes as with the webhook."""
    await _premium(polling_botenv)
    assert await _tier(polling_botenv, USER) is Tier.PREMIUM
