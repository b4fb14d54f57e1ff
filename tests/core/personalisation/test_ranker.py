"""The ranker on the push path, over real Redis: it only reorders a digest (the same items, most
relevant first; singles and groups untouched), withholds a Low push only under a threshold and
never another priority, and an experiment's variant switches ranking per user, with the
assignment recorded once and an exposure per digest."""

from __future__ import annotations

from typing import Any

from core.clock import ManualClock
from core.distribution.settings import DistributionSettings
from core.distribution.user_queue import Outgoing
from core.events import Emitter, MemoryEventLog
from core.experiments.assignment import variant_of
from core.experiments.settings import Experiment, Variant
from core.models import OpportunityType, Priority
from core.personalisation.features import features
from core.personalisation.ranker import Ranker
from core.personalisation.settings import PersonalisationSettings
from core.personalisation.store import RelevanceStore, Seen, Signal
from tests.core.personalisation.factories import T0, opp, profile

F, A = OpportunityType.FUNDING, OpportunityType.ARBITRAGE


async def _teach(redis: Any, uid: int, liked: OpportunityType, n: int = 6) -> None:
    store = RelevanceStore(redis, PersonalisationSettings())
    for i in range(n):
        for kind in (F, A):
            o = opp(f"{kind.value}{i}", kind)
            await store.remember(uid, [Seen(o.opportunity_id, T0, "premium", 0.0, features(o, T0))],
                                 unopened=False)  # fmt: skip
            up = kind is liked
            await store.learn(Signal(uid, o.opportunity_id, "up" if up else "down", float(up), 1.5),
                              "premium")  # fmt: skip


def _digest(uid: int, ids: tuple[str, ...], kind: str = "digest") -> Outgoing:
    return Outgoing(f"{uid}:1:{ids}", uid, kind, ids, Priority.MEDIUM, T0, "k")  # type: ignore[arg-type]


async def test_rank_reorders_digests_only(redis: Any) -> None:
    await _teach(redis, 1, F)
    ranker = Ranker(redis, PersonalisationSettings())
    items = {o.opportunity_id: o for o in (opp("a", A), opp("f", F))}
    profiles = {1: profile(1), -5: profile(-5)}
    sends = [_digest(1, ("a", "f")), _digest(1, ("a",), "single"), _digest(-5, ("a", "f"))]
    out = await ranker.rank(sends, items, profiles, T0)
    assert [o.opportunity_ids for o in out] == [("f", "a"), ("a",), ("a", "f")]
    off = Ranker(redis, PersonalisationSettings(ranking_enabled=False))
    assert await off.rank(sends, items, profiles, T0) == sends


async def test_gate_withholds_only_low_pushes_under_the_threshold(redis: Any) -> None:
    await _teach(redis, 1, F)
    await _teach(redis, 2, A)
    log = MemoryEventLog()
    ranker = Ranker(
        redis, PersonalisationSettings(low_threshold=0.4), emit=Emitter(log, ManualClock())
    )
    profiles = {1: profile(1), 2: profile(2)}
    low_a = opp("la", A, priority=Priority.LOW)
    assert await ranker.gate([1, 2], low_a, profiles, T0) == [2]
    [dropped] = log.named("distribution.dropped")
    assert (dropped.user_id, dropped.attrs["reason"]) == (1, "low_relevance")
    assert await ranker.gate([1, 2], opp("ma", A), profiles, T0) == [1, 2]  # Medium: never
    plain = Ranker(redis, PersonalisationSettings())
    assert await plain.gate([1, 2], low_a, profiles, T0) == [1, 2]  # no threshold: never


async def test_an_experiment_switches_ranking_per_user_and_records_exposures(redis: Any) -> None:
    exp = Experiment(name="rank", variants=(Variant(name="control", ranking=False),
                                             Variant(name="ranked", ranking=True)))  # fmt: skip
    users = [u for u in range(1, 40)]
    arms = {u: variant_of(exp, u).name for u in users}
    control = next(u for u in users if arms[u] == "control")
    ranked = next(u for u in users if arms[u] == "ranked")
    for u in (control, ranked):
        await _teach(redis, u, F)
    log = MemoryEventLog()
    ranker = Ranker(redis, PersonalisationSettings(), [exp], Emitter(log, ManualClock()))
    items = {o.opportunity_id: o for o in (opp("a", A), opp("f", F))}
    profiles = {u: profile(u) for u in (control, ranked)}
    for round_ in range(2):
        out = await ranker.rank(
            [Outgoing(f"{u}:{round_}", u, "digest", ("a", "f"), Priority.MEDIUM, T0, "k")
             for u in (control, ranked)], items, profiles, T0)  # fmt: skip
        assert {o.user_id: o.opportunity_ids for o in out} == {
            control: ("a", "f"),
            ranked: ("f", "a"),
        }
    assigned = [(e.user_id, e.attrs["variant"]) for e in log.named("experiment.assigned")]
    assert sorted(assigned) == sorted([(control, "control"), (ranked, "ranked")])
    assert len(log.named("experiment.exposed")) == 4  # two digests each


async def test_a_variant_sets_the_batching_window_of_its_users_only(redis: Any) -> None:
    """The 'fast' arm's queues batch Medium and Low for 60 s; the control's keep the settings;
    a group never is in an experiment."""
    exp = Experiment(
        name="window",
        variants=(Variant(name="control"), Variant(name="fast", batching_window_seconds=60)),
    )
    ranker = Ranker(redis, PersonalisationSettings(), [exp])
    base = DistributionSettings()
    arms = {u: variant_of(exp, u).name for u in range(1, 40)}
    fast = next(u for u, v in arms.items() if v == "fast")
    control = next(u for u, v in arms.items() if v == "control")
    got = ranker.queue_settings(fast, base, T0)
    assert (got.medium_window_seconds, got.low_window_seconds) == (60, 60)
    assert ranker.queue_settings(control, base, T0) is base
    assert ranker.queue_settings(-100, base, T0) is base
