"""The placement options the factory gives shards and senders (`actors.placement`), without Ray:
the nodes are given. The cluster itself is `test_multinode.py`."""

from __future__ import annotations

from actors.placement import options
from core.settings import RaySettings

# Node ids as Ray writes them (28 bytes in hex); Ray checks their form.
NODES = [c * 56 for c in "abc"]


def test_spread_puts_the_ith_actor_of_a_kind_on_the_ith_node_softly_with_a_memory_request() -> None:
    """Actor i goes to node i (wrapping round), with a soft affinity (so Ray may restart it
    elsewhere when that node dies) and a memory request in bytes (without one, Ray would ignore
    the affinity and pick a random node)."""
    settings = RaySettings(placement="spread", placement_memory_mb=1.5)
    placed = [options(settings, i, NODES) for i in range(4)]
    strategies = [p["scheduling_strategy"] for p in placed]
    assert [s.node_id for s in strategies] == [*NODES, NODES[0]]
    assert all(s.soft for s in strategies)
    assert {p["memory"] for p in placed} == {1_572_864}


def test_default_leaves_placement_to_ray() -> None:
    """No strategy and no resource request: Ray's own choice, as before the setting."""
    assert options(RaySettings(placement="default"), 1, NODES) == {}


def test_spread_is_the_default_setting() -> None:
    """A deployment spreads its shards and senders unless told otherwise."""
    assert RaySettings().placement == "spread"
