"""From events to learning steps: what each behaviour teaches the relevance model.

| event | signal | label | weight (setting) |
|---|---|---|---|
| `distribution.sent` (new) | unopened after `unopened_seconds` | 0 | `weight_unopened` |
| `engagement.details` | details | 1 | `weight_details` |
| `engagement.feedback` 👍 / 👎 | up / down | 1 / 0 | `weight_vote` |
| `engagement.mute_pair`, `mute_type` | mute | 0 | `weight_mute` |
| `session.expired` | lapse: each unpressed alert of the last `lapse_seconds` | 0 | `weight_lapse` |

A press on something never pushed (Details from /opportunities) is remembered then learned. An
alert pressed on is never also unopened or lapsed (the update script checks). Events come as
dicts with the keys of `core.events.Event` (`decode_entry`), in stream order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.event_names import EventName
from core.models import UserProfile
from core.opportunity_store import OpportunityStore
from core.personalisation.features import features, prior
from core.personalisation.settings import PersonalisationSettings
from core.personalisation.store import RelevanceStore, Seen, Signal
from core.profiles import ProfileStore

_SIGNALS = frozenset(
    {EventName.DETAILS, EventName.FEEDBACK, EventName.MUTE_PAIR, EventName.MUTE_TYPE}
)


class Learner:
    def __init__(
        self,
        store: RelevanceStore,
        profiles: ProfileStore,
        opportunities: OpportunityStore,
    ) -> None:
        self.store = store
        self.settings: PersonalisationSettings = store.settings
        self._profiles = profiles
        self._opportunities = opportunities
        self.learned = 0

    async def apply(self, events: Sequence[Mapping[str, Any]]) -> int:
        """Learn from a batch of events, in order; returns the steps taken."""
        # Groups' messages (negative chat ids) teach nothing: no one person pressed for them.
        sent = [e for e in events if e["name"] == EventName.SENT and (e["user_id"] or 0) > 0]
        sent = [
            e
            for e in sent
            if e["attrs"].get("kind") == "send" and e["attrs"].get("opportunity_ids")
        ]
        await self._remember(sent)
        steps = 0
        for e in events:
            uid = e["user_id"]
            if uid is None:
                continue
            if e["name"] in _SIGNALS:
                signal = self._signal(e)
                if signal is not None:
                    steps += await self._learn_pressed(signal)
            elif e["name"] == EventName.SESSION_EXPIRED:
                steps += await self._lapse(int(uid), float(e["ts"]))
        self.learned += steps
        return steps

    async def sweep(self, now: float, limit: int = 1_000) -> int:
        """Learn from alerts past their unopened deadline; returns the steps taken."""
        steps = 0
        for uid, oid in await self.store.due(now, limit):
            seen = (await self.store.seen(uid, [oid])).get(oid)
            tier = seen.tier if seen is not None else "free"
            signal = Signal(uid, oid, "unopened", 0.0, self.settings.weight_unopened)
            steps += await self.store.learn(signal, tier) is not None
        self.learned += steps
        return steps

    def _signal(self, e: Mapping[str, Any]) -> Signal | None:
        attrs, s = e["attrs"], self.settings
        oid = attrs.get("opportunity_id")
        if not oid:
            return None
        uid, name = int(e["user_id"]), e["name"]
        if name == EventName.DETAILS:
            return Signal(uid, str(oid), "details", 1.0, s.weight_details)
        if name == EventName.FEEDBACK:
            vote = attrs.get("vote")
            if vote not in ("up", "down"):
                return None
            return Signal(uid, str(oid), str(vote), 1.0 if vote == "up" else 0.0, s.weight_vote)
        return Signal(uid, str(oid), "mute", 0.0, s.weight_mute)

    async def _remember(self, sent: Sequence[Mapping[str, Any]]) -> None:
        if not sent:
            return
        ids = sorted({i for e in sent for i in str(e["attrs"]["opportunity_ids"]).split(",") if i})
        opps = await self._opportunities.get_many(ids)
        users = sorted({int(e["user_id"]) for e in sent})
        profiles = {p.user_id: p for p in await self._profiles.get_many(users)}
        delivered: list[tuple[int, list[Seen]]] = []
        for e in sent:
            uid, at = int(e["user_id"]), float(e["ts"])
            profile = profiles[uid]
            tier = str(e["attrs"].get("tier") or profile.tier.value)
            seen = [
                self._seen(profile, opps[oid].opportunity_id, features(opps[oid], at), at, tier)
                for oid in str(e["attrs"]["opportunity_ids"]).split(",")
                if oid in opps
            ]
            delivered.append((uid, seen))
        await self.store.remember_many(delivered, unopened=True)

    def _seen(
        self, profile: UserProfile, oid: str, feats: tuple[str, ...], at: float, tier: str
    ) -> Seen:
        return Seen(oid, at, tier, prior(profile, feats, self.settings), feats)

    async def _learn_pressed(self, signal: Signal) -> int:
        seen = (await self.store.seen(signal.user_id, [signal.opportunity_id])).get(
            signal.opportunity_id
        )
        if seen is None:  # pressed on something never pushed: remember it as seen now
            opp = await self._opportunities.get(signal.opportunity_id)
            if opp is None:
                return 0
            profile = await self._profiles.get(signal.user_id)
            at = opp.updated_at
            seen = self._seen(
                profile, opp.opportunity_id, features(opp, at), at, profile.tier.value
            )
            await self.store.remember(signal.user_id, [seen], unopened=False)
        return int(await self.store.learn(signal, seen.tier) is not None)

    async def _lapse(self, user_id: int, ended_at: float) -> int:
        since = ended_at - self.settings.lapse_seconds
        recent = [s for s in await self.store.seen_all(user_id) if s.sent_at >= since]
        steps = 0
        for s in recent:
            signal = Signal(user_id, s.opportunity_id, "lapse", 0.0, self.settings.weight_lapse)
            steps += await self.store.learn(signal, s.tier) is not None
        return steps
