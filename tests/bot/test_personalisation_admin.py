"""/admin_stats lists the experiments running now (declared in settings), with their split and
the users assigned so far (counted from Redis, where the assignment events are recorded once);
an experiment not yet started is not listed. Through the emulator, real Redis."""

from __future__ import annotations

import pytest

from core.experiments.settings import Experiment, ExperimentSettings, Variant
from core.settings import Settings
from core.store import keys
from core.store.client import answer
from tests.bot.conftest import BotEnv
from tests.core.personalisation.factories import T0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The bot suite's settings, with one experiment running and one not yet started."""
    running = Experiment(
        name="rank", variants=(Variant(name="control", ranking=False), Variant(name="ranked"))
    )
    later = Experiment(
        name="later", variants=(Variant(name="a"), Variant(name="b")), start=T0 + 86_400
    )
    return settings.model_copy(update={"experiments": ExperimentSettings(running=(running, later))})


async def test_admin_stats_lists_running_experiments(botenv: BotEnv) -> None:
    await answer(botenv.services.redis.sadd(keys.experiment_assigned("rank"), 1, 2, 3))
    await botenv.send(999, "/start")
    await botenv.send(999, "/admin_stats")
    text = (await botenv.last(999))["text"]
    assert "Experiments running:" in text
    assert "rank: control 50%, ranked 50%; 3 users assigned" in text
    assert "later" not in text
