"""Settings of per-user relevance: ``ARBCAST_PERSONALISATION__...`` (`Settings.personalisation`).

The model is online logistic regression (`core.personalisation.model`); these are its learning
rate and regularisation, how each behaviour counts as a label, and how the push path uses the
score. Nothing here can override a rule: relevance only orders a digest that the caps already
sized, and only ever withholds a Low-priority push, never adds one.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class PersonalisationSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_learner: Annotated[
        bool, Field(description="`arbcast run` learns from the event stream (the learner)")
    ] = True
    ranking_enabled: Annotated[
        bool, Field(description="Order the items of a digest by the user's learned relevance")
    ] = True
    learning_rate: Annotated[
        float, Field(gt=0, le=5, description="Step size of the user's own weights per signal")
    ] = 0.3
    tier_learning_rate: Annotated[
        float,
        Field(ge=0, le=5, description="Step size of the tier's shared weights (the cold start)"),
    ] = 0.03
    regularisation: Annotated[
        float, Field(ge=0, lt=1, description="L2 shrinkage of every weight a signal touches")
    ] = 0.01
    low_threshold: Annotated[
        float,
        Field(
            ge=0,
            lt=1,
            description="Withhold a Low-priority push from a user whose relevance for it is "
            "below this (0: never withhold)",
        ),
    ] = 0.0
    unopened_seconds: Annotated[
        float,
        Field(gt=0, description="A delivered alert with no press within this long is unopened"),
    ] = 6 * 3600.0
    lapse_seconds: Annotated[
        float,
        Field(
            gt=0,
            description="Alerts delivered within this long before a session expired count as "
            "having lapsed it",
        ),
    ] = 24 * 3600.0
    impressions_ttl_seconds: Annotated[
        int, Field(gt=0, description="How long a delivered alert is remembered for learning")
    ] = 8 * 86_400
    cache_seconds: Annotated[
        float, Field(ge=0, description="How long a push shard keeps a user's weights in memory")
    ] = 30.0
    weight_details: Annotated[float, Field(ge=0, description="Weight of a Details press (+)")] = 1.0
    weight_vote: Annotated[float, Field(ge=0, description="Weight of a 👍 (+) or 👎 (-)")] = 1.5
    weight_mute: Annotated[float, Field(ge=0, description="Weight of a mute (-)")] = 2.0
    weight_unopened: Annotated[
        float, Field(ge=0, description="Weight of an alert left unopened (-)")
    ] = 0.3
    weight_lapse: Annotated[
        float, Field(ge=0, description="Weight of an alert before a lapsed session (-)")
    ] = 0.5
    prior_watchlist: Annotated[
        float, Field(description="Cold start: log-odds added for a pair on the watchlist")
    ] = 0.5
    prior_own_exchange: Annotated[
        float, Field(description="Cold start: log-odds added per exchange the user trades on")
    ] = 0.25
