"""Relevance state in Redis: weight vectors, the alerts each user was sent, and learning steps.

Only this module reads or writes the ``arbcast:rel:*`` keys (`core.store.keys`). Remembering an
alert is one MULTI (the entry, its TTL, its unopened deadline); learning from a signal is one
script call (`relevance_update.lua`), which marks the signal learned in the same step, so a
stream entry read twice teaches the model once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from core.personalisation.errors import PersonalisationError
from core.personalisation.settings import PersonalisationSettings
from core.store import keys
from core.store.client import answer

COUNT_FIELD: Final = "_n"
# A learning step's answers other than a relevance.
SKIPPED: Final = frozenset({"dup", "engaged", "unknown"})


@dataclass(frozen=True, slots=True)
class Seen:
    """One alert as it was delivered: when, to which tier, the prior, and its features."""

    opportunity_id: str
    sent_at: float
    tier: str
    prior: float
    features: tuple[str, ...]

    def encode(self) -> str:
        return f"{self.sent_at!r};{self.tier};{self.prior!r};{','.join(self.features)}"

    @classmethod
    def decode(cls, opportunity_id: str, raw: str) -> Seen:
        try:
            sent_at, tier, prior, feats = raw.split(";", 3)
            return cls(opportunity_id, float(sent_at), tier, float(prior), tuple(feats.split(",")))
        except ValueError as exc:
            raise PersonalisationError(
                f"remembered alert {opportunity_id!r} is not 'sent_at;tier;prior;features' "
                f"({raw[:80]!r}): reset the user's personalisation to clear it"
            ) from exc


@dataclass(frozen=True, slots=True)
class Signal:
    """What a user did with an alert, as a labelled example."""

    user_id: int
    opportunity_id: str
    kind: str  # details, up, down, mute, unopened, lapse
    label: float
    weight: float


@cache
def _update_source() -> str:
    """The learning step's script, read once per process."""
    path = resources.files("core.personalisation").joinpath("relevance_update.lua")
    return path.read_text("utf-8")


def due_member(user_id: int, opportunity_id: str) -> str:
    return f"{user_id} {opportunity_id}"


def parse_due(member: str | bytes) -> tuple[int, str]:
    text = member.decode() if isinstance(member, bytes) else member
    uid, oid = text.split(" ", 1)
    return int(uid), oid


def _text(v: str | bytes) -> str:
    return v.decode() if isinstance(v, bytes) else v


def decode_weights(raw: Mapping[str | bytes, str | bytes]) -> dict[str, float]:
    return {_text(k): float(v) for k, v in raw.items() if _text(k) != COUNT_FIELD}


class RelevanceStore:
    def __init__(self, redis: Redis, settings: PersonalisationSettings) -> None:
        self._redis = redis
        self.settings = settings
        self._update: AsyncScript = redis.register_script(_update_source())

    async def remember(self, user_id: int, seen: Iterable[Seen], *, unopened: bool) -> None:
        """Remember delivered alerts (a copy delivered again keeps the first); `unopened`: count
        each as unopened if nothing is pressed within `unopened_seconds`."""
        await self.remember_many([(user_id, list(seen))], unopened=unopened)

    async def remember_many(
        self, delivered: Sequence[tuple[int, Sequence[Seen]]], *, unopened: bool
    ) -> None:
        """`remember` for many users' alerts in one MULTI (a batch of deliveries)."""
        if not any(items for _, items in delivered):
            return
        wait = self.settings.unopened_seconds
        async with self._redis.pipeline(transaction=True) as pipe:
            for user_id, items in delivered:
                if not items:
                    continue
                key = keys.relevance_seen(user_id)
                for s in items:
                    pipe.hsetnx(key, s.opportunity_id, s.encode())
                    if unopened:
                        member = due_member(user_id, s.opportunity_id)
                        pipe.zadd(keys.RELEVANCE_DUE, {member: s.sent_at + wait}, nx=True)
                pipe.expire(key, self.settings.impressions_ttl_seconds)
            await pipe.execute()

    async def seen(self, user_id: int, opportunity_ids: Sequence[str]) -> dict[str, Seen]:
        if not opportunity_ids:
            return {}
        raws = await answer(self._redis.hmget(keys.relevance_seen(user_id), list(opportunity_ids)))
        return {
            oid: Seen.decode(oid, _text(r))
            for oid, r in zip(opportunity_ids, raws, strict=True)
            if r is not None
        }

    async def seen_all(self, user_id: int) -> list[Seen]:
        """Every alert remembered for the user, without the marks of what was learned."""
        raw = await answer(self._redis.hgetall(keys.relevance_seen(user_id)))
        return [Seen.decode(_text(k), _text(v)) for k, v in raw.items() if "#" not in _text(k)]

    async def engaged(self, user_id: int, opportunity_ids: Sequence[str]) -> set[str]:
        """The alerts the user pressed something on."""
        if not opportunity_ids:
            return set()
        marks = [f"{oid}#i" for oid in opportunity_ids]
        raws = await answer(self._redis.hmget(keys.relevance_seen(user_id), marks))
        return {oid for oid, r in zip(opportunity_ids, raws, strict=True) if r is not None}

    async def learn(self, signal: Signal, tier: str) -> float | None:
        """One learning step; the relevance before it, or None when there was nothing to learn
        (learned already, an unopened alert that was pressed, an alert not remembered)."""
        s = self.settings
        answered = await self._update(
            keys=[
                keys.relevance_weights(signal.user_id),
                keys.relevance_tier(tier),
                keys.relevance_seen(signal.user_id),
                keys.RELEVANCE_DUE,
            ],
            args=[
                signal.opportunity_id,
                signal.kind,
                signal.label,
                signal.weight,
                s.learning_rate,
                s.tier_learning_rate,
                s.regularisation,
                s.impressions_ttl_seconds,
                due_member(signal.user_id, signal.opportunity_id),
            ],
        )
        text = _text(answered)
        return None if text in SKIPPED else float(text)

    async def due(self, now: float, limit: int) -> list[tuple[int, str]]:
        """Alerts past their unopened deadline (oldest first)."""
        members = await self._redis.zrangebyscore(keys.RELEVANCE_DUE, "-inf", now, 0, limit)
        return [parse_due(m) for m in members]

    async def weights_many(self, user_ids: Sequence[int]) -> list[tuple[dict[str, float], int]]:
        """Each user's weights and how many signals taught them, in one pipeline."""
        if not user_ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for uid in user_ids:
                pipe.hgetall(keys.relevance_weights(uid))
            raws = await pipe.execute()
        return [
            (decode_weights(r), int(r.get(COUNT_FIELD, r.get(COUNT_FIELD.encode(), 0))))
            for r in raws
        ]

    async def tier_weights(self, tiers: Sequence[str]) -> dict[str, dict[str, float]]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for t in tiers:
                pipe.hgetall(keys.relevance_tier(t))
            raws = await pipe.execute()
        return {t: decode_weights(r) for t, r in zip(tiers, raws, strict=True)}

    async def reset(self, user_id: int) -> None:
        """Forget what the user taught the model (their weights and remembered alerts) in one
        MULTI; the tier's shared weights stay, so they start where a new user would."""
        seen = await self.seen_all(user_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.relevance_weights(user_id), keys.relevance_seen(user_id))
            if seen:
                pipe.zrem(
                    keys.RELEVANCE_DUE, *[due_member(user_id, s.opportunity_id) for s in seen]
                )
            await pipe.execute()
