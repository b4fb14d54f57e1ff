"""Deterministic assignment: the same user lands in the same variant in every process, forever.

The variant is a function of (experiment, user) alone: the first 8 bytes of
SHA-256("<experiment>:<user>") as a fraction of 2^64, against the variants' cumulative shares.
hashlib, not `hash()`, which Python salts per process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from core.experiments.settings import Experiment, Variant


def bucket(experiment: str, user_id: int) -> float:
    """A uniform number in [0, 1) fixed by (experiment, user)."""
    digest = hashlib.sha256(f"{experiment}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def variant_of(experiment: Experiment, user_id: int) -> Variant:
    x = bucket(experiment.name, user_id) * sum(v.weight for v in experiment.variants)
    for v in experiment.variants:
        if x < v.weight:
            return v
        x -= v.weight
    return experiment.variants[-1]  # float rounding at the very top


@dataclass(frozen=True, slots=True)
class Assigned:
    experiment: str
    variant: Variant


@dataclass(frozen=True, slots=True)
class Overrides:
    """What the running experiments change for one user now (None: as configured)."""

    ranking: bool | None = None
    low_threshold: float | None = None
    assigned: tuple[Assigned, ...] = ()


def overrides(experiments: Sequence[Experiment], user_id: int, now: float) -> Overrides:
    ranking: bool | None = None
    threshold: float | None = None
    assigned: list[Assigned] = []
    for e in experiments:
        if not e.running(now):
            continue
        v = variant_of(e, user_id)
        assigned.append(Assigned(e.name, v))
        ranking = v.ranking if v.ranking is not None else ranking
        threshold = v.low_threshold if v.low_threshold is not None else threshold
    return Overrides(ranking, threshold, tuple(assigned))
