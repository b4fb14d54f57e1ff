"""Where the factory places the actors of which there are several (queue shards, push senders).

With `ray.placement = "spread"` (the default), actor `i` of a kind goes to the `i`-th live node,
counting from the creator's own node, then the other nodes in order of their ids. On two nodes,
shard 0 and sender 0 stay beside the driver and shard 1 and sender 1 go to the other node; on
one node nothing changes. The affinity is soft: when that node dies, Ray restarts the actor
(`max_restarts=-1`) on a live node. A node that joins later gets the actors created after it
joined; running actors do not move.

Why not simply Ray's own strategies: every arbcast actor asks for `num_cpus=0`, and Ray places
an actor that asks for no resource at all on a random node, whatever its strategy (only a hard
node affinity is honoured; Ray PR #25360). Seen here on two nodes: with `SPREAD`, both shards
or both senders landed on the same node in two runs of three, and so did a soft affinity. So a
spread actor also asks for `ray.placement_memory_mb` of memory, Ray's logical accounting, not a
limit: with that, a soft affinity (and `SPREAD`) is honoured. `"default"` asks for nothing and
leaves placement to Ray.
"""

from __future__ import annotations

from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from core.settings import RaySettings

_MB = 1024 * 1024


def live_nodes() -> list[str]:
    """The ids of the live nodes: the caller's own first, then the others sorted by id."""
    own: str = ray.get_runtime_context().get_node_id()
    nodes: list[dict[str, Any]] = ray.nodes()  # type: ignore[no-untyped-call]
    others = sorted(n["NodeID"] for n in nodes if n["Alive"] and n["NodeID"] != own)
    return [own, *others]


def options(settings: RaySettings, index: int, nodes: list[str] | None = None) -> dict[str, Any]:
    """Ray options that place actor `index` of a kind. Pass `nodes` (from `live_nodes`) when
    several actors are placed at once, so they are all counted against the same list."""
    if settings.placement == "default":
        return {}
    nodes = nodes if nodes is not None else live_nodes()
    node = nodes[index % len(nodes)]
    return {
        "scheduling_strategy": NodeAffinitySchedulingStrategy(node_id=node, soft=True),
        "memory": int(settings.placement_memory_mb * _MB),
    }
