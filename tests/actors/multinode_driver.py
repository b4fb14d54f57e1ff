"""A two-node Ray cluster on this machine running the push pipeline, with one node killed
mid-delivery; run by `test_multinode.py` in a process of its own, because a process holds one
Ray connection and the test session's is a single-node Ray.

    python -m tests.actors.multinode_driver '{"redis_url": ..., "emulator_url": ...,
        "data_dir": ..., "users": 300, "out": "result.json"}'

The cluster is `ray.cluster_utils.Cluster`: a head node (the GCS, and the raylet this driver
joins) and a worker node, each a raylet with its own worker processes, both with token auth as
a real cluster runs (docs/cluster.md). The driver is what `arbcast run` is on the head: it
creates the actors through `actors.factory` (placement "spread": shard 1 and sender 1 on the
worker), runs the distributor and the ack router, and seeds users and a burst of opportunities.
Once a third of the digests are in the emulator, the worker node is killed without a graceful
shutdown (its raylet and every process on it). Results go to `out` as JSON: where each actor
was before and after, the emulator's and the pipeline's counters, and what every chat received.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import actors  # noqa: F401  (before ray loads: token auth and loopback, actors.ray_environment)

# isort: split
import aiohttp
import ray
from ray._private import state as ray_state
from ray.cluster_utils import Cluster

from arbcast.pushes import Pushes
from core.opportunity_store import OpportunityStore
from core.services import build_services
from core.settings import Settings
from core.store.client import connect
from tests.arbcast.conftest import DELIVERY, World, push_settings, seed
from tests.arbcast.population import burst, expected, ids_in, population
from tests.conftest import RAY_BOT_TOKEN

NAMESPACE = "arbcast-multinode"
PEOPLE_SEED, BURST_SEED = 17, 19
# A raylet that stops answering is declared dead after 3 missed checks 0.5 s apart (Ray's
# defaults take about 15 s), so the dead node's actors are restarted within seconds.
FAILURE_DETECTION = {
    "health_check_initial_delay_ms": 0,
    "health_check_period_ms": 500,
    "health_check_timeout_ms": 500,
    "health_check_failure_threshold": 3,
}


def cluster_settings(data_dir: Path, emulator_url: str, address: str | None) -> Settings:
    """The pipeline's settings: two shards, two senders over a partitioned outbox, one digest
    per user after a 3 s window; the cluster at `address`. Calls wait up to 120 s: each actor's
    process imports for about 5 s of CPU, and a node starts one worker process at a time
    (`num_cpus=1`), so on 2 busy cores a first call can wait for several imports."""
    base = push_settings(
        data_dir,
        emulator_url,
        supervise_seconds=0.5,
        delivery={**DELIVERY, "senders": 2},
    )
    ray_settings = base.ray.model_copy(
        update={
            "address": address,
            "namespace": NAMESPACE,
            "placement": "spread",
            "call_timeout_seconds": 120.0,
        }
    )
    return base.model_copy(update={"ray": ray_settings})


def where_actors_are() -> dict[str, dict[str, Any]]:
    """From Ray's control plane (the GCS), not from the actors: each named actor of this
    cluster (made for this run, so all are the pipeline's), its node, state and restarts."""
    out: dict[str, dict[str, Any]] = {}
    for info in ray_state.actors().values():
        if not info["Name"] or info["State"] == "DEAD":
            continue
        out[info["Name"]] = {
            "node": info["Address"]["NodeID"],
            "state": info["State"],
            "restarts": info["NumRestarts"],
            "pid": info.get("Pid"),
        }
    return out


async def run(cluster: Cluster, worker: Any, args: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    settings = cluster_settings(Path(args["data_dir"]), args["emulator_url"], cluster.address)
    redis = connect(args["redis_url"])
    await redis.flushall()
    services = build_services(redis, Settings(data_dir=Path(args["data_dir"])))
    await services.start(sweep=False)
    try:
        async with aiohttp.ClientSession() as http:
            world = World(args["emulator_url"], http)
            await world.reset()
            now = services.clock.now()
            people = population(args["users"], seed=PEOPLE_SEED)
            opps = burst(now, seed=BURST_SEED)
            want, _held = expected(people, opps, settings)
            await world.open_chats([p.user_id for p in people])
            await seed(services, people, now)
            base = (await world.stats())["messages_sent"]
            pushes = Pushes(settings, args["redis_url"], redis)
            driver_node: str = ray.get_runtime_context().get_node_id()
            try:
                users_before = await pushes.start()
                before = where_actors_are()
                await OpportunityStore(redis, ttl=1800).apply(opened=opps)
                await pushes.distributor.wait_fanned_out(len(opps), timeout=60)
                at = await world.stats(min_sent=base + len(want) // 3, timeout=120)
                sent_at_kill = at["messages_sent"] - base
                killed_at = time.monotonic()
                # In a thread: the driver's own loops (distributor, ack router, supervisor)
                # keep running while the node's processes are killed.
                await asyncio.to_thread(cluster.remove_node, worker, allow_graceful=False)
                stats = await world.stats(min_sent=base + len(want), timeout=180)
                all_sent_after = time.monotonic() - killed_at
                for sender in pushes.senders:
                    await sender.drain()  # what is owed is settled before counting
                counters = await pushes.counters()
                # Idempotent: a running shard reports its rows, a restarted one loads them.
                users_after = await pushes.shards.start()
                after = where_actors_are()  # every actor answered counters(): all are up
            finally:
                await pushes.stop()
                pushes.kill()
            got = {p.user_id: [ids_in(m) for m in await world.messages(p.user_id)] for p in people}
    finally:
        await services.close()
        await redis.aclose()
    return {
        "now": now,
        "users": args["users"],
        "expected_digests": len(want),
        "driver_node": driver_node,
        "killed_node": worker.node_id,
        "before": before,
        "after": after,
        "sent_at_kill": sent_at_kill,
        "users_loaded": {"before": users_before, "after": users_after},
        "stats": stats,
        "counters": counters,
        "got": {str(uid): msgs for uid, msgs in got.items()},
        "seconds": {
            "kill_to_all_sent": round(all_sent_after, 2),
            "pipeline": round(time.monotonic() - started, 2),
        },
    }


def main(argv: list[str]) -> int:
    args = json.loads(argv[1])
    started = time.monotonic()
    # As on a real cluster (docs/cluster.md): every node runs with the same auth token, and the
    # nodes' environment gives the actors the bot token (never an argument).
    os.environ["RAY_AUTH_TOKEN"] = secrets.token_urlsafe(32)
    os.environ["TELEGRAM_BOT_TOKEN"] = RAY_BOT_TOKEN
    # Ray's files in a directory of this run's own. In the shared /tmp/ray, the cluster would
    # write its address to ray_current_cluster, and every `ray.init()` without an address on
    # this machine (another test session's Ray, a local `arbcast run`) would join this cluster
    # instead of starting its own. Short: unix socket paths are limited to about 100 bytes.
    ray_tmp = tempfile.mkdtemp(prefix="arbcast-mn-")
    os.environ["RAY_TMPDIR"] = ray_tmp
    head_args = {"num_cpus": 1, "include_dashboard": False, "_system_config": FAILURE_DETECTION}
    cluster = Cluster(initialize_head=True, head_node_args=head_args)
    try:
        worker = cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        up = time.monotonic() - started
        result = asyncio.run(run(cluster, worker, args))
        result["seconds"]["cluster_start"] = round(up, 2)
    finally:
        ray.shutdown()
        cluster.shutdown()  # type: ignore[no-untyped-call]
        shutil.rmtree(ray_tmp, ignore_errors=True)
    result["seconds"]["total"] = round(time.monotonic() - started, 2)
    Path(args["out"]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
