"""What a user sees of personalisation, through the emulator: a 👍 the learner reads from the
events the bot emitted raises that kind of alert, `/why <opportunity id>` says so (relevance,
how many actions taught it, what raised it), and the /settings row "Reset personalisation"
forgets it (weights gone in Redis, `/why` back to zero actions). Real Redis."""

from __future__ import annotations

from core.events import MemoryEventLog
from core.models import OpportunityType, Tier
from core.personalisation.learner import Learner
from core.personalisation.store import RelevanceStore
from core.store import keys
from core.store.client import answer
from messaging.ui.callbacks import SettingsCB
from messaging.ui.keyboards import Act
from tests.bot.conftest import BotEnv
from tests.bot.settings_screens import click, open_settings
from tests.bot.test_commands import sample


async def _learn_from_emitted(env: BotEnv) -> int:
    store = RelevanceStore(env.services.redis, env.services.settings.personalisation)
    learner = Learner(store, env.services.profiles, env.services.opportunities)
    log = env.services.events
    assert isinstance(log, MemoryEventLog)
    return await learner.apply([e.__dict__ for e in log.events])


async def test_a_vote_is_learned_explained_by_why_and_reset_from_settings(botenv: BotEnv) -> None:
    now = botenv.clock.now()
    await botenv.services.opportunities.put(
        sample(1, now, opportunity_id="f1", type=OpportunityType.FUNDING)
    )
    await botenv.services.opportunities.put(
        sample(2, now, opportunity_id="a1", type=OpportunityType.ARBITRAGE)
    )
    settings_id = await open_settings(botenv)
    await botenv.services.profiles.set_tier(1, Tier.PREMIUM)  # both types in the plan
    await botenv.press(1, settings_id, "op:up:f1")
    await botenv.press(1, settings_id, "op:down:a1")
    assert await _learn_from_emitted(botenv) == 2
    assert await answer(botenv.services.redis.hget(keys.relevance_weights(1), "t:funding"))

    await botenv.send(1, "/why f1")
    text = (await botenv.last(1))["text"]
    assert "Why f1 ranks where it does for you" in text
    assert "learned from 2 of your actions" in text
    # Both alerts share pair, exchanges and hour; what tells them apart is the type.
    raised = next(line for line in text.splitlines() if line.startswith("⬆️ Raised by:"))
    assert raised.startswith("⬆️ Raised by: type funding")

    reset = SettingsCB(action=Act.RESET_RELEVANCE, value="").pack()
    await click(botenv, 1, settings_id, reset)
    assert "Personalisation reset" in (await botenv.callback_answers(1))[-1]["text"]
    assert not await botenv.services.redis.exists(keys.relevance_weights(1))
    log = botenv.services.events
    assert isinstance(log, MemoryEventLog)
    [change] = [
        e for e in log.named("preferences.changed") if e.attrs.get("field") == "personalisation"
    ]
    assert change.attrs["value"] == "reset"
    await botenv.send(1, "/why f1")
    assert "learned from 0 of your actions" in (await botenv.last(1))["text"]


async def test_why_with_two_arguments_stays_the_superadmins(botenv: BotEnv) -> None:
    """`/why <user> <opportunity>` is still refused to a user; an unknown id is said so."""
    await botenv.send(5, "/start")
    await botenv.send(5, "/why 5 nope")
    assert (
        "SuperAdmin" in (await botenv.last(5))["text"]
        or "admin" in (await botenv.last(5))["text"].lower()
    )
    await botenv.send(5, "/why nope")
    assert "No opportunity nope is known" in (await botenv.last(5))["text"]
