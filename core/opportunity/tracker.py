"""Episode lifecycle and deduplication.

An *episode* is one continuous appearance of the same opportunity — same type, symbol and
direction (buy exchange, sell exchange), see `Candidate.key` — from the first time a detector
reports it to the moment it disappears. While an episode lives, seeing the key again updates it;
nothing is duplicated. Its id is deterministic: the first 16 hex digits of SHA-1 over the key
and the first-seen timestamp, so a replay or a restarted actor produces the same ids.

States: PENDING (detected, not yet through Level 1 — re-checked on every update), LIVE (passed
every level and published as an `Opportunity`), REJECTED (qualified at Level 1 but refused by
Level 2 or 4; kept until it ends so its lifetime still reaches the history, and not re-judged).

Closing a qualified episode (LIVE or REJECTED) records its lifetime, measured from
qualification, into `SpreadHistory`; an episode closed by TTL counts as having lasted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from core.models import Opportunity, OpportunityType
from core.opportunity.detectors import Candidate
from core.opportunity.history import SpreadHistory


class EpisodeStatus(StrEnum):
    PENDING = "pending"
    LIVE = "live"
    REJECTED = "rejected"


def episode_id(key: str, first_seen: float) -> str:
    return hashlib.sha1(f"{key}|{first_seen:.6f}".encode()).hexdigest()[:16]


def candidate_to_dict(c: Candidate) -> dict[str, Any]:
    return {
        "type": c.type.value,
        "symbol": c.symbol,
        "buy_exchange": c.buy_exchange,
        "sell_exchange": c.sell_exchange,
        "buy_price": c.buy_price,
        "sell_price": c.sell_price,
        "gross_spread_pct": c.gross_spread_pct,
        "net_spread_pct": c.net_spread_pct,
        "fees_pct": c.fees_pct,
        "slippage_pct": c.slippage_pct,
        "position_usd": c.position_usd,
        "buy_depth_usd": c.buy_depth_usd,
        "sell_depth_usd": c.sell_depth_usd,
        "figures": dict(c.figures),
    }


def candidate_from_dict(d: dict[str, Any]) -> Candidate:
    return Candidate(
        type=OpportunityType(d["type"]),
        symbol=d["symbol"],
        buy_exchange=d["buy_exchange"],
        sell_exchange=d["sell_exchange"],
        buy_price=float(d["buy_price"]),
        sell_price=float(d["sell_price"]),
        gross_spread_pct=float(d["gross_spread_pct"]),
        net_spread_pct=float(d["net_spread_pct"]),
        fees_pct=float(d["fees_pct"]),
        slippage_pct=float(d["slippage_pct"]),
        position_usd=float(d["position_usd"]),
        buy_depth_usd=float(d["buy_depth_usd"]),
        sell_depth_usd=float(d["sell_depth_usd"]),
        figures={k: float(v) for k, v in d["figures"].items()},
    )


@dataclass(slots=True)
class Episode:
    id: str
    key: str
    candidate: Candidate
    first_seen: float
    expires_at: float
    status: EpisodeStatus = EpisodeStatus.PENDING
    qualified_at: float | None = None
    qualified_net_pct: float = 0.0
    features: tuple[float, ...] = ()
    opportunity: Opportunity | None = None
    last_reason: str = ""  # last Level 1 rejection, so repeats are not re-logged

    @property
    def symbol(self) -> str:
        return self.candidate.symbol

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "candidate": candidate_to_dict(self.candidate),
            "first_seen": self.first_seen,
            "expires_at": self.expires_at,
            "status": self.status.value,
            "qualified_at": self.qualified_at,
            "qualified_net_pct": self.qualified_net_pct,
            "features": list(self.features),
            "opportunity": None
            if self.opportunity is None
            else self.opportunity.model_dump(mode="json"),
            "last_reason": self.last_reason,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Episode:
        return cls(
            id=d["id"],
            key=d["key"],
            candidate=candidate_from_dict(d["candidate"]),
            first_seen=float(d["first_seen"]),
            expires_at=float(d["expires_at"]),
            status=EpisodeStatus(d["status"]),
            qualified_at=None if d["qualified_at"] is None else float(d["qualified_at"]),
            qualified_net_pct=float(d["qualified_net_pct"]),
            features=tuple(float(x) for x in d["features"]),
            opportunity=None
            if d["opportunity"] is None
            else Opportunity.model_validate(d["opportunity"]),
            last_reason=d["last_reason"],
        )


class OpportunityTracker:
    def __init__(self, history: SpreadHistory, ttl_seconds: float = 900.0) -> None:
        self.history = history
        self.ttl_seconds = ttl_seconds
        self._episodes: dict[str, Episode] = {}

    def get(self, key: str) -> Episode | None:
        return self._episodes.get(key)

    def episodes(self, symbol: str | None = None) -> list[Episode]:
        items = sorted(self._episodes.values(), key=lambda e: e.key)
        return items if symbol is None else [e for e in items if e.symbol == symbol]

    def live(self) -> list[Episode]:
        return [e for e in self.episodes() if e.status is EpisodeStatus.LIVE]

    def __len__(self) -> int:
        return len(self._episodes)

    def begin(self, c: Candidate, now: float) -> Episode:
        """Start an episode for a key that has none (the caller checks `get` first)."""
        if c.key in self._episodes:
            raise ValueError(f"episode already open for {c.key}")
        ep = Episode(
            id=episode_id(c.key, now),
            key=c.key,
            candidate=c,
            first_seen=now,
            expires_at=now + self.ttl_seconds,
        )
        self._episodes[c.key] = ep
        return ep

    def observe(self, c: Candidate, now: float) -> tuple[Episode, bool]:
        """The episode for `c` (updated with it), and whether it was just created."""
        ep = self._episodes.get(c.key)
        if ep is None:
            return self.begin(c, now), True
        ep.candidate = c
        return ep, False

    def qualify(self, ep: Episode, now: float, features: tuple[float, ...]) -> None:
        ep.qualified_at = now
        ep.qualified_net_pct = ep.candidate.net_spread_pct
        ep.features = features

    def reject(self, ep: Episode) -> None:
        ep.status = EpisodeStatus.REJECTED

    def publish(self, ep: Episode, opportunity: Opportunity) -> None:
        ep.status = EpisodeStatus.LIVE
        ep.opportunity = opportunity
        ep.expires_at = opportunity.expires_at

    def set_opportunity(self, ep: Episode, opportunity: Opportunity) -> None:
        ep.opportunity = opportunity

    def expired(self, now: float) -> list[Episode]:
        return [e for e in self.episodes() if now >= e.expires_at]

    def close(self, ep: Episode, now: float, reason: str) -> Opportunity | None:
        """End the episode; returns the closed `Opportunity` when it was live."""
        self._episodes.pop(ep.key, None)
        if ep.qualified_at is not None:
            self.history.record(
                ep.candidate.type,
                ep.candidate.symbol,
                ep.qualified_net_pct,
                now - ep.qualified_at,
                ep.features,
                now,
                lasted=True if reason == "ttl" else None,
            )
        if ep.status is EpisodeStatus.LIVE and ep.opportunity is not None:
            return ep.opportunity.model_copy(update={"closed": True, "updated_at": now})
        return None

    def snapshot(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.episodes()]

    def restore(self, data: list[dict[str, Any]]) -> None:
        self._episodes = {d["key"]: Episode.from_dict(d) for d in data}
