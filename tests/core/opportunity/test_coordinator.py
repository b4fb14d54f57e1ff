"""PairCoordinatorLogic: opening, dedup, updates, closing, TTL, staleness, snapshot/restore,
and a long simulated run."""

from __future__ import annotations

import collections
import json
from typing import Any

import pytest

from core.market import ExchangeInfo, MarketSimSettings, OrderBook, SimulatedMarket
from core.models import Opportunity, OpportunityType, Priority
from core.opportunity import (
    CoordinatorOutput,
    DetectionSettings,
    EngineSettings,
    PairCoordinatorLogic,
    ValidationLevel,
    ValidationSettings,
    episode_id,
    technical_hosts,
)
from tests.core.opportunity.helpers import T0, level_book

EX = {"a": ExchangeInfo("a", 0.0005), "b": ExchangeInfo("b", 0.0005)}
SETTINGS = EngineSettings(validation=ValidationSettings(max_volatility_pct=1.0))


def tick(
    coord: PairCoordinatorLogic,
    now: float,
    mid_a: float = 100.0,
    mid_b: float = 100.0,
    *,
    only: str | None = None,
) -> CoordinatorOutput:
    books: list[OrderBook] = [
        level_book("a", mid_a, ts=now),
        level_book("b", mid_b, ts=now),
    ]
    return coord.on_updates([b for b in books if only is None or b.exchange == only], now)


def warm(settings: EngineSettings = SETTINGS) -> PairCoordinatorLogic:
    coord = PairCoordinatorLogic(("b", "a"), EX, settings)
    for i in range(12):
        out = tick(coord, T0 + i)
        assert not out
    return coord


def test_a_spread_above_threshold_opens_a_fully_filled_opportunity() -> None:
    coord = warm()
    now = T0 + 12
    out = tick(coord, now, mid_b=100.5)
    assert len(out.opened) == 1
    opp = out.opened[0]
    assert opp.type is OpportunityType.ARBITRAGE
    assert (opp.buy_exchange, opp.sell_exchange, opp.symbol) == ("a", "b", "BTC/USDT")
    assert opp.buy_price == pytest.approx(100.01)
    assert opp.sell_price == pytest.approx(100.49)
    assert opp.net_spread_pct == pytest.approx(0.48 / 100.01 * 100 - 0.1)
    assert opp.confidence == pytest.approx(0.70)  # cold start: the documented prior
    assert opp.priority is Priority.LOW
    assert opp.expected_profit_pct == pytest.approx(opp.net_spread_pct * 0.70)
    assert (opp.detected_at, opp.updated_at, opp.expires_at) == (now, now, now + 900)
    assert opp.opportunity_id == episode_id("arbitrage|BTC/USDT|a|b", now)
    assert opp.position_usd_low == 1_000 and opp.position_usd_high == 20_000
    assert opp.recommended_position_usd == opp.position_usd_medium == 5_000
    assert [(r.level, r.passed) for r in out.records] == [
        (ValidationLevel.MARKET, True),
        (ValidationLevel.TECHNICAL, True),
        (ValidationLevel.SCORING, True),
    ]
    assert {r.opportunity_id for r in out.records} == {opp.opportunity_id}


def test_seeing_the_same_opportunity_again_updates_it_instead_of_duplicating() -> None:
    coord = warm()
    first = tick(coord, T0 + 12, mid_b=100.5).opened[0]
    same = tick(coord, T0 + 13, mid_b=100.5)
    assert not same.opened
    assert not same.updated  # nothing moved
    assert not same.records
    moved = tick(coord, T0 + 14, mid_b=100.6)
    assert not moved.opened
    assert len(moved.updated) == 1
    upd = moved.updated[0]
    assert upd.opportunity_id == first.opportunity_id
    assert upd.net_spread_pct > first.net_spread_pct
    assert (upd.detected_at, upd.updated_at, upd.expires_at) == (
        first.detected_at,
        T0 + 14,
        first.expires_at,
    )
    assert len(coord.tracker) == 1


def test_closes_when_the_spread_is_gone_and_records_the_lifetime() -> None:
    coord = warm()
    opp = tick(coord, T0 + 12, mid_b=100.5).opened[0]
    tick(coord, T0 + 13, mid_b=100.5)
    out = tick(coord, T0 + 14)
    assert [c.opportunity_id for c in out.closed] == [opp.opportunity_id]
    assert out.closed[0].closed
    assert out.close_reasons == {opp.opportunity_id: "spread_gone"}
    sample = coord.history.samples()[-1]
    assert (sample.lifetime_s, sample.success) == (2.0, False)  # under 3 s: not executable
    reopened = tick(coord, T0 + 15, mid_b=100.5).opened[0]
    assert reopened.opportunity_id != opp.opportunity_id


def test_closes_when_the_spread_falls_below_the_close_threshold() -> None:
    coord = warm()
    tick(coord, T0 + 12, mid_b=100.5)
    # bid 100.15 vs ask 100.01: net ≈ 0.14 − 0.1 = 0.04 % — still there, but under the close
    # threshold of 0.5 × 0.1 %
    out = tick(coord, T0 + 13, mid_b=100.16)
    assert list(out.close_reasons.values()) == ["spread_below_threshold"]


def test_closes_on_ttl_and_a_persisting_spread_reopens_with_a_new_id() -> None:
    settings = SETTINGS.model_copy(update={"detection": DetectionSettings(ttl_seconds=30)})
    coord = warm(settings)
    first = tick(coord, T0 + 12, mid_b=100.5).opened[0]
    assert first.expires_at == T0 + 42
    for i in range(13, 42):
        assert not tick(coord, T0 + i, mid_b=100.5).closed
    out = tick(coord, T0 + 42, mid_b=100.5)
    assert out.close_reasons == {first.opportunity_id: "ttl"}
    assert len(out.opened) == 1
    assert out.opened[0].opportunity_id != first.opportunity_id
    assert coord.history.samples()[-1].success  # a TTL close counts as having lasted


def test_closes_when_one_side_goes_stale() -> None:
    coord = warm()
    opp = tick(coord, T0 + 12, mid_b=100.5).opened[0]
    for i in range(13, 18):
        assert not tick(coord, T0 + i, only="a").closed
    out = tick(coord, T0 + 18, only="a")  # b's book is now 6 s old (> 5 s)
    assert out.close_reasons == {opp.opportunity_id: "stale_data"}


def test_a_pending_spread_refused_for_the_same_reason_is_logged_once() -> None:
    coord = warm()
    outs = [tick(coord, T0 + 12 + i, mid_b=100.16) for i in range(5)]  # net ≈ 0.04 %
    records = [r for o in outs for r in o.records]
    assert [(r.level, r.reason) for r in records] == [
        (ValidationLevel.MARKET, "spread_below_threshold")
    ]
    assert not any(o.opened for o in outs)


def test_low_confidence_rejects_but_the_episode_still_feeds_history() -> None:
    settings = SETTINGS.model_copy(
        update={"validation": ValidationSettings(max_volatility_pct=1.0, cold_start_prior=0.65)}
    )
    coord = warm(settings)
    out = tick(coord, T0 + 12, mid_b=100.5)
    assert not out.opened
    assert [(r.level, r.passed, r.reason) for r in out.records][-1] == (
        ValidationLevel.SCORING,
        False,
        "low_confidence",
    )
    for i in range(13, 17):
        assert not tick(coord, T0 + i, mid_b=100.5)  # rejected: not re-judged, not re-logged
    tick(coord, T0 + 17)
    assert coord.history.samples()[-1].lifetime_s == 5.0


def test_technical_signals_are_hosted_by_exactly_one_pair() -> None:
    hosts = technical_hosts(["okx", "binance", "kraken", "bybit"])
    assert hosts == {
        "binance": ("binance", "bybit"),
        "bybit": ("bybit", "kraken"),
        "kraken": ("kraken", "okx"),
        "okx": ("binance", "okx"),
    }
    infos = {x: ExchangeInfo(x, 0.001) for x in hosts}
    assert PairCoordinatorLogic(("okx", "binance"), infos).technical_exchanges == ("okx",)
    assert PairCoordinatorLogic(("binance", "kraken"), infos).technical_exchanges == ()
    assert technical_hosts(["a", "b"]) == {"a": ("a", "b"), "b": ("a", "b")}


# ---------------------------------------------------------------- simulated runs


def outputs_as_data(out: CoordinatorOutput) -> dict[str, Any]:
    return {
        "opened": [o.model_dump() for o in out.opened],
        "updated": [o.model_dump() for o in out.updated],
        "closed": [o.model_dump() for o in out.closed],
        "records": [r.to_dict() for r in out.records],
        "reasons": out.close_reasons,
    }


def test_snapshot_to_json_and_restore_continues_identically() -> None:
    """A restarted coordinator (snapshot → JSON → restore) behaves exactly like the original."""
    market = SimulatedMarket(MarketSimSettings(seed=21))
    pair = ("binance", "okx")
    original = PairCoordinatorLogic(pair, market.exchanges)
    batches = [(T0 + i, market.step(T0 + i)) for i in range(900)]
    for now, batch in batches[:600]:
        original.on_updates(batch, now)
    assert len(original.history) > 0 and len(original.tracker) > 0
    blob = json.dumps(original.snapshot())
    restored = PairCoordinatorLogic(pair, market.exchanges)
    restored.restore(json.loads(blob))
    assert restored.snapshot() == original.snapshot()
    produced = 0
    for now, batch in batches[600:]:
        a = outputs_as_data(original.on_updates(batch, now))
        b = outputs_as_data(restored.on_updates(batch, now))
        assert a == b
        produced += len(a["records"]) + len(a["opened"]) + len(a["closed"])
    assert produced > 0
    assert json.dumps(restored.snapshot()) == json.dumps(original.snapshot())


def test_restore_refuses_another_pairs_snapshot() -> None:
    infos = {x: ExchangeInfo(x, 0.001) for x in ("a", "b", "c")}
    snap = PairCoordinatorLogic(("a", "b"), infos).snapshot()
    with pytest.raises(ValueError, match="pair"):
        PairCoordinatorLogic(("a", "c"), infos).restore(snap)


@pytest.fixture(scope="module")
def long_run() -> dict[str, Any]:
    """2,000 simulated seconds through two pair coordinators."""
    market = SimulatedMarket(MarketSimSettings(seed=7))
    coords = [
        PairCoordinatorLogic(p, market.exchanges) for p in (("binance", "bybit"), ("kraken", "okx"))
    ]
    opened: collections.Counter[str] = collections.Counter()
    failed: collections.Counter[tuple[int, str]] = collections.Counter()
    closed: collections.Counter[str] = collections.Counter()
    ids: list[str] = []
    published: list[Opportunity] = []
    for i in range(2_000):
        now = T0 + i
        batch = market.step(now)
        for c in coords:
            out = c.on_updates(batch, now)
            opened.update(o.type.value for o in out.opened)
            ids.extend(o.opportunity_id for o in out.opened)
            published.extend(out.opened)
            failed.update((int(r.level), r.reason) for r in out.records if not r.passed)
            closed.update(out.close_reasons.values())
    return {
        "opened": opened,
        "failed": failed,
        "closed": closed,
        "ids": ids,
        "published": published,
        "trainings": [c.scorer.trainings for c in coords],
    }


def test_long_simulation_publishes_opportunities_of_several_types(long_run: dict[str, Any]) -> None:
    assert long_run["opened"]["arbitrage"] > 10
    assert long_run["opened"]["funding"] > 0
    assert len(set(long_run["ids"])) == len(long_run["ids"])  # no duplicate ids


def test_published_opportunities_carry_fees_per_side_a_funding_schedule_and_no_certainty(
    long_run: dict[str, Any],
) -> None:
    """What the card shows (issue #15) comes from the engine: fees per exchange that add up to
    the total, for funding the 8 h interval, the next funding time and the per-interval rate
    difference, and a confidence strictly between 0 and 1 (clamped to 1-99 %)."""
    published: list[Opportunity] = long_run["published"]
    for o in published:
        assert 0.01 <= o.confidence <= 0.99
        assert o.buy_fees_pct + o.sell_fees_pct == pytest.approx(o.fees_pct)
    funding = [o for o in published if o.type is OpportunityType.FUNDING]
    assert funding
    for o in funding:
        assert o.funding_interval_s == 8 * 3600
        # The rate was published at most one interval before the next funding.
        assert o.detected_at - 8 * 3600 < o.next_funding_ts <= o.detected_at + 8 * 3600
        assert o.next_funding_ts % (8 * 3600) == 0  # the simulator pays on the 8 h grid
        assert o.funding_diff_pct * o.funding_periods == pytest.approx(o.gross_spread_pct)
    others = [o for o in published if o.type is not OpportunityType.FUNDING]
    assert all(o.funding_interval_s == 0 and o.next_funding_ts == 0 for o in others)


def test_long_simulation_refuses_some_at_each_level(long_run: dict[str, Any]) -> None:
    levels = {level for level, _ in long_run["failed"]}
    assert levels == {1, 2, 4}
    reasons = {reason for _, reason in long_run["failed"]}
    assert {"spread_below_threshold", "data_stale", "volatility_out_of_bounds"} <= reasons
    assert "low_confidence" in reasons


def test_long_simulation_closes_for_several_reasons_and_trains_the_model(
    long_run: dict[str, Any],
) -> None:
    assert {"spread_gone", "stale_data"} <= set(long_run["closed"])
    assert all(t > 0 for t in long_run["trainings"])
