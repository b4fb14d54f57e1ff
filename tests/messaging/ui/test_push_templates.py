"""Push templates: escaping, per-tier detail, the user's timezone and risk, digests, buttons."""

from __future__ import annotations

from typing import Any

import pytest

from core.distribution.user_queue import Outgoing
from core.models import (
    Opportunity,
    OpportunityType,
    Preferences,
    Priority,
    RiskTolerance,
    Tier,
    UserProfile,
)
from emulator.html import parse_html
from messaging.ui import push_templates as pt
from messaging.ui.callbacks import OpportunityCB

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def opp(oid: str = "a1b2c3d4e5f60718", **kw: Any) -> Opportunity:
    fields: dict[str, Any] = {
        "opportunity_id": oid,
        "type": OpportunityType.ARBITRAGE,
        "symbol": "BTC/USDT",
        "buy_exchange": "binance",
        "sell_exchange": "okx",
        "buy_price": 50_000.0,
        "sell_price": 50_600.0,
        "net_spread_pct": 0.95,
        "expected_profit_pct": 0.8,
        "confidence": 0.87,
        "priority": Priority.HIGH,
        "detected_at": NOW - 60,
        "updated_at": NOW - 60,
        "expires_at": NOW + 300,
        "gross_spread_pct": 1.2,
        "fees_pct": 0.2,
        "slippage_pct": 0.05,
        "available_depth_usd": 40_000.0,
        "min_position_usd": 500.0,
        "position_usd_low": 1_000.0,
        "position_usd_medium": 2_500.0,
        "position_usd_high": 6_000.0,
    }
    fields.update(kw)
    return Opportunity(**fields)


def user(tier: Tier = Tier.FREE, **prefs: Any) -> UserProfile:
    return UserProfile(user_id=7, first_name="Ann", tier=tier, preferences=Preferences(**prefs))


def plain(text: str) -> str:
    """What Telegram shows; fails on HTML that Telegram would refuse."""
    return parse_html(text).text


def out(kind: Any, ids: tuple[str, ...], **kw: Any) -> Outgoing:
    return Outgoing(
        outgoing_id="7:1",
        user_id=7,
        kind=kind,
        opportunity_ids=ids,
        priority=Priority.MEDIUM,
        created_at=NOW,
        dedup_key="k",
        **kw,
    )


def test_values_are_escaped() -> None:
    o = opp(symbol="<b>X&Y</b>", buy_exchange="a<i>", sell_exchange="b&c")
    profile = UserProfile(user_id=7, first_name="<script>Bob</script>", tier=Tier.PREMIUM)
    r = pt.single(o, profile, NOW)
    assert "<script>" not in r.text
    shown = plain(r.text)
    assert "<script>Bob</script>, a new opportunity" in shown
    assert "<b>X&Y</b>" in shown
    assert "Buy on a<i> at 50,000, sell on b&c at 50,600" in shown
    d = pt.digest([o], profile, NOW)
    assert "<b>X&Y</b>" in plain(d.text)


def test_higher_tiers_get_validation_depth_and_fees() -> None:
    free = plain(pt.single(opp(), user(Tier.FREE), NOW).text)
    basic = plain(pt.single(opp(), user(Tier.BASIC), NOW).text)
    for t in (Tier.PREMIUM, Tier.ENTERPRISE, Tier.SUPERADMIN):
        rich = plain(pt.single(opp(), user(t), NOW).text)
        assert "Validation: gross 1.200% − fees 0.200% − slippage 0.050% = net 0.950%" in rich
        assert "Depth $40,000 · min position $500" in rich
        assert "a1b2c3d4e5f60718" in rich
    for text in (free, basic):
        assert "Validation" not in text
        assert "Depth" not in text
        assert "a1b2c3d4e5f60718" not in text
        assert "Net spread after fees and slippage: 0.950% (breakdown in Details)" in text


def test_times_are_in_the_users_timezone() -> None:
    berlin = plain(pt.single(opp(), user(timezone="Europe/Berlin"), NOW).text)
    assert "Detected 00:59 CET · valid until 01:05 CET" in berlin
    tokyo = plain(pt.single(opp(), user(timezone="Asia/Tokyo"), NOW).text)
    assert "valid until 09:05 JST" in tokyo
    # another day than now: the date is shown
    late = plain(pt.single(opp(expires_at=NOW + 86_400), user(), NOW).text)
    assert "valid until 2026-01-02 00:00 UTC" in late
    # an unknown zone falls back to UTC rather than failing
    assert "UTC" in plain(pt.single(opp(), user(timezone="Mars/Olympus"), NOW).text)


@pytest.mark.parametrize(
    ("risk", "size", "profit"),
    [
        (RiskTolerance.LOW, "$1,000", "$8.00"),
        (RiskTolerance.MEDIUM, "$2,500", "$20.00"),
        (RiskTolerance.HIGH, "$6,000", "$48.00"),
    ],
)
def test_position_size_follows_risk_tolerance(risk: RiskTolerance, size: str, profit: str) -> None:
    text = plain(pt.single(opp(), user(risk_tolerance=risk), NOW).text)
    assert f"Size for your {risk.value} risk: {size} → est. profit {profit}" in text


def test_no_size_line_without_a_recommendation() -> None:
    o = opp(position_usd_low=0, position_usd_medium=0, position_usd_high=0)
    assert "Size for" not in plain(pt.single(o, user(), NOW).text)


def test_each_type_reads_its_own_way() -> None:
    funding = plain(pt.single(opp(type=OpportunityType.FUNDING), user(), NOW).text)
    assert "Long on binance at 50,000, short on okx at 50,600" in funding
    assert "Funding rate" in funding
    technical = plain(pt.single(opp(type=OpportunityType.TECHNICAL), user(), NOW).text)
    assert "Signal on binance: entry 50,000, target 50,600" in technical


def test_single_has_the_five_buttons_within_64_bytes() -> None:
    r = pt.single(opp(), user(), NOW)
    assert r.markup is not None
    [row] = r.markup.inline_keyboard
    assert [b.text for b in row] == [
        "ℹ️ Details",
        "🔕 Mute BTC/USDT",
        "🔕 Mute Cross-exchange",
        "👍",
        "👎",
    ]
    actions = [OpportunityCB.unpack(b.callback_data or "").action for b in row]
    assert actions == ["details", "mute_pair", "mute_type", "up", "down"]
    for b in row:
        assert b.callback_data is not None
        assert len(b.callback_data.encode()) <= 64
        assert OpportunityCB.unpack(b.callback_data).opportunity_id == "a1b2c3d4e5f60718"


def test_an_id_too_long_for_callback_data_gets_no_buttons() -> None:
    longest = "x" * (64 - len("op:mute_type:"))
    assert len(pt.callback("mute_type", longest).encode()) == 64
    with pytest.raises(ValueError, match="too long"):
        pt.callback("mute_type", longest + "x")
    assert pt.single(opp(oid=longest + "x"), user(), NOW).markup is None


def test_digest_is_best_first_capped_and_marks_updates() -> None:
    items = [
        opp("low1", priority=Priority.LOW, expected_profit_pct=5.0, symbol="LOW/USDT"),
        opp("med1", priority=Priority.MEDIUM, expected_profit_pct=0.5, symbol="M1/USDT"),
        opp("med2", priority=Priority.MEDIUM, expected_profit_pct=0.9, symbol="M2/USDT"),
        opp("low2", priority=Priority.LOW, expected_profit_pct=0.1, symbol="L2/USDT"),
    ]
    r = pt.digest(items, user(), NOW, updated=["med1"], max_items=3)
    text = plain(r.text)
    assert text.startswith("📬 Ann, 3 opportunities, best first")
    assert text.index("M2/USDT") < text.index("M1/USDT") < text.index("LOW/USDT")
    assert "L2/USDT" not in text
    assert "…and 1 more: see /opportunities" in text
    assert "M1/USDT · Cross-exchange · 🔁 updated" in text
    assert "M2/USDT · Cross-exchange\n" in text
    assert r.markup is not None
    rows = r.markup.inline_keyboard
    assert [row[0].text for row in rows] == ["ℹ️ 1", "ℹ️ 2", "ℹ️ 3"]
    assert [OpportunityCB.unpack(row[0].callback_data or "").opportunity_id for row in rows] == [
        "med2",
        "med1",
        "low1",
    ]


def test_a_long_digest_stays_within_telegrams_length() -> None:
    items = [opp(f"id{i}", symbol="S" * 300) for i in range(20)]
    r = pt.digest(items, user(Tier.SUPERADMIN), NOW, max_items=20)
    assert len(plain(r.text)) <= 4096
    assert "more: see /opportunities" in r.text


def test_render_dispatches_on_kind_and_skips_unknown_opportunities() -> None:
    known = {"a": opp("a"), "b": opp("b", symbol="ETH/USDT")}
    single = pt.render(out("single", ("a",)), known, user(), NOW)
    assert single is not None
    assert "a new opportunity" in single.text
    dig = pt.render(out("digest", ("a", "b", "gone")), known, user(), NOW)
    assert dig is not None
    assert "2 opportunities" in plain(dig.text)
    assert pt.render(out("single", ("gone",)), known, user(), NOW) is None


def test_alerts_missed_in_quiet_time_are_told_in_the_digest_or_on_their_own() -> None:
    known = {"a": opp("a")}
    dig = pt.render(out("digest", ("a",), missed=1), known, user(), NOW)
    assert dig is not None
    assert "While you were away, 1 opportunity came and went" in plain(dig.text)
    away = pt.render(out("away", (), missed=4), {}, user(), NOW)
    assert away is not None and away.markup is None
    text = plain(away.text)
    assert "While you were away, 4 opportunities came and went" in text
    assert "Ann, send /opportunities" in text and "/settings" in text
    plain_digest = pt.render(out("digest", ("a",)), known, user(), NOW)
    assert plain_digest is not None and "away" not in plain_digest.text


def test_closed_edit_strikes_the_card_and_drops_the_buttons() -> None:
    known = {"a": opp("a")}
    r = pt.render(out("edit_closed", ("a",), message_id=5), known, user(Tier.FREE), NOW + 120)
    assert r is not None
    assert r.markup is None
    parsed = parse_html(r.text)
    assert parsed.text.startswith("🔒 Closed at 00:02 UTC")
    assert any(e["type"] == "strikethrough" for e in parsed.entities)
    gone = pt.render(out("edit_closed", ("zzz",), message_id=5), known, user(), NOW)
    assert gone is not None
    assert plain(gone.text) == "🔒 Closed at 00:00 UTC."
