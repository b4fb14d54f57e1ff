"""Settings come from ARBCAST_* variables, fail with a message naming the variable, and are
documented one for one in .env.example."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.models import OpportunityType, Tier
from core.settings import (
    NOT_SETTINGS,
    PUBLISHED_SECRET,
    Settings,
    TelegramSettings,
    load_settings,
    setting_names,
    unknown_variables,
)
from core.settings_doc import render, variables

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_settings_from_outside(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """What these tests read is what they set: not the caller's ARBCAST_* variables (make test
    sets ARBCAST_REDIS_BINARY), nor a .env in the working directory."""
    for name in list(os.environ):
        if name.upper().startswith(("ARBCAST_", "REDIS_URL", "TELEGRAM_BOT_TOKEN")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


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


# --- unknown names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("ARBCAST_TELEGRAM__WEBHOOK_SECRETS", "ARBCAST_TELEGRAM__WEBHOOK_SECRET"),
        ("ARBCAST_SESION__TTL_SECONDS", "ARBCAST_SESSION__TTL_SECONDS"),
        ("ARBCAST_TIERS__FRE__DAILY_CAP", "ARBCAST_TIERS__FREE__DAILY_CAP"),
        (
            "ARBCAST_DISTRIBUTION__DELIVERY__MAX_ATTEMPT",
            "ARBCAST_DISTRIBUTION__DELIVERY__MAX_ATTEMPTS",
        ),
        ("arbcast_superadmin_id", "ARBCAST_SUPERADMIN_IDS"),
    ],
)
def test_an_unknown_variable_is_refused_with_the_closest_real_name(
    monkeypatch: pytest.MonkeyPatch, typo: str, meant: str
) -> None:
    monkeypatch.setenv(typo, "1")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert f"{typo} (environment) is not a setting: did you mean {meant}?" in str(err.value)


def test_an_unknown_key_in_dotenv_is_refused_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("ARBCAST_SHARDS=3\nARBCAST_SHARD=4\nOTHER_APP_SETTING=1\n")
    with pytest.raises(
        ConfigError, match=r"ARBCAST_SHARD \(\.env\) .* did you mean ARBCAST_SHARDS"
    ):
        load_settings()
    (tmp_path / ".env").write_text("ARBCAST_SHARDS=3\nOTHER_APP_SETTING=1\n")
    assert load_settings().shards == 3  # keys without our prefix belong to someone else


def test_variables_of_the_tests_and_benchmarks_are_not_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in NOT_SETTINGS:
        monkeypatch.setenv(name, "1")
    assert unknown_variables() == []


def test_every_documented_variable_is_a_known_name() -> None:
    known = setting_names()
    documented = {var for var, _, _ in variables()}
    assert documented <= set(known)
    assert {"ARBCAST_TELEGRAM", "ARBCAST_TIERS__FREE", "REDIS_URL"} <= set(known)


# --- malformed values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("ARBCAST_SUPERADMIN_IDS", "[1,"),
        ("ARBCAST_TIERS__FREE__OPPORTUNITY_TYPES", "[arbitrage]"),
        ("ARBCAST_TELEGRAM", "{bad"),
    ],
)
def test_malformed_json_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match=rf"^{var} \(environment\) is not valid JSON"):
        load_settings()


def test_malformed_json_in_dotenv_names_the_variable_and_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("ARBCAST_SUPERADMIN_IDS=[1,\n")
    with pytest.raises(ConfigError, match=r"ARBCAST_SUPERADMIN_IDS \(\.env\) is not valid JSON"):
        load_settings()


@pytest.mark.parametrize("url", ["localhost:6379", "http://localhost:6379", "foo://bar"])
def test_a_redis_url_of_another_scheme_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("REDIS_URL", url)
    with pytest.raises(ConfigError, match=r"REDIS_URL: must start with redis://"):
        load_settings()


# --- the webhook secret ------------------------------------------------------------------------


def test_without_a_configured_secret_each_start_makes_a_random_valid_one() -> None:
    a, b = TelegramSettings(), TelegramSettings(webhook_secret="")  # type: ignore[arg-type]
    for tg in (a, b):
        assert tg.webhook_secret_generated
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", tg.webhook_secret.get_secret_value())
    assert a.webhook_secret != b.webhook_secret
    configured = TelegramSettings(webhook_secret="mine_1")  # type: ignore[arg-type]
    assert configured.webhook_secret.get_secret_value() == "mine_1"
    assert not configured.webhook_secret_generated


def test_the_process_default_secret_is_random_not_published() -> None:
    """What `arbcast run --webhook` uses with nothing configured, and what the docs show."""
    assert Settings().telegram.webhook_secret.get_secret_value() != PUBLISHED_SECRET
    example = (ROOT / ".env.example").read_text()
    assert "# ARBCAST_TELEGRAM__WEBHOOK_SECRET=\n" in example
    assert PUBLISHED_SECRET not in example


def test_the_published_old_default_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBCAST_TELEGRAM__WEBHOOK_SECRET", PUBLISHED_SECRET)
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET: 'arbcast-dev-secret' is the published"):
        load_settings()
