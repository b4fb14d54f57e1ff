"""Settings come from ARBCAST_* variables, fail with a message naming the variable, and are
documented one for one in .env.example."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from core.models import OpportunityType, Tier
from core.settings import load_settings
from core.settings_doc import render

ROOT = Path(__file__).resolve().parents[2]


def test_nested_and_unprefixed_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBCAST_SESSION__TTL_SECONDS", "60")
    monkeypatch.setenv("ARBCAST_TIERS__FREE__DAILY_CAP", "11")
    monkeypatch.setenv("ARBCAST_TIERS__FREE__OPPORTUNITY_TYPES", '["arbitrage","funding"]')
    monkeypatch.setenv("ARBCAST_SUPERADMIN_IDS", "[1, 2]")
    monkeypatch.setenv("REDIS_URL", "redis://example:6379/0")
    s = load_settings()
    assert s.session.ttl_seconds == 60
    assert s.tier_limits(Tier.FREE).daily_cap == 11
    assert s.tier_limits(Tier.FREE).opportunity_types == {
        OpportunityType.ARBITRAGE,
        OpportunityType.FUNDING,
    }
    assert s.tier_limits(Tier.FREE).hourly_cap == 2  # the rest of the tier keeps its defaults
    assert s.tier_limits(Tier.PREMIUM).daily_cap == 100
    assert s.superadmin_ids == {1, 2}
    assert s.redis_url == "redis://example:6379/0"


@pytest.mark.parametrize(
    ("var", "value", "named"),
    [
        ("ARBCAST_SESSION__TTL_SECONDS", "-1", "ARBCAST_SESSION__TTL_SECONDS"),
        ("ARBCAST_SESSION__SWEEP_INTERVAL_SECONDS", "600", "SWEEP_INTERVAL_SECONDS"),
        ("ARBCAST_TELEGRAM__WEBHOOK_SECRET", "has spaces!", "WEBHOOK_SECRET"),
        ("ARBCAST_TIERS__FREE__DAILY_CAP", "many", "DAILY_CAP"),
    ],
)
def test_bad_settings_raise_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, named: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match=named):
        load_settings()


@pytest.mark.parametrize("token", [None, "", "abc", "123:short", "12:has space in it........"])
def test_a_missing_or_malformed_token_says_how_to_fix_it(
    monkeypatch: pytest.MonkeyPatch, token: str | None
) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    if token is not None:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", token)
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN"):
        load_settings().bot_token()


def test_a_well_formed_token_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:AAH" + "x" * 32)
    assert load_settings().bot_token().startswith("123456:")


def test_env_example_documents_every_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("REDIS_URL", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    example = (ROOT / ".env.example").read_text()
    assert render() in example, "regenerate .env.example with: make env-example"
