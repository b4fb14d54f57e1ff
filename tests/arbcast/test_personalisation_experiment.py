"""An A/B test run for real: a push shard (real Redis, its logic without Ray) runs experiment
``rank`` (control: ranking off; ranked: on) over 60 users, recording each user's assignment
once and an exposure per digest; deliveries and Details presses are recorded as the outbox and
the bot record them; the sink writes the stream to Parquet and the experiments report, read by
DuckDB, gives per variant the same users, exposures, alerts and clicks as an independent count
over the raw stream entries, with confidence intervals, the test used and a sample-ratio
check."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path
from typing import Any

from actors.user_queue_shard import UserQueueShard
from analytics.duck import connect
from analytics.reports import run_report
from core.clock import ManualClock
from core.event_names import EventName
from core.events import Emitter, RedisEventLog, read_events
from core.experiments.settings import Experiment, ExperimentSettings, Variant
from core.models import Priority, Tier
from core.services import Services
from core.settings import Settings
from core.store import keys
from messaging.outbox.message import OutboxMessage
from tests.analytics.helpers import make_sink
from tests.core.personalisation.factories import opp

EXP = Experiment(
    name="rank", variants=(Variant(name="control", ranking=False), Variant(name="ranked"))
)
USERS = list(range(1, 61))


async def _stream_counts(redis: Any) -> dict[str, dict[str, int]]:
    """Per variant, counted from the raw stream entries (not through Parquet or DuckDB)."""
    events = await read_events(redis)
    variant: dict[int | None, str] = {}
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for e in sorted(events, key=lambda e: e.ts):
        if e.name == EventName.EXPERIMENT_ASSIGNED and e.user_id not in variant:
            variant[e.user_id] = str(e.attrs["variant"])
            out[variant[e.user_id]]["users"] += 1
    for e in events:
        v = variant.get(e.user_id)
        if v is None:
            continue
        out[v]["exposures"] += e.name == EventName.EXPERIMENT_EXPOSED
        if e.name == EventName.SENT:
            out[v]["alerts"] += int(e.attrs["items"] or 0)
        out[v]["clicks"] += e.name == EventName.DETAILS
    return out


async def test_a_two_variant_experiment_is_reported_as_independently_counted(
    services: Services, settings: Settings, redis_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    redis = services.redis
    s = settings.model_copy(update={"experiments": ExperimentSettings(running=(EXP,))})
    for uid in USERS:
        await services.profiles.ensure(uid, f"u{uid}")
        await services.sessions.start(uid)
        await services.profiles.set_tier(uid, Tier.PREMIUM)
    shard = UserQueueShard(0, 1, s, redis_url)
    await shard.load(clock.now())
    now = clock.now()
    for i, profit in enumerate((0.9, 0.5)):
        o = opp(f"m{i}", priority=Priority.MEDIUM, expected_profit_pct=profit, updated_at=now,
                detected_at=now - 60, expires_at=now + 7200)  # fmt: skip
        await services.opportunities.put(o)
        await shard.fanout(o, now)
    clock.advance(seconds=s.distribution.medium_window_seconds)
    assert await shard.tick(clock.now()) == len(USERS)
    await shard.flush()

    # What delivery and the bot record: each message sent, and some Details presses.
    log = RedisEventLog(redis)
    emit = Emitter(log, clock)
    rnd = random.Random(5)
    clock.advance(seconds=5)
    for _, f in await redis.xrange(keys.outbox_stream(0)):
        m = OutboxMessage.from_json(f["m"])
        ids = ",".join(m.opportunity_ids)
        emit(EventName.SENT, user_id=m.user_id, kind="send", items=len(m.opportunity_ids),
             opportunity_ids=ids, opportunity_id=m.opportunity_ids[0])  # fmt: skip
        for oid in m.opportunity_ids:
            if rnd.random() < 0.3:
                emit(EventName.DETAILS, user_id=m.user_id, opportunity_id=oid, button="details")
    await log.flush()
    want = await _stream_counts(redis)
    assert sum(v["users"] for v in want.values()) == len(USERS)

    sink, storage = make_sink(redis, tmp_path / "lake")
    await sink.drain()
    con = connect(storage)
    report = run_report(con, "experiments")
    con.close()
    rows = {r[1]: dict(zip(report.columns, r, strict=True)) for r in report.rows}
    assert set(rows) == {"control", "ranked"}
    for v, r in rows.items():
        got = (r["users"], r["exposures"], r["alerts"], r["clicks"])
        assert got == (want[v]["users"], want[v]["exposures"], want[v]["alerts"], want[v]["clicks"])
        assert r["ctr_low"] <= r["ctr_pct"] <= r["ctr_high"]
    ranked = rows["ranked"]
    assert ranked["diff_low"] <= ranked["diff_pp"] <= ranked["diff_high"]
    assert ranked["test"] == "two-proportion z (alerts as trials)"
    assert ranked["srm_p"] is not None and ranked["srm_p"] > 0.001 and not ranked["warning"]
