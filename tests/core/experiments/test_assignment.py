"""Assignment is a pure function of (experiment, user): the same in another process (hash
randomisation on), close to the declared split over many users, and independent between
experiments; overrides apply only while an experiment runs. Declarations are validated."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import pytest
from pydantic import ValidationError

from core.experiments.assignment import bucket, overrides, variant_of
from core.experiments.settings import Experiment, Variant

EXP = Experiment(
    name="rank",
    variants=(
        Variant(name="control", ranking=False),
        Variant(name="ranked", weight=3, ranking=True),
    ),
    start=100.0,
    stop=200.0,
)


def test_the_same_user_gets_the_same_variant_in_another_process() -> None:
    here = [variant_of(EXP, u).name for u in range(1, 200)]
    code = (
        "from core.experiments.assignment import variant_of\n"
        "from tests.core.experiments.test_assignment import EXP\n"
        "print(','.join(variant_of(EXP, u).name for u in range(1, 200)))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout.strip()
    assert out.split(",") == here


def test_the_split_follows_the_weights_and_experiments_are_independent() -> None:
    counts = Counter(variant_of(EXP, u).name for u in range(20_000))
    assert counts["ranked"] / 20_000 == pytest.approx(0.75, abs=0.015)
    other = Experiment(name="other", variants=(Variant(name="a"), Variant(name="b")))
    both = Counter((variant_of(EXP, u).name, variant_of(other, u).name) for u in range(20_000))
    # Independent: within each arm of one, the other splits about evenly.
    assert both[("ranked", "a")] / counts["ranked"] == pytest.approx(0.5, abs=0.03)
    assert 0 <= bucket("rank", 1) < 1 and bucket("rank", 1) != bucket("other", 1)


def test_overrides_only_while_running() -> None:
    assert overrides([EXP], 1, 99.0).assigned == ()
    running = overrides([EXP], 1, 150.0)
    [a] = running.assigned
    assert running.ranking is a.variant.ranking
    assert overrides([EXP], 1, 200.0).ranking is None


def test_bad_declarations_are_refused_with_the_reason() -> None:
    with pytest.raises(ValidationError, match="variant names must differ"):
        Experiment(name="x", variants=(Variant(name="a"), Variant(name="a")))
    with pytest.raises(ValidationError, match="stop must be after start"):
        Experiment(name="x", variants=(Variant(name="a"), Variant(name="b")), start=5, stop=5)
    with pytest.raises(ValidationError):
        Experiment(name="x", variants=(Variant(name="a"),))


def test_a_variant_with_an_unknown_change_is_refused_by_name() -> None:
    """A variant may change only what the shards apply; anything else (a misspelling, or a
    template variant, which is not offered) fails validation naming the field."""
    with pytest.raises(ValidationError, match="template"):
        Variant.model_validate({"name": "b", "template": "compact"})
