"""/dnd with absurd durations answers with the limit (ARBCAST_DND_MAX_SECONDS), never with an
error: 400 digits used to raise OverflowError inside the handler."""

from __future__ import annotations

import logging

import pytest

from core.settings import Settings
from messaging.ui import templates
from tests.bot.conftest import BotEnv

THREE_HOURS = 3 * 3_600.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A shorter limit than the default 30 days, to show it is the setting that bounds /dnd."""
    return settings.model_copy(update={"dnd_max_seconds": THREE_HOURS})


@pytest.mark.parametrize(
    "arg",
    [
        "9" * 400,  # bare minutes: float inf, was int(...) * 60.0 -> OverflowError
        "9" * 4_000,  # past int()'s 4,300-digit limit with the command: still no ValueError
        "9" * 400 + "d",
        "1" * 300 + "h30m",
        "4h",
        "181",  # minutes: one past three hours
    ],
)
async def test_a_duration_past_the_limit_is_refused_with_the_limit(
    botenv: BotEnv, arg: str, caplog: pytest.LogCaptureFixture
) -> None:
    await botenv.send(1, "/start")
    with caplog.at_level(logging.ERROR):
        await botenv.send(1, f"/dnd {arg}")
    text = (await botenv.last(1))["text"]
    assert text.startswith("That is longer than 3h, the longest Do Not Disturb.")
    assert "up to 3h" in text
    assert templates.TRY_AGAIN not in await botenv.texts(1)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert (await botenv.services.profiles.get(1)).preferences.dnd_until is None


async def test_a_duration_within_the_limit_is_set(botenv: BotEnv) -> None:
    await botenv.send(1, "/start")
    await botenv.send(1, "/dnd 180")
    profile = await botenv.services.profiles.get(1)
    assert profile.preferences.dnd_until == botenv.clock.now() + THREE_HOURS
