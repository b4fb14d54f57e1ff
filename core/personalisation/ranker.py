"""Relevance on the push path: order a digest, and withhold Low pushes a user would not want.

A push shard asks this after the rules have spoken: eligibility chose the users, the caps
sized the message. `rank` only reorders the items of a digest (most relevant first, ties kept
in best-first order); `gate` only removes users from a Low-priority opportunity's recipients,
and only when a threshold is set (`personalisation.low_threshold`, or an experiment's variant).
An experiment's exposure is a digest proposed to a user in it, whichever the variant (so both
arms count alike).
Each is a dot product per item over weights held in memory for `cache_seconds`, read from
Redis in one pipeline for the users missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from redis.asyncio import Redis

from core.distribution.settings import DistributionSettings
from core.distribution.user_queue import Outgoing
from core.event_names import EventName
from core.events import Emitter
from core.experiments.assignment import Assigned, Overrides, overrides
from core.experiments.exposures import record_exposures
from core.experiments.settings import Experiment
from core.models import Opportunity, Priority, UserProfile
from core.personalisation.features import features, prior
from core.personalisation.model import relevance
from core.personalisation.settings import PersonalisationSettings
from core.personalisation.store import RelevanceStore

_NONE = Overrides()
_EXPOSED_MEMORY = 10_000


class Ranker:
    def __init__(
        self,
        redis: Redis,
        settings: PersonalisationSettings,
        experiments: Sequence[Experiment] = (),
        emit: Emitter | None = None,
    ) -> None:
        self.settings = settings
        self.store = RelevanceStore(redis, settings)
        self._redis = redis
        self._experiments = tuple(experiments)
        self._emit = emit
        self._users: dict[int, tuple[float, dict[str, float]]] = {}
        self._tiers: dict[str, tuple[float, dict[str, float]]] = {}
        self._exposed: dict[str, None] = {}  # outgoing ids already counted, oldest first
        self._windows: dict[tuple[int, float], DistributionSettings] = {}

    async def load(self, profiles: Sequence[UserProfile], now: float) -> None:
        """Read the weights of users (and their tiers) not held or held too long."""
        horizon = now - self.settings.cache_seconds
        users = [p.user_id for p in profiles if self._users.get(p.user_id, (-1e18,))[0] < horizon]
        tiers = sorted(
            {p.tier.value for p in profiles if self._tiers.get(p.tier.value, (-1e18,))[0] < horizon}
        )
        if users:
            for uid, (w, _n) in zip(users, await self.store.weights_many(users), strict=True):
                self._users[uid] = (now, w)
        if tiers:
            for t, w in (await self.store.tier_weights(tiers)).items():
                self._tiers[t] = (now, w)
        if len(self._users) > 4 * max(1, len(profiles)) + 10_000:
            self._users = {u: v for u, v in self._users.items() if v[0] >= horizon}

    def score(
        self,
        profile: UserProfile,
        opp: Opportunity,
        now: float,
        feats: tuple[str, ...] | None = None,
    ) -> float:
        """The user's relevance for the opportunity (weights loaded with `load`); `feats`: the
        opportunity's features at `now`, when the caller computed them once for many users."""
        feats = features(opp, now) if feats is None else feats
        user = self._users.get(profile.user_id, (0.0, {}))[1]
        tier = self._tiers.get(profile.tier.value, (0.0, {}))[1]
        return relevance(feats, user, tier, prior(profile, feats, self.settings))

    async def rank(
        self,
        sends: list[Outgoing],
        opportunities: Mapping[str, Opportunity],
        profiles: Mapping[int, UserProfile],
        now: float,
    ) -> list[Outgoing]:
        """The messages with each digest's items most relevant first (ranking on for the user)."""
        # Groups (negative chat ids) have no one pressing for them: their digests stay best first.
        digests = [
            o for o in sends if o.kind == "digest" and o.user_id > 0 and o.user_id in profiles
        ]
        exposed: list[tuple[int, Assigned, str]] = []
        on: set[int] = set()
        for o in digests:
            over = overrides(self._experiments, o.user_id, now) if self._experiments else _NONE
            if o.outgoing_id not in self._exposed:  # a trimmed digest comes back: once
                self._exposed[o.outgoing_id] = None
                exposed += [(o.user_id, a, "digest") for a in over.assigned]
            if (over.ranking if over.ranking is not None else self.settings.ranking_enabled) and (
                len(o.opportunity_ids) > 1
            ):
                on.add(o.user_id)
        await self._expose(exposed, now)
        if not on:
            return sends
        await self.load([profiles[u] for u in on], now)
        cached: dict[str, tuple[str, ...]] = {}

        def feats_of(oid: str) -> tuple[str, ...]:
            # One opportunity is in many users' digests of one tick: its features once.
            if oid not in cached:
                cached[oid] = features(opportunities[oid], now)
            return cached[oid]

        out: list[Outgoing] = []
        for o in sends:
            if o.kind != "digest" or o.user_id not in on:
                out.append(o)
                continue
            p = profiles[o.user_id]
            pos = {oid: i for i, oid in enumerate(o.opportunity_ids)}
            rel = {
                oid: self.score(p, opportunities[oid], now, feats_of(oid))
                if oid in opportunities
                else 0.0
                for oid in o.opportunity_ids
            }
            ids = tuple(sorted(o.opportunity_ids, key=lambda i: (-rel[i], pos[i])))
            out.append(o if ids == o.opportunity_ids else replace(o, opportunity_ids=ids))
        return out

    async def gate(
        self,
        user_ids: list[int],
        opp: Opportunity,
        profiles: Mapping[int, UserProfile],
        now: float,
    ) -> list[int]:
        """The eligible users who still get a Low-priority opportunity (all, for other
        priorities or with no threshold); those withheld are recorded as dropped."""
        if opp.priority is not Priority.LOW:
            return user_ids
        if not self._experiments and self.settings.low_threshold <= 0:
            return user_ids  # the common case: no per-user loop on a fan-out
        thresholds: dict[int, float] = {}
        for uid in user_ids:
            over = overrides(self._experiments, uid, now) if self._experiments else _NONE
            t = (
                over.low_threshold
                if over.low_threshold is not None
                else self.settings.low_threshold
            )
            if t > 0 and uid > 0 and uid in profiles:
                thresholds[uid] = t
        if not thresholds:
            return user_ids
        await self.load([profiles[u] for u in thresholds], now)
        feats = features(opp, now)
        kept: list[int] = []
        for uid in user_ids:
            bar = thresholds.get(uid)
            if bar is None or self.score(profiles[uid], opp, now, feats) >= bar:
                kept.append(uid)
            elif self._emit is not None:
                self._emit(
                    EventName.DROPPED,
                    ts=now,
                    user_id=uid,
                    opportunity_id=opp.opportunity_id,
                    reason="low_relevance",
                )
        return kept

    def queue_settings(
        self, user_id: int, base: DistributionSettings, now: float
    ) -> DistributionSettings:
        """The batching a user's queue runs with: a running experiment's variant may set the
        Medium and Low windows (groups never are in experiments)."""
        if not self._experiments or user_id <= 0:
            return base
        window = None
        for a in overrides(self._experiments, user_id, now).assigned:
            if a.variant.batching_window_seconds is not None:
                window = a.variant.batching_window_seconds
        if window is None:
            return base
        key = (id(base), window)
        if key not in self._windows:
            self._windows[key] = base.model_copy(
                update={"medium_window_seconds": window, "low_window_seconds": window}
            )
        return self._windows[key]

    async def _expose(self, exposed: list[tuple[int, Assigned, str]], now: float) -> None:
        while len(self._exposed) > _EXPOSED_MEMORY:
            del self._exposed[next(iter(self._exposed))]
        if exposed and self._emit is not None:
            await record_exposures(self._redis, self._emit, exposed, now)
