"""The push pipeline on a two-node Ray cluster (`ray.cluster_utils.Cluster` on this machine),
with one node killed mid-delivery.

The cluster runs in a child process (`tests/actors/multinode_driver.py`): a process holds one
Ray connection, and this session's is the single-node Ray of `tests/conftest.py`. The child
reports JSON; the oracle and the checks are here. Redis and the emulator are this session's:
what every chat received is counted on the emulator's side.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from tests.actors.multinode_driver import BURST_SEED, PEOPLE_SEED, cluster_settings

# The emulator fixture of the push tests, in its own process (re-exported: pytest finds it here).
from tests.arbcast.conftest import emulator_url as emulator_url
from tests.arbcast.population import burst, expected, population

ROOT = Path(__file__).resolve().parents[2]
USERS = 300


def _run_cluster(redis_url: str, emulator: str, tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "multinode.json"
    args = {
        "redis_url": redis_url,
        "emulator_url": emulator,
        "data_dir": str(tmp_path),
        "users": USERS,
        "out": str(out),
    }
    # The child makes its own cluster: nothing may point it at this session's Ray.
    env = {k: v for k, v in os.environ.items() if k not in {"RAY_ADDRESS", "ARBCAST_RAY__ADDRESS"}}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.actors.multinode_driver", json.dumps(args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # a deadline for a hung cluster, not a speed check
    )
    assert proc.returncode == 0, proc.stderr[-6000:]
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def _summary(r: dict[str, Any]) -> dict[str, Any]:
    """What the run showed, in one line (printed; `pytest -s` shows it)."""
    label = {r["driver_node"]: "head", r["killed_node"]: "worker"}

    def per_node(placed: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name, a in sorted(placed.items()):
            out.setdefault(label.get(a["node"], a["node"]), []).append(name)
        return out

    return {
        "seconds": r["seconds"],
        "before_kill": per_node(r["before"]),
        "after_kill": per_node(r["after"]),
        "restarts": {n: a["restarts"] for n, a in sorted(r["after"].items()) if a["restarts"]},
        "digests": r["expected_digests"],
        "sent_at_kill": r["sent_at_kill"],
        "duplicates": r["counters"]["duplicates"],
        "dead": r["counters"]["dead"],
        "too_many_requests": r["stats"]["too_many_requests"]["total"],
    }


def _nodes_of(placed: dict[str, dict[str, Any]], prefix: str) -> set[str]:
    return {a["node"] for name, a in placed.items() if name.startswith(prefix)}


def test_a_node_killed_mid_delivery_moves_its_shard_and_sender_to_the_survivor_losing_nothing(
    redis_url: str, emulator_url: str, tmp_path: Path
) -> None:
    """Shards and senders are spread over both nodes (one of each per node, `ray.placement`
    "spread"); the worker node is killed, without a graceful shutdown, once a third of the
    digests are delivered; Ray restarts its shard and sender on the head, and every user still
    gets exactly the oracle's digest. The only repeats are the resends the outbox counted (a
    sender that died between sending and recording the send), and nothing is dead-lettered."""
    r = _run_cluster(redis_url, emulator_url, tmp_path)
    print(json.dumps(_summary(r)))
    head, killed = r["driver_node"], r["killed_node"]
    before, after = r["before"], r["after"]

    # Before: the shards and the senders each on both nodes, all in their first life.
    assert _nodes_of(before, "user-queues-") == {head, killed}, before
    assert _nodes_of(before, "push-sender-") == {head, killed}, before
    assert all(a["state"] == "ALIVE" and a["restarts"] == 0 for a in before.values()), before
    # The kill came mid-delivery.
    assert 0 < r["sent_at_kill"] < r["expected_digests"], r["sent_at_kill"]
    # The shards hold every user with a session again, the dead node's shard reloaded.
    assert r["users_loaded"]["after"] == r["users_loaded"]["before"] > 0, r["users_loaded"]
    # After: every actor alive on the survivor; those of the dead node restarted, once and in
    # a new process; the survivor's untouched.
    assert set(after) == set(before), (before, after)
    for name, a in after.items():
        assert a["state"] == "ALIVE" and a["node"] == head, (name, a)
        if before[name]["node"] == killed:
            assert a["restarts"] >= 1 and a["pid"] != before[name]["pid"], (name, a)
        else:
            assert a["restarts"] == 0 and a["pid"] == before[name]["pid"], (name, a)

    settings = cluster_settings(tmp_path, emulator_url, None)
    people = population(USERS, seed=PEOPLE_SEED)
    want, _held = expected(people, burst(r["now"], seed=BURST_SEED), settings)
    assert len(want) == r["expected_digests"] > 100
    extra: Counter[int] = Counter()
    wrong: list[tuple[int, list[list[str]], list[str] | None]] = []
    for p in people:
        got = r["got"][str(p.user_id)]
        should = want.get(p.user_id)
        if should is None:
            if got:
                wrong.append((p.user_id, got, None))
        elif not got or any(g != should for g in got):
            wrong.append((p.user_id, got, should))
        else:
            extra[p.user_id] = len(got) - 1
    assert not wrong, f"{len(wrong)} users differ from the oracle, e.g. {wrong[:5]}"
    counters = r["counters"]
    assert sum(extra.values()) == counters["duplicates"], counters
    assert counters["dead"] == 0, counters
    # A 429 is waited out and resent, never lost (checked above); a restart's CPU burst on 2
    # cores can delay a request past the slots' tolerance, as in test_push_faults.py.
    assert r["stats"]["too_many_requests"]["chat"] == 0, r["stats"]
    assert r["stats"]["too_many_requests"]["total"] <= 3, r["stats"]
