"""The watchlist as Redis holds it (issue 15): stored and read back by the ProfileStore, an old
profile hash without it still loads (mode off, empty list), and /why's `why` explains a pair
left out by "only these pairs" from the stored state."""

from __future__ import annotations

from core.clock import ManualClock
from core.models import Opportunity, OpportunityType
from core.services import Services
from core.store import keys
from core.store.client import answer
from core.why import why
from tests.core.distribution.factories import opportunity


def _opportunity(now: float, symbol: str) -> Opportunity:
    return opportunity(
        "w1", now=now, symbol=symbol, type=OpportunityType.FUNDING, detected_at=now - 3_600
    )


async def test_an_old_profile_without_a_watchlist_loads_with_the_mode_off(
    services: Services,
) -> None:
    old = {"tier": "basic", "muted_pairs": "BTC/USDT"}  # as stored before the watchlist
    await answer(services.redis.hset(keys.user(7), mapping=old))
    prefs = (await services.profiles.get(7)).preferences
    assert prefs.watchlist == frozenset() and prefs.watch_only is False
    assert prefs.muted_pairs == {"BTC/USDT"}


async def test_why_names_the_watchlist_from_the_stored_profile(
    services: Services, clock: ManualClock
) -> None:
    now = clock.now()
    await services.profiles.ensure(1, "Ann")
    await services.sessions.start(1)
    await services.profiles.change_member(1, "watchlist", "ETH/USDT", "add")
    saved = await services.profiles.update(1, watch_only=True)
    assert saved == {"watch_only": "1"}
    prefs = (await services.profiles.get(1)).preferences
    assert prefs.watchlist == {"ETH/USDT"} and prefs.watch_only
    args = (services.sessions.store, services.profiles, services.quota, services.settings, 1)
    off_list = await why(*args, _opportunity(now, "BTC/USDT"), now)
    assert (off_list.eligible, off_list.reason) == (False, "L3:not_watched")
    assert "not on the watchlist" in off_list.detail
    on_list = await why(*args, _opportunity(now, "ETH/USDT"), now)
    assert on_list.reason != "L3:not_watched"
