"""`BatchRenderer`: a fan-out renders each distinct text once, and every user still gets exactly
the message `PushOutbox.render` makes for them alone (the oracle: rendering each one directly),
whatever their name, language, tier, time zone, risk or other settings."""

from __future__ import annotations

import itertools
from typing import Any

from core.distribution.settings import DeliverySettings
from core.distribution.user_queue import Outgoing
from core.events import MemoryEventLog
from core.models import (
    Opportunity,
    OpportunityType,
    Preferences,
    Priority,
    RiskTolerance,
    Tier,
    UserProfile,
)
from messaging.outbox.pushes import PushOutbox

NOW = 1_790_000_000.0


def opp(oid: str, priority: Priority, profit: float) -> Opportunity:
    return Opportunity(
        opportunity_id=oid,
        type=OpportunityType.ARBITRAGE,
        symbol="ETH/USDT",
        buy_exchange="binance",
        sell_exchange="okx",
        buy_price=100.0,
        sell_price=100.7,
        net_spread_pct=profit,
        expected_profit_pct=profit,
        confidence=0.7,
        priority=priority,
        detected_at=NOW - 30,
        updated_at=NOW - 5,
        expires_at=NOW + 600,
    )


OPPS = {
    o.opportunity_id: o for o in (opp("h1", Priority.HIGH, 0.9), opp("m1", Priority.MEDIUM, 0.5))
}


def profiles() -> list[UserProfile]:
    names = ["Ann", "", "<b>Bob & co</b>", "Ann"]
    languages = ["", "en", "ru"]
    tiers = [Tier.FREE, Tier.PREMIUM]
    zones = ["UTC", "Asia/Tokyo"]
    risks = [RiskTolerance.LOW, RiskTolerance.HIGH]
    out = []
    for uid, (name, lang, tier, tz, risk) in enumerate(
        itertools.product(names, languages, tiers, zones, risks), start=1
    ):
        prefs = Preferences(
            timezone=tz,
            risk_tolerance=risk,
            dnd_until=NOW + uid,  # differs for everyone, and shows nowhere in a push
            muted_pairs=frozenset({f"P{uid}/USDT"}),
        )
        out.append(
            UserProfile(
                user_id=uid,
                first_name=name,
                tier=tier,
                language=lang,
                preferences=prefs,
                exchanges=frozenset({"binance"}) if uid % 2 else frozenset(),
            )
        )
    return out


def outgoings(uid: int) -> list[Outgoing]:
    return [
        Outgoing(f"{uid}:1:1", uid, "single", ("h1",), Priority.HIGH, NOW, f"{uid}:s"),
        Outgoing(
            f"{uid}:1:2",
            uid,
            "digest",
            ("h1", "m1"),
            Priority.MEDIUM,
            NOW,
            f"{uid}:d",
            updated_ids=("m1",),
            missed=2,
        ),
        Outgoing(f"{uid}:1:3", uid, "away", (), Priority.LOW, NOW, f"{uid}:a", missed=3),
    ]


def test_batch_rendering_gives_each_user_the_message_rendered_for_them_alone(redis: Any) -> None:
    """96 users x 3 kinds of message: each cached message equals a direct render field by
    field (ids, chat, text with the user's escaped name, buttons), with far fewer renders."""
    outbox = PushOutbox(redis, DeliverySettings(), MemoryEventLog())
    render = outbox.batch_renderer(OPPS, NOW)
    calls = 0
    for profile in profiles():
        for o in outgoings(profile.user_id):
            calls += 1
            cached = render(o, profile)
            direct = outbox.render(o, OPPS, profile, NOW)
            assert cached is not None and direct is not None
            assert cached.model_dump() == direct.model_dump(), (profile, o.kind)
    bob = profiles()[48]
    named = render(outgoings(bob.user_id)[0], bob)
    assert named is not None and "&lt;b&gt;Bob &amp; co&lt;/b&gt;" in named.text
    # One text per kind, language, tier, zone, risk and named-or-not: the names, Do Not Disturb,
    # muted pairs and exchanges that differ per user do not split it.
    assert len(render._texts) == 3 * (3 * 2 * 2 * 2 * 2) < calls
