"""The inline keyboards of onboarding and /settings: contents and callback data limits."""

from __future__ import annotations

import pytest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from core.models import (
    OnboardingState,
    OpportunityType,
    Preferences,
    RiskTolerance,
    Tier,
    UserProfile,
)
from messaging.ui import keyboards as kb
from messaging.ui.callbacks import OnboardingCB, SettingsCB
from messaging.ui.keyboards import Act, Page, Step

ARB = frozenset({OpportunityType.ARBITRAGE})
EVERY = frozenset(OpportunityType)
LONGEST_PAIR = "A" * 15 + "/" + "B" * 15


def buttons(markup: InlineKeyboardMarkup) -> list[InlineKeyboardButton]:
    return [b for row in markup.inline_keyboard for b in row]


def data(markup: InlineKeyboardMarkup) -> list[str]:
    return [b.callback_data or "" for b in buttons(markup)]


def labels(markup: InlineKeyboardMarkup) -> list[str]:
    return [b.text for b in buttons(markup)]


def profile(**kw: object) -> UserProfile:
    prefs = kw.pop("prefs", Preferences())
    return UserProfile.model_validate({"user_id": 7, "preferences": prefs, **kw})


def every_keyboard() -> list[InlineKeyboardMarkup]:
    muted = frozenset({LONGEST_PAIR, "BTC/USDT", "ETH/USDT"})
    return [
        kb.onboarding_welcome(),
        kb.onboarding_tier(),
        kb.onboarding_types(EVERY, ARB),
        kb.onboarding_schedule((8, 22), "America/New_York"),
        kb.onboarding_risk(RiskTolerance.HIGH),
        kb.onboarding_exchanges(frozenset(kb.EXCHANGES), ("binance", "bybit", "okx", "kraken")),
        kb.onboarding_done(),
        kb.settings_main(profile(), 0.0),
        kb.settings_main(profile(prefs=Preferences(dnd_until=10.0, muted_pairs=muted)), 5.0),
        kb.settings_types(ARB, ARB),
        kb.settings_muted(muted),
        kb.settings_profit(0.25),
        kb.settings_timezone("Asia/Singapore"),
        kb.settings_hours((0, 24)),
        kb.settings_dnd(True, True),
        kb.settings_risk(RiskTolerance.LOW),
        kb.settings_exchanges(frozenset({"okx"}), ("binance", "bybit", "okx", "kraken")),
        kb.settings_watch(muted, True),
        kb.finish_onboarding(),
        kb.settings_input(Page.MUTED),
    ]


@pytest.mark.parametrize("markup", every_keyboard())
def test_every_button_carries_typed_callback_data_of_at_most_64_bytes(
    markup: InlineKeyboardMarkup,
) -> None:
    assert buttons(markup)
    for raw in data(markup):
        assert 0 < len(raw.encode()) <= 64
        parsed = (OnboardingCB if raw.startswith("ob:") else SettingsCB).unpack(raw)
        assert parsed.pack() == raw


@pytest.mark.parametrize(
    ("step", "markup"),
    [
        (Step.WELCOME, kb.onboarding_welcome()),
        (Step.TIER, kb.onboarding_tier()),
        (Step.TYPES, kb.onboarding_types(EVERY, EVERY)),
        (Step.SCHEDULE, kb.onboarding_schedule((0, 24), "UTC")),
        (Step.RISK, kb.onboarding_risk(RiskTolerance.MEDIUM)),
        (
            Step.EXCHANGES,
            kb.onboarding_exchanges(frozenset(), ("binance", "bybit", "okx", "kraken")),
        ),
    ],
)
def test_every_onboarding_step_offers_next_and_skip_for_its_own_step(
    step: str, markup: InlineKeyboardMarkup
) -> None:
    by_label = {b.text: b.callback_data for b in buttons(markup)}
    assert by_label[kb.NEXT_LABEL] == OnboardingCB(step=step, value="next").pack()
    assert by_label["Skip — finish later with /settings"] == f"ob:{step}:skip"
    assert all(d.startswith(f"ob:{step}:") for d in data(markup))


def test_type_toggles_show_selection_say_what_a_press_does_and_lock_what_the_tier_lacks() -> None:
    markup = kb.onboarding_types(frozenset({OpportunityType.ARBITRAGE}), ARB)
    pairs = list(zip(labels(markup), data(markup), strict=True))
    assert ("✅ Cross-exchange", "ob:types:-arbitrage") in pairs
    assert ("⬜ Funding rate 🔒", "ob:types:+funding") in pairs
    assert ("⬜ Technical 🔒", "ob:types:+technical") in pairs
    settings = kb.settings_types(EVERY, EVERY)
    assert "set:type:-funding" in data(settings)
    assert not any("🔒" in label for label in labels(settings))
    assert data(settings)[-1] == "set:open:"  # back to the main menu


def test_schedule_offers_hour_and_timezone_presets_with_the_current_ones_ticked() -> None:
    markup = kb.onboarding_schedule((8, 22), "Europe/Berlin")
    values = data(markup)
    for hours in ("0-24", "8-22", "9-18"):
        assert f"ob:schedule:h={hours}" in values
    assert set(kb.TIMEZONES) >= {
        "UTC",
        "Europe/London",
        "Europe/Berlin",
        "America/New_York",
        "Asia/Singapore",
        "Asia/Tokyo",
    }
    for tz in kb.TIMEZONES:
        assert f"ob:schedule:tz={tz}" in values
    ticked = [label for label in labels(markup) if label.startswith("✅")]
    assert ticked == ["✅ 08–22", "✅ Berlin"]


def test_exchanges_step_toggles_every_exchange() -> None:
    markup = kb.onboarding_exchanges(frozenset({"binance"}), ("binance", "bybit", "okx", "kraken"))
    offered = ("binance", "bybit", "okx", "kraken")
    assert {f"ob:exchanges:{'-' if ex == 'binance' else '+'}{ex}" for ex in offered} == {
        d for d in data(markup) if d.startswith("ob:exchanges:") and d[13] in "+-"
    }
    assert "✅ Binance" in labels(markup)


def test_settings_menu_reaches_every_preference_and_offers_finishing_onboarding() -> None:
    pending = kb.settings_main(profile(onboarding=OnboardingState.SKIPPED), 0.0)
    values = data(pending)
    assert "set:push:0" in values  # push is on by default: the button turns it off
    for page in kb.PAGES - {Page.MAIN}:
        assert f"set:open:{page}" in values
    assert values[-1] == "set:finish:"
    done = kb.settings_main(profile(onboarding=OnboardingState.COMPLETED, tier=Tier.PREMIUM), 0.0)
    assert "set:finish:" not in data(done)


def test_settings_menu_labels_show_current_values() -> None:
    prefs = Preferences(
        push_enabled=False,
        min_profit_pct=0.5,
        timezone="Asia/Tokyo",
        active_hours=(9, 18),
        dnd_until=100.0,
        risk_tolerance=RiskTolerance.LOW,
        muted_pairs=frozenset({"BTC/USDT"}),
    )
    text = " | ".join(labels(kb.settings_main(profile(prefs=prefs), 50.0)))
    expected = [
        "Push alerts: off",
        "Muted pairs (1)",
        "Min profit 0.5%",
        "Risk: low",
        "Timezone: Asia/Tokyo",
        "Hours: 09–18",
        "Do Not Disturb: on",
        "Exchanges: all",
    ]
    for part in expected:
        assert part in text
    assert "set:push:1" in data(kb.settings_main(profile(prefs=prefs), 50.0))


def test_muted_pairs_get_unmute_buttons_and_a_mute_button() -> None:
    markup = kb.settings_muted(frozenset({"ETH/USDT", "BTC/USDT"}))
    assert data(markup) == [
        "set:unmute:BTC/USDT",
        "set:unmute:ETH/USDT",
        "set:mute:",
        "set:open:",
    ]
    many = kb.settings_muted(frozenset(f"C{i}/USDT" for i in range(100)))
    assert len([d for d in data(many) if d.startswith("set:unmute:")]) == kb.MAX_UNMUTE_BUTTONS


def test_presets_of_profit_dnd_hours_timezone_and_risk() -> None:
    assert data(kb.settings_profit(0.25))[:5] == [
        "set:profit:0",
        "set:profit:0.1",
        "set:profit:0.25",
        "set:profit:0.5",
        "set:profit:1",
    ]
    assert "✅ 0.25%" in labels(kb.settings_profit(0.25))
    dnd = kb.settings_dnd(False, False)
    assert data(dnd)[:4] == ["set:dnd:0", "set:dnd:1", "set:dnd:8", "set:dnd:24"]
    assert "set:pierce:1" in data(dnd)
    assert "set:pierce:0" in data(kb.settings_dnd(True, True))
    assert "set:hours:" in data(kb.settings_hours((8, 22)))  # type them
    assert "set:tz:" in data(kb.settings_timezone("UTC"))  # type one
    assert data(kb.settings_risk(RiskTolerance.HIGH))[:3] == [
        "set:risk:low",
        "set:risk:medium",
        "set:risk:high",
    ]
    assert data(kb.settings_input(Page.TZ)) == [SettingsCB(action=Act.CANCEL, value="tz").pack()]


def test_hours_labels_and_values() -> None:
    assert kb.hours_label((0, 24)) == "always"
    assert kb.hours_label((22, 6)) == "22–06"
    assert kb.hours_value((9, 18)) == "9-18"
    assert kb.toggle_value("okx", {"okx"}) == "-okx"
    assert kb.toggle_value("okx", set()) == "+okx"
