"""`PairCoordinatorLogic`: the plain-class core of one exchange pair's opportunity coordinator.

One instance per unordered exchange pair (A, B). It keeps the latest books, funding rates and
mid/volume series of A and B, detects ARBITRAGE and FUNDING candidates in both directions, and
TECHNICAL candidates for the exchanges it hosts; it runs Levels 1, 2 and 4, deduplicates and
tracks episodes, and returns what opened, updated and closed with every validation record.

Where TECHNICAL signals live: a technical signal concerns one exchange, so exactly one pair
coordinator must host it. With exchanges sorted by name, exchange X is hosted by the pair
(X, the next exchange in cyclic order) — for binance, bybit, kraken, okx: binance by
(binance, bybit), bybit by (bybit, kraken), kraken by (kraken, okx), okx by (binance, okx).
`technical_hosts(exchanges)` gives the mapping; with two exchanges their single pair hosts both.

Per batch (`on_updates(updates, now)`): ingest the pair's updates; close episodes past their TTL;
for each symbol touched, run the detectors (on all cached books — stale ones included, so
Level 1 can refuse them visibly) and:
- a known LIVE episode whose data went stale closes (`stale_data`); if its net spread fell below
  `close_below_ratio` × the opening threshold it closes (`spread_below_threshold`); otherwise it
  is updated (reported in `updated` when its net spread moved by `update_min_change_pct` or
  its priority changed; confidence is the one computed at publication);
- a REJECTED episode closes on the same rules, silently (its lifetime goes to the history);
- a PENDING episode (or a new one) goes through Level 1; on its first pass it qualifies (its
  features and qualification time are fixed then) and goes on through Levels 2 and 4, to be
  published (`opened`) or refused. `low_success_rate` and `low_confidence` are terminal (the
  episode becomes REJECTED); Level 1 failures, `blackout` and `indicators_not_confirmed` are
  transient (it stays PENDING and is judged again on its next update). A PENDING episode refused
  again at the same level for the same reason is not re-logged;
- episodes of the symbol that the detectors no longer report close (`spread_gone`).
Episodes of symbols not touched close when their books go stale. Then the scorer retrains if
due. All time comes from `now` and the data's own timestamps.

`snapshot()` returns a JSON-compatible dict of the whole state; `restore()` on a fresh instance
with the same settings continues exactly as the original would have.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.market.book_cache import BookCache
from core.market.models import ExchangeInfo, FundingRate, MarketUpdate, OrderBook
from core.models import Opportunity, OpportunityType, RiskTolerance
from core.opportunity.detectors import (
    Candidate,
    detect_arbitrage,
    detect_funding,
    detect_technical,
)
from core.opportunity.history import MarketSeries, SpreadHistory
from core.opportunity.indicators import returns_stdev_pct
from core.opportunity.records import ValidationRecord
from core.opportunity.scoring import (
    ConfidenceScorer,
    expected_profit_pct,
    features,
    priority,
    recommend_position_usd,
)
from core.opportunity.settings import EngineSettings
from core.opportunity.tracker import Episode as _Episode
from core.opportunity.tracker import EpisodeStatus, OpportunityTracker
from core.opportunity.validation import MarketConditions, level1, level2, level4

SNAPSHOT_VERSION = 1
TERMINAL_REASONS = frozenset({"low_success_rate", "low_confidence"})


def pair_key(a: str, b: str) -> tuple[str, str]:
    x, y = sorted((a, b))
    return (x, y)


def technical_hosts(exchanges: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Exchange → the pair whose coordinator evaluates its TECHNICAL signals."""
    names = sorted(set(exchanges))
    if len(names) < 2:
        return {}
    return {x: pair_key(x, names[(i + 1) % len(names)]) for i, x in enumerate(names)}


@dataclass(slots=True)
class CoordinatorOutput:
    opened: list[Opportunity] = field(default_factory=list)
    updated: list[Opportunity] = field(default_factory=list)
    closed: list[Opportunity] = field(default_factory=list)
    records: list[ValidationRecord] = field(default_factory=list)
    close_reasons: dict[str, str] = field(default_factory=dict)  # opportunity_id → reason

    def __bool__(self) -> bool:
        return bool(self.opened or self.updated or self.closed or self.records)


def _funding_fields(c: Candidate) -> dict[str, float | int]:
    """A FUNDING candidate's schedule and per-interval rate difference for its `Opportunity`."""
    if c.type is not OpportunityType.FUNDING:
        return {}
    f = c.figures
    return {
        "funding_interval_s": f.get("funding_interval_s", 0.0),
        "next_funding_ts": f.get("next_funding_ts", 0.0),
        "funding_diff_pct": f.get("funding_diff_8h_pct", 0.0),
        "funding_periods": int(f.get("periods", 0.0)),
    }


class PairCoordinatorLogic:
    def __init__(
        self,
        pair: tuple[str, str],
        exchanges: Mapping[str, ExchangeInfo],
        settings: EngineSettings | None = None,
        *,
        technical_exchanges: Iterable[str] | None = None,
    ) -> None:
        """`exchanges` holds the infos of all exchanges (at least the pair's two)."""
        self.pair = pair_key(*pair)
        missing = [x for x in self.pair if x not in exchanges]
        if missing or self.pair[0] == self.pair[1]:
            raise ValueError(f"bad pair {pair!r} for exchanges {sorted(exchanges)}")
        self.fees = {x: exchanges[x].taker_fee for x in self.pair}
        self.settings = settings or EngineSettings()
        if technical_exchanges is None:
            hosts = technical_hosts(exchanges)
            technical_exchanges = [x for x, p in hosts.items() if p == self.pair]
        self.technical_exchanges = tuple(sorted(set(technical_exchanges) & set(self.pair)))
        v = self.settings.validation
        self.cache = BookCache(max_age_s=v.max_data_age_s, max_latency_ms=v.max_latency_ms)
        self.funding: dict[tuple[str, str], FundingRate] = {}
        self.series: dict[tuple[str, str], MarketSeries] = {}
        self.history = SpreadHistory(
            bucket_edges=v.spread_bucket_edges,
            min_execution_seconds=v.min_execution_seconds,
            per_group=v.history_per_bucket,
            max_samples=max(self.settings.scoring.train_window, v.history_per_bucket),
        )
        self.tracker = OpportunityTracker(self.history, self.settings.detection.ttl_seconds)
        self.scorer = ConfidenceScorer(self.settings.scoring)

    # ---------------------------------------------------------------- ingestion

    def ingest(self, updates: Iterable[MarketUpdate]) -> set[str]:
        """Absorb the pair's updates; returns the symbols touched."""
        touched: set[str] = set()
        window = self.settings.detection.series_window
        for u in updates:
            if u.exchange not in self.fees:
                continue
            if isinstance(u, OrderBook):
                if not u.bids or not u.asks:
                    continue
                self.cache.update(u)
                key = (u.exchange, u.symbol)
                series = self.series.get(key)
                if series is None:
                    series = self.series[key] = MarketSeries(window)
                series.add(u.ts, u.mid, u.volume)
            else:
                old = self.funding.get((u.exchange, u.symbol))
                if old is not None and old.ts > u.ts:
                    continue
                self.funding[(u.exchange, u.symbol)] = u
            touched.add(u.symbol)
        return touched

    # ---------------------------------------------------------------- main step

    def on_updates(self, updates: Iterable[MarketUpdate], now: float) -> CoordinatorOutput:
        out = CoordinatorOutput()
        touched = self.ingest(updates)
        for ep in self.tracker.expired(now):
            self._close(ep, now, "ttl", out)
        for symbol in sorted(touched):
            self._evaluate_symbol(symbol, now, out)
        for ep in self.tracker.episodes():
            if ep.symbol not in touched and self._stale_reason(ep.candidate, now) is not None:
                self._close(ep, now, "stale_data", out)
        self.scorer.maybe_retrain(self.history)
        return out

    def detect(self, symbol: str) -> dict[str, Candidate]:
        """Every candidate of `symbol` on this pair, by key (net spread above the floor)."""
        d = self.settings.detection
        a, b = self.pair
        book_a, book_b = self.cache.get(a, symbol), self.cache.get(b, symbol)
        found: list[Candidate | None] = []
        if book_a is not None and book_b is not None:
            for buy, sell in ((book_a, book_b), (book_b, book_a)):
                found.append(
                    detect_arbitrage(
                        buy,
                        sell,
                        self.fees[buy.exchange],
                        self.fees[sell.exchange],
                        d.target_position_usd,
                    )
                )
            fa, fb = self.funding.get((a, symbol)), self.funding.get((b, symbol))
            if fa is not None and fb is not None:
                for (lr, lb), (sr, sb) in (
                    ((fa, book_a), (fb, book_b)),
                    ((fb, book_b), (fa, book_a)),
                ):
                    found.append(
                        detect_funding(
                            lr,
                            sr,
                            lb,
                            sb,
                            self.fees[lr.exchange],
                            self.fees[sr.exchange],
                            periods=d.funding_holding_periods,
                            position_usd=d.target_position_usd,
                        )
                    )
        for x in self.technical_exchanges:
            book = self.cache.get(x, symbol)
            series = self.series.get((x, symbol))
            if book is not None and series is not None:
                found.append(
                    detect_technical(book, list(series.mids), list(series.volumes), self.fees[x], d)
                )
        return {
            c.key: c for c in found if c is not None and c.net_spread_pct > d.min_detect_net_pct
        }

    # ---------------------------------------------------------------- helpers

    def _stale_reason(self, c: Candidate, now: float) -> str | None:
        for x in c.exchanges:
            reason = self.cache.staleness(x, c.symbol, now)
            if reason is not None:
                return reason
        return None

    def conditions(self, c: Candidate, now: float) -> MarketConditions:
        v = self.settings.validation
        ages: list[float] = []
        latencies: list[float] = []
        vols: list[float] = []
        vol_known = True
        for x in c.exchanges:
            book = self.cache.get(x, c.symbol)
            if book is not None:
                ages.append(now - book.ts)
                latencies.append(book.latency_ms)
            series = self.series.get((x, c.symbol))
            vol = None
            if series is not None and len(series.mids) >= v.min_volatility_samples:
                vol = returns_stdev_pct(list(series.mids), v.volatility_window)
            if vol is None:
                vol_known = False
            else:
                vols.append(vol)
        return MarketConditions(
            stale_reason=self._stale_reason(c, now),
            data_age_s=max(ages, default=float("inf")),
            latency_ms=max(latencies, default=0.0),
            volatility_pct=max(vols) if vol_known and vols else None,
        )

    def _close_threshold(self, kind: OpportunityType) -> float:
        return self.settings.validation.min_spread(kind) * self.settings.detection.close_below_ratio

    def _close(self, ep: _Episode, now: float, reason: str, out: CoordinatorOutput) -> None:
        closed = self.tracker.close(ep, now, reason)
        if closed is not None:
            out.closed.append(closed)
            out.close_reasons[closed.opportunity_id] = reason

    def _evaluate_symbol(self, symbol: str, now: float, out: CoordinatorOutput) -> None:
        candidates = self.detect(symbol)
        for ep in self.tracker.episodes(symbol):
            if ep.key not in candidates:
                stale = self._stale_reason(ep.candidate, now)
                self._close(ep, now, "spread_gone" if stale is None else "stale_data", out)
        for key in sorted(candidates):
            self._handle(candidates[key], now, out)

    def _handle(self, c: Candidate, now: float, out: CoordinatorOutput) -> None:
        ep, _ = self.tracker.observe(c, now)
        if ep.status is not EpisodeStatus.PENDING:  # already judged: update or close
            if self._stale_reason(c, now) is not None:
                self._close(ep, now, "stale_data", out)
            elif c.net_spread_pct < self._close_threshold(c.type):
                self._close(ep, now, "spread_below_threshold", out)
            elif ep.status is EpisodeStatus.LIVE and ep.opportunity is not None:
                updated = self._refresh(ep.opportunity, c, now)
                if updated is not None:
                    self.tracker.set_opportunity(ep, updated)
                    out.updated.append(updated)
            return

        cond = self.conditions(c, now)
        records: list[ValidationRecord] = []
        verdict = self._judge(ep, c, cond, now, records)
        signature = f"{records[-1].level}:{records[-1].reason}"
        if verdict is None and signature == ep.last_reason:
            return  # still pending for the same reason: not re-logged
        ep.last_reason = signature
        out.records.extend(records)
        if verdict is not None:
            self.tracker.publish(ep, verdict)
            out.opened.append(verdict)

    def _judge(
        self,
        ep: _Episode,
        c: Candidate,
        cond: MarketConditions,
        now: float,
        records: list[ValidationRecord],
    ) -> Opportunity | None:
        """Run the levels on a pending episode; the opportunity to publish, if any.

        Terminal refusals (`low_success_rate`, `low_confidence`) mark the episode REJECTED;
        transient ones (Level 1, `blackout`, `indicators_not_confirmed`) leave it PENDING, to be
        judged again on its next update.
        """
        v = self.settings.validation
        r1 = level1(c, ep.id, cond, now, v)
        records.append(r1)
        if not r1.passed:
            return None
        if ep.qualified_at is None:
            feats = features(
                c,
                volatility_pct=cond.volatility_pct or 0.0,
                age_s=now - ep.first_seen,
                latency_ms=cond.latency_ms,
                now=now,
            )
            self.tracker.qualify(ep, now, feats)
        r2, est = level2(c, ep.id, self.history, now, v)
        records.append(r2)
        if not r2.passed:
            if r2.reason in TERMINAL_REASONS:
                self.tracker.reject(ep)
            return None
        sc = self.settings.scoring
        r4, confidence = level4(c, ep.id, ep.features, self.scorer, est.rate, now, sc)
        records.append(r4)
        if not r4.passed:
            self.tracker.reject(ep)
            return None
        return self._build(ep.id, c, confidence, now)

    def _build(self, opp_id: str, c: Candidate, confidence: float, now: float) -> Opportunity:
        sc = self.settings.scoring
        profit = expected_profit_pct(c.net_spread_pct, confidence)
        depth = c.available_depth_usd
        sizes = {r: recommend_position_usd(r, depth, sc) for r in RiskTolerance}
        return Opportunity(
            opportunity_id=opp_id,
            type=c.type,
            symbol=c.symbol,
            buy_exchange=c.buy_exchange,
            sell_exchange=c.sell_exchange,
            buy_price=c.buy_price,
            sell_price=c.sell_price,
            net_spread_pct=c.net_spread_pct,
            expected_profit_pct=profit,
            confidence=confidence,
            priority=priority(profit, confidence, sc),
            detected_at=now,
            updated_at=now,
            expires_at=now + self.settings.detection.ttl_seconds,
            min_position_usd=self.settings.validation.min_position_usd,
            recommended_position_usd=sizes[RiskTolerance.MEDIUM],
            gross_spread_pct=c.gross_spread_pct,
            fees_pct=c.fees_pct,
            slippage_pct=c.slippage_pct,
            available_depth_usd=depth,
            position_usd_low=sizes[RiskTolerance.LOW],
            position_usd_medium=sizes[RiskTolerance.MEDIUM],
            position_usd_high=sizes[RiskTolerance.HIGH],
            buy_fees_pct=c.figures.get("buy_fees_pct", 0.0),
            sell_fees_pct=c.figures.get("sell_fees_pct", 0.0),
            **_funding_fields(c),
        )

    def _refresh(self, opp: Opportunity, c: Candidate, now: float) -> Opportunity | None:
        """The opportunity with `c`'s figures (confidence kept), or None when the net spread
        moved by less than `update_min_change_pct` and the priority is unchanged."""
        fresh = self._build(opp.opportunity_id, c, opp.confidence, now)
        moved = abs(fresh.net_spread_pct - opp.net_spread_pct)
        if moved < self.settings.detection.update_min_change_pct and fresh.priority == opp.priority:
            return None
        return fresh.model_copy(
            update={"detected_at": opp.detected_at, "expires_at": opp.expires_at}
        )

    # ---------------------------------------------------------------- persistence

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": SNAPSHOT_VERSION,
            "pair": list(self.pair),
            "books": self.cache.snapshot(),
            "funding": [f.to_dict() for _, f in sorted(self.funding.items())],
            "series": [[x, s, self.series[(x, s)].snapshot()] for x, s in sorted(self.series)],
            "tracker": self.tracker.snapshot(),
            "history": self.history.snapshot(),
            "scorer": self.scorer.snapshot(),
        }

    def restore(self, data: dict[str, Any]) -> None:
        if data.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported snapshot version {data.get('version')!r}")
        if tuple(data["pair"]) != self.pair:
            raise ValueError(f"snapshot of pair {data['pair']} restored into {self.pair}")
        self.cache.restore(data["books"])
        self.funding = {}
        for item in data["funding"]:
            fr = FundingRate(
                exchange=item["exchange"],
                symbol=item["symbol"],
                rate=float(item["rate"]),
                next_funding_ts=float(item["next_funding_ts"]),
                ts=float(item["ts"]),
            )
            self.funding[(fr.exchange, fr.symbol)] = fr
        window = self.settings.detection.series_window
        self.series = {
            (x, s): MarketSeries.from_snapshot(window, payload) for x, s, payload in data["series"]
        }
        self.tracker.restore(data["tracker"])
        self.history.restore(data["history"])
        self.scorer.restore(data["scorer"])
