"""What a coordinator remembers: recent mid/volume series, and past spread episodes.

`SpreadHistory` answers Level 2's question "how often did similar spreads last long enough to
execute?" from the coordinator's own past episodes, and feeds Level 4's model.

Similarity: same opportunity type, same symbol, same net-spread bucket (bucket edges are
`ValidationSettings.spread_bucket_edges`, default 0.25 / 0.5 / 1 / 2 %: five buckets).
Success: the episode lasted at least `min_execution_seconds` (default 3 s) from the moment it
qualified (passed Level 1) to the moment it closed; an episode closed by TTL counts as lasting.

Cold start (hierarchical back-off): when the (type, symbol, bucket) group holds fewer than
`min_similar_samples`, the rate of (type, bucket) over all symbols is used; if that is also too
small, the type-wide rate; and with fewer samples still, `cold_start_prior` (0.70: passes
Level 2, and as Level 4's prior passes its 0.70 mark at LOW priority — a fresh deployment
still alerts, cautiously, while the history fills). The record's figures
say which level answered (`rate_level`: 0 exact, 1 type+bucket, 2 type, 3 prior).

Every qualified episode is recorded whether or not it was published, so a strict Level 2 or
Level 4 cannot starve its own evidence.
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass
from typing import Any

from core.models import OpportunityType


class MarketSeries:
    """Rolling (ts, mid, volume) of one (exchange, symbol)."""

    __slots__ = ("mids", "ts", "volumes")

    def __init__(self, window: int) -> None:
        self.ts: deque[float] = deque(maxlen=window)
        self.mids: deque[float] = deque(maxlen=window)
        self.volumes: deque[float] = deque(maxlen=window)

    def add(self, ts: float, mid: float, volume: float) -> None:
        if self.ts and ts <= self.ts[-1]:
            return  # duplicate or out of order
        self.ts.append(ts)
        self.mids.append(mid)
        self.volumes.append(volume)

    def snapshot(self) -> list[list[float]]:
        return [list(self.ts), list(self.mids), list(self.volumes)]

    @classmethod
    def from_snapshot(cls, window: int, data: list[list[float]]) -> MarketSeries:
        series = cls(window)
        series.ts.extend(data[0])
        series.mids.extend(data[1])
        series.volumes.extend(data[2])
        return series


@dataclass(frozen=True, slots=True)
class HistorySample:
    type: OpportunityType
    symbol: str
    bucket: int
    net_spread_pct: float
    lifetime_s: float
    success: bool
    features: tuple[float, ...]
    ended_at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type.value,
            "symbol": self.symbol,
            "bucket": self.bucket,
            "net_spread_pct": self.net_spread_pct,
            "lifetime_s": self.lifetime_s,
            "success": self.success,
            "features": list(self.features),
            "ended_at": self.ended_at,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HistorySample:
        return cls(
            type=OpportunityType(d["type"]),
            symbol=d["symbol"],
            bucket=int(d["bucket"]),
            net_spread_pct=float(d["net_spread_pct"]),
            lifetime_s=float(d["lifetime_s"]),
            success=bool(d["success"]),
            features=tuple(float(x) for x in d["features"]),
            ended_at=float(d["ended_at"]),
        )


@dataclass(frozen=True, slots=True)
class RateEstimate:
    rate: float
    samples: int
    level: int  # 0 (type, symbol, bucket), 1 (type, bucket), 2 (type), 3 prior


GroupKey = tuple[str, ...]


class SpreadHistory:
    def __init__(
        self,
        bucket_edges: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0),
        min_execution_seconds: float = 3.0,
        per_group: int = 200,
        max_samples: int = 5_000,
    ) -> None:
        self.bucket_edges = tuple(bucket_edges)
        self.min_execution_seconds = min_execution_seconds
        self.per_group = per_group
        self._samples: deque[HistorySample] = deque(maxlen=max_samples)
        self._groups: dict[GroupKey, deque[bool]] = {}
        self.total_recorded = 0

    def bucket(self, net_spread_pct: float) -> int:
        return bisect.bisect_right(self.bucket_edges, net_spread_pct)

    def _keys(self, kind: OpportunityType, symbol: str, bucket: int) -> list[GroupKey]:
        return [(kind.value, symbol, str(bucket)), (kind.value, str(bucket)), (kind.value,)]

    def record(
        self,
        kind: OpportunityType,
        symbol: str,
        net_spread_pct: float,
        lifetime_s: float,
        features: tuple[float, ...],
        ended_at: float,
        *,
        lasted: bool | None = None,
    ) -> HistorySample:
        """Record a closed episode; `lasted` overrides the lifetime test (TTL closes)."""
        success = lifetime_s >= self.min_execution_seconds if lasted is None else lasted
        sample = HistorySample(
            type=kind,
            symbol=symbol,
            bucket=self.bucket(net_spread_pct),
            net_spread_pct=net_spread_pct,
            lifetime_s=lifetime_s,
            success=success,
            features=features,
            ended_at=ended_at,
        )
        self._add(sample)
        self.total_recorded += 1
        return sample

    def _add(self, sample: HistorySample) -> None:
        self._samples.append(sample)
        for key in self._keys(sample.type, sample.symbol, sample.bucket):
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = deque(maxlen=self.per_group)
            group.append(sample.success)

    def success_rate(
        self,
        kind: OpportunityType,
        symbol: str,
        net_spread_pct: float,
        *,
        min_samples: int,
        prior: float,
    ) -> RateEstimate:
        """The success rate of similar episodes, backing off as documented in the module."""
        for level, key in enumerate(self._keys(kind, symbol, self.bucket(net_spread_pct))):
            group = self._groups.get(key)
            if group is not None and len(group) >= min_samples:
                return RateEstimate(sum(group) / len(group), len(group), level)
        return RateEstimate(prior, 0, 3)

    def samples(self, last: int | None = None) -> list[HistorySample]:
        items = list(self._samples)
        return items if last is None else items[-last:]

    def __len__(self) -> int:
        return len(self._samples)

    def snapshot(self) -> dict[str, Any]:
        return {
            "samples": [s.to_dict() for s in self._samples],
            "groups": [[list(k), [int(x) for x in v]] for k, v in self._groups.items()],
            "total_recorded": self.total_recorded,
        }

    def restore(self, data: dict[str, Any]) -> None:
        self._samples.clear()
        self._groups.clear()
        self._samples.extend(HistorySample.from_dict(d) for d in data["samples"])
        for key, values in data["groups"]:
            self._groups[tuple(key)] = deque((bool(x) for x in values), maxlen=self.per_group)
        self.total_recorded = int(data["total_recorded"])
