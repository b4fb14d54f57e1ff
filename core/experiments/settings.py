"""Experiments declared in settings: ``ARBCAST_EXPERIMENTS__RUNNING='[{"name": ...}]'``.

Each experiment names its variants, their share of traffic, when it runs, and what each variant
changes. A variant changes only what it names; the rest stays as configured.
"""

from __future__ import annotations

import re
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

_NAME = re.compile(r"^[a-z0-9_]{1,40}$")


class Variant(BaseModel):
    # extra="forbid": a misspelt (or unsupported) change fails at start-up with its name, instead
    # of a variant that silently changes nothing.
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Field(pattern=_NAME.pattern, description="Variant name, e.g. control")]
    weight: Annotated[
        float, Field(gt=0, description="Share of traffic (relative to the others)")
    ] = 1.0
    ranking: Annotated[bool | None, Field(description="Digest ranking on/off (None: as set)")] = (
        None
    )
    low_threshold: Annotated[
        float | None, Field(ge=0, lt=1, description="Low-priority relevance threshold")
    ] = None
    batching_window_seconds: Annotated[
        float | None,
        Field(gt=0, description="Medium and Low batching window (queues activated from then)"),
    ] = None


class Experiment(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: Annotated[str, Field(pattern=_NAME.pattern, description="Experiment name")]
    variants: Annotated[tuple[Variant, ...], Field(min_length=2)]
    start: Annotated[float, Field(description="Runs from this time (epoch seconds)")] = 0.0
    stop: Annotated[float, Field(description="...until this time (epoch seconds)")] = float("inf")

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError(f"experiment {self.name}: variant names must differ: {names}")
        if self.stop <= self.start:
            raise ValueError(f"experiment {self.name}: stop must be after start")
        return self

    def running(self, now: float) -> bool:
        return self.start <= now < self.stop


class ExperimentSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    running: Annotated[
        tuple[Experiment, ...],
        Field(description="Declared experiments (JSON list); at most one should change a setting"),
    ] = ()
