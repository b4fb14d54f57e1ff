"""The six eligibility layers, rule by rule: each rejects with its stable code and passes when
its condition holds; layers are checked in order; evaluation never consumes quota."""

from __future__ import annotations

from typing import Any

import pytest

from core.distribution.caps import Counters, commit
from core.distribution.eligibility import (
    REASON_CODES,
    ChatContext,
    Policy,
    RecipientState,
    Use,
    Verdict,
    explain,
)
from core.models import OnboardingState, OpportunityType, Priority, SessionState, Tier

from .factories import GROUP, PRIVATE, T0, opportunity, policy, recipient

HOUR = 3600.0


def check(
    state: RecipientState,
    context: ChatContext = PRIVATE,
    now: float = T0,
    pol: Policy | None = None,
    **opp: Any,
) -> Verdict:
    return explain(state, opportunity(**opp), now, context, policy=pol or policy())


def rejects(code: str, verdict: Verdict) -> None:
    assert verdict.eligible is False
    assert verdict.reason == code
    assert verdict.layer == int(code[1])
    assert verdict.detail


def passes(verdict: Verdict) -> None:
    assert verdict == Verdict(True, None, "ok", "eligible")


def test_a_default_premium_user_with_an_active_session_is_eligible() -> None:
    passes(check(recipient()))


def test_reason_codes_are_stable_and_name_their_layer() -> None:
    assert REASON_CODES[0] == "ok"
    assert all(c.startswith(f"L{c[1]}:") and c[1] in "123456" for c in REASON_CODES[1:])
    assert len(set(REASON_CODES)) == len(REASON_CODES)


# Layer 1 -------------------------------------------------------------------------------------


def test_l1_no_session_is_rejected() -> None:
    rejects("L1:no_session", check(recipient(no_session=True)))


@pytest.mark.parametrize("state", [SessionState.EXPIRED, SessionState.TERMINATED])
def test_l1_ended_session_is_rejected(state: SessionState) -> None:
    rejects("L1:session_inactive", check(recipient(session_kw={"state": state})))


def test_l1_session_past_expiry_is_rejected_even_before_the_sweeper_ran() -> None:
    rejects("L1:session_expired", check(recipient(session_kw={"expires_at": T0})))
    passes(check(recipient(session_kw={"expires_at": T0 + 0.001})))


# Layer 2 -------------------------------------------------------------------------------------


def test_l2_type_outside_the_tier_is_rejected() -> None:
    rejects("L2:tier_type", check(recipient(tier=Tier.BASIC), type=OpportunityType.TECHNICAL))
    passes(check(recipient(tier=Tier.BASIC), type=OpportunityType.FUNDING))


def test_l2_tier_delay_must_have_elapsed_since_detection() -> None:
    free = recipient(tier=Tier.FREE)
    rejects("L2:tier_delay", check(free, detected_at=T0 - 299.5))
    passes(check(free, detected_at=T0 - 300))


# Layer 3 -------------------------------------------------------------------------------------


def test_l3_push_switched_off_is_rejected() -> None:
    rejects("L3:push_off", check(recipient(prefs={"push_enabled": False})))


def test_l3_unwanted_type_is_rejected() -> None:
    only_funding = recipient(prefs={"opportunity_types": frozenset({OpportunityType.FUNDING})})
    rejects("L3:type_unwanted", check(only_funding))
    passes(check(only_funding, type=OpportunityType.FUNDING))


def test_l3_muted_pair_is_rejected() -> None:
    muted = recipient(prefs={"muted_pairs": frozenset({"BTC/USDT"})})
    rejects("L3:pair_muted", check(muted))
    passes(check(muted, symbol="ETH/USDT"))


def test_l3_profit_below_the_users_minimum_is_rejected() -> None:
    picky = recipient(prefs={"min_profit_pct": 0.8})
    rejects("L3:min_profit", check(picky, expected_profit_pct=0.79))
    passes(check(picky, expected_profit_pct=0.8))


def test_l3_do_not_disturb_rejects_until_it_ends() -> None:
    dnd = recipient(prefs={"dnd_until": T0 + 60})
    rejects("L3:dnd", check(dnd))
    rejects("L3:dnd", check(dnd, priority=Priority.HIGH))
    passes(check(dnd, now=T0 + 60))


def test_l3_high_priority_pierces_dnd_only_for_users_who_opted_in() -> None:
    dnd = recipient(prefs={"dnd_until": T0 + 60, "high_priority_pierces_dnd": True})
    passes(check(dnd, priority=Priority.HIGH))
    rejects("L3:dnd", check(dnd, priority=Priority.MEDIUM))


def test_l3_active_hours_use_the_users_timezone() -> None:
    # T0 is 00:00 UTC = 09:00 in Tokyo, 19:00 (previous day) in New York.
    tokyo = recipient(prefs={"timezone": "Asia/Tokyo", "active_hours": (8, 18)})
    passes(check(tokyo))
    rejects("L3:active_hours", check(tokyo, now=T0 + 9 * HOUR))  # 18:00 Tokyo
    ny = recipient(prefs={"timezone": "America/New_York", "active_hours": (8, 18)})
    rejects("L3:active_hours", check(ny))


def test_l3_active_hours_may_wrap_past_midnight() -> None:
    night = recipient(prefs={"active_hours": (22, 6)})  # UTC
    passes(check(night))  # 00:00
    passes(check(night, now=T0 + 5 * HOUR + 3599))
    rejects("L3:active_hours", check(night, now=T0 + 6 * HOUR))
    passes(check(night, now=T0 + 22 * HOUR))


def test_l3_active_hours_0_24_mean_always() -> None:
    always = recipient(prefs={"active_hours": (0, 24)})
    for h in range(24):
        passes(check(always, now=T0 + h * HOUR))


def test_l3_active_hours_follow_dst_changes() -> None:
    # New York springs forward on 2026-03-08 at 07:00 UTC (02:00 EST -> 03:00 EDT).
    spring = 1_772_953_200.0  # 2026-03-08T07:00:00Z
    ny = recipient(
        prefs={"timezone": "America/New_York", "active_hours": (3, 4)},
        session_kw={"expires_at": spring + 86400},
    )
    rejects("L3:active_hours", check(ny, now=spring - 1))  # 01:59:59 EST
    passes(check(ny, now=spring))  # 03:00 EDT


# Layer 4 -------------------------------------------------------------------------------------


def test_l4_daily_cap_counts_today_only() -> None:
    full = recipient(tier=Tier.FREE, counters=Counters.of(T0, used_today=5))
    rejects("L4:daily_cap", check(full))
    passes(check(full, now=T0 + 86400))  # a new UTC day


def test_l4_hourly_cap_counts_this_hour_only() -> None:
    full = recipient(tier=Tier.FREE, counters=Counters.of(T0, used_today=2, used_this_hour=2))
    rejects("L4:hourly_cap", check(full))
    passes(check(full, now=T0 + HOUR))


def test_l4_push_cooldown_must_have_passed() -> None:
    recent = recipient(tier=Tier.FREE, counters=Counters.of(T0, 1, 1, last_push_at=T0 - 100))
    rejects("L4:cooldown", check(recent, now=T0 + 4 * HOUR - 101))
    passes(check(recent, now=T0 + 4 * HOUR - 100))


def test_l4_cap_of_zero_is_unlimited() -> None:
    admin = recipient(tier=Tier.SUPERADMIN, counters=Counters.of(T0, 10**6, 10**6, T0))
    passes(check(admin))


def test_l4_group_uses_its_own_counters_with_caps_doubled() -> None:
    free = {"tier": Tier.FREE}
    assert check(recipient(**free, counters=Counters.of(T0, 9, 3)), GROUP).eligible
    rejects("L4:daily_cap", check(recipient(**free, counters=Counters.of(T0, 10, 0)), GROUP))
    rejects("L4:hourly_cap", check(recipient(**free, counters=Counters.of(T0, 4, 4)), GROUP))
    rejects("L4:daily_cap", check(recipient(**free, counters=Counters.of(T0, 5, 0)), PRIVATE))


def test_l4_group_multiplier_is_a_setting() -> None:
    state = recipient(tier=Tier.FREE, counters=Counters.of(T0, 10, 0))
    passes(check(state, GROUP, pol=policy(group_cap_multiplier=3)))


def test_commit_counts_a_push_and_rolls_over_by_day_and_hour() -> None:
    c = commit(Counters(), T0)
    assert (c.today(T0), c.this_hour(T0), c.last_push_at) == (1, 1, T0)
    c = commit(c, T0 + 10, 2)
    assert (c.today(T0 + 10), c.this_hour(T0 + 10)) == (3, 3)
    c = commit(c, T0 + HOUR, push=False)  # on-demand: shares caps, not the cooldown
    assert (c.today(T0 + HOUR), c.this_hour(T0 + HOUR), c.last_push_at) == (4, 1, T0 + 10)
    assert c.today(T0 + 86400) == 0


def test_evaluation_never_consumes_quota_of_a_user_rejected_later() -> None:
    counters = Counters.of(T0, 1, 1)
    state = recipient(tier=Tier.FREE, counters=counters, trading_restricted=True)
    for _ in range(10):
        rejects("L6:restricted", check(state))
    assert state.counters == counters


# Layer 5 -------------------------------------------------------------------------------------


def test_l5_opportunity_exchanges_must_be_among_the_users() -> None:
    narrow = recipient(exchanges=frozenset({"binance", "kraken"}))
    rejects("L5:exchange", check(narrow))
    passes(check(narrow, sell_exchange="kraken"))


def test_l5_empty_exchange_list_means_all_exchanges() -> None:
    passes(check(recipient(exchanges=frozenset()), buy_exchange="gate", sell_exchange="mexc"))


def test_l5_user_who_skipped_onboarding_gets_what_the_tier_allows() -> None:
    skipped = recipient(tier=Tier.FREE, onboarding=OnboardingState.SKIPPED)
    passes(check(skipped))
    rejects("L2:tier_type", check(skipped, type=OpportunityType.FUNDING))


# Layer 6 -------------------------------------------------------------------------------------


def test_l6_trading_restriction_blocks() -> None:
    rejects("L6:restricted", check(recipient(trading_restricted=True)))


def test_l6_blocked_region_blocks_case_insensitively() -> None:
    pol = policy(blocked_regions=frozenset({"us", " KP "}))
    rejects("L6:region", check(recipient(region="US"), pol=pol))
    rejects("L6:region", check(recipient(region="kp"), pol=pol))
    passes(check(recipient(region="DE"), pol=pol))
    passes(check(recipient(region=""), pol=pol))


# Order ---------------------------------------------------------------------------------------


def test_the_first_failing_layer_is_reported() -> None:
    everything_wrong = recipient(
        tier=Tier.FREE,
        prefs={"push_enabled": False},
        counters=Counters.of(T0, 99, 99, T0),
        trading_restricted=True,
        session_kw={"expires_at": T0 - 1},
    )
    assert check(everything_wrong).reason == "L1:session_expired"
    assert check(recipient(prefs={"push_enabled": False}, trading_restricted=True)).layer == 3


def test_defer_quiet_skips_dnd_and_active_hours_only() -> None:
    quiet = recipient(prefs={"dnd_until": T0 + 60, "active_hours": (8, 9)})
    opp = opportunity()
    assert explain(quiet, opp, T0, PRIVATE, policy=policy(), defer_quiet=True).eligible
    muted = recipient(prefs={"dnd_until": T0 + 60, "muted_pairs": frozenset({"BTC/USDT"})})
    v = explain(muted, opp, T0, PRIVATE, policy=policy(), defer_quiet=True)
    assert v.reason == "L3:pair_muted"


# Uses: which rules answer /opportunities and a card's buttons ---------------------------------

# Each case: a recipient (and opportunity fields) failing exactly one rule, and whether that rule
# answers a push, an /opportunities listing, and a button on a card already shown. Written out
# by hand from the product's rules, not derived from `APPLIES`.
_FULL_DAY = Counters.of(T0, used_today=100, used_this_hour=0)
_USES_TABLE: list[tuple[str, RecipientState, dict[str, Any], tuple[bool, bool, bool]]] = [
    ("L1:no_session", recipient(no_session=True), {}, (True, True, True)),
    ("L2:tier_type", recipient(tier=Tier.BASIC), {"type": OpportunityType.TECHNICAL},
     (True, True, True)),
    ("L2:tier_delay", recipient(tier=Tier.BASIC), {"detected_at": T0 - 1}, (True, True, True)),
    ("L3:push_off", recipient(prefs={"push_enabled": False}), {}, (True, False, False)),
    ("L3:type_unwanted", recipient(prefs={"opportunity_types": frozenset()}), {},
     (True, True, False)),
    ("L3:pair_muted", recipient(prefs={"muted_pairs": frozenset({"BTC/USDT"})}), {},
     (True, True, False)),
    ("L3:not_watched", recipient(prefs={"watchlist": frozenset({"ETH/USDT"}), "watch_only": True}),
     {}, (True, True, False)),
    ("L3:min_profit", recipient(prefs={"min_profit_pct": 5.0}), {}, (True, True, False)),
    ("L3:dnd", recipient(prefs={"dnd_until": T0 + 60}), {}, (True, False, False)),
    ("L3:active_hours", recipient(prefs={"active_hours": (9, 17)}), {}, (True, False, False)),
    ("L4:daily_cap", recipient(counters=_FULL_DAY), {}, (True, False, False)),
    ("L4:cooldown", recipient(counters=Counters.of(T0, 1, 1, last_push_at=T0 - 1)), {},
     (True, False, False)),
    ("L5:exchange", recipient(exchanges=frozenset({"kraken"})), {}, (True, True, False)),
    ("L6:restricted", recipient(trading_restricted=True), {}, (True, True, True)),
    ("L6:region", recipient(region="us"), {}, (True, True, True)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("code", "state", "opp", "answers"), _USES_TABLE, ids=[c[0] for c in _USES_TABLE]
)
def test_each_rule_answers_the_questions_it_belongs_to(
    code: str, state: RecipientState, opp: dict[str, Any], answers: tuple[bool, bool, bool]
) -> None:
    """A push asks every rule; /opportunities, asked for by the user, not the push switch,
    quiet times or the caps (the reply takes quota for the whole list); a button on a shown card
    only the session, the plan and compliance, not the user's filters."""
    pol = policy(blocked_regions=frozenset({"US"}))
    for use, refused in zip(Use, answers, strict=True):
        verdict = explain(state, opportunity(**opp), T0, PRIVATE, policy=pol, use=use)
        if refused:
            rejects(code, verdict)
        else:
            passes(verdict)
