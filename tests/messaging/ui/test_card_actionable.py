"""The card a trader can act on (issue #15): both exchanges linked to their market pages, the net
spread after fees and slippage with the breakdown in Details, for funding the interval, the next
funding time and the expected payment, the size for the user's risk, how long it has been open
(from the `now` passed in), and a confidence that never reads 100 %. In every rendering: push,
digest item, /opportunities list and Details."""

from __future__ import annotations

from typing import Any

import pytest

from core.models import OpportunityType, RiskTolerance, Tier
from emulator.html import parse_html
from messaging.ui import push_templates as pt
from messaging.ui import templates
from messaging.ui.card import card, digest_item
from messaging.ui.market_links import market_url

from .test_push_templates import NOW, opp, user

HOUR = 3600.0


def links(html: str) -> list[tuple[str, str]]:
    """(link text, url) of every link, as Telegram would parse them."""
    parsed = parse_html(html)
    utf16 = parsed.text.encode("utf-16-le")
    return [
        (utf16[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le"), e["url"])
        for e in parsed.entities
        if e["type"] == "text_link"
    ]


def plain(html: str) -> str:
    return parse_html(html).text


def funding(**kw: Any) -> Any:
    fields: dict[str, Any] = {
        "type": OpportunityType.FUNDING,
        "funding_interval_s": 8 * HOUR,
        "next_funding_ts": NOW + 2 * HOUR + 13 * 60,
        "funding_diff_pct": 0.03,
        "funding_periods": 3,
        "gross_spread_pct": 0.09,
        "fees_pct": 0.19,
        "slippage_pct": 0.0,
        "buy_fees_pct": 0.08,
        "sell_fees_pct": 0.11,
    }
    fields.update(kw)
    return opp(**fields)


def renderings(o: Any, profile: Any) -> dict[str, str]:
    return {
        "push": pt.single(o, profile, NOW).text,
        "digest": pt.digest([o, opp("b" * 16, symbol="ETH/USDT")], profile, NOW).text,
        "list": templates.opportunities([o], profile, NOW),
        "details": "\n".join(card(o, profile, NOW, full=True)),
    }


def test_every_rendering_links_both_exchanges_to_their_spot_pages() -> None:
    for where, html in renderings(opp(), user()).items():
        found = links(html)
        assert ("binance", "https://www.binance.com/en/trade/BTC_USDT") in found, where
        assert ("okx", "https://www.okx.com/trade-spot/btc-usdt") in found, where


def test_funding_links_go_to_the_perpetual_pages() -> None:
    found = links(pt.single(funding(), user(), NOW).text)
    assert found == [
        ("binance", "https://www.binance.com/en/futures/BTCUSDT"),
        ("okx", "https://www.okx.com/trade-swap/btc-usdt-swap"),
    ]


def test_a_technical_signal_links_its_one_exchange() -> None:
    tech = opp(type=OpportunityType.TECHNICAL, buy_exchange="kraken", sell_exchange="kraken")
    assert links(pt.single(tech, user(), NOW).text) == [
        ("kraken", "https://pro.kraken.com/app/trade/btc-usdt")
    ]


def test_market_urls_per_exchange_and_no_guess_for_the_unknown() -> None:
    spot, perp = OpportunityType.ARBITRAGE, OpportunityType.FUNDING
    assert market_url("bybit", "SOL/USDT", spot) == "https://www.bybit.com/en/trade/spot/SOL/USDT"
    assert market_url("bybit", "SOL/USDT", perp) == "https://www.bybit.com/trade/usdt/SOLUSDT"
    assert market_url("kraken", "BTC/USDT", perp) == (
        "https://futures.kraken.com/trade/futures/PF_XBTUSD"
    )
    assert market_url("coinbase", "BTC/USDT", spot) is None
    assert market_url("binance", 'BTC/"><script>', spot) is None


def test_an_unknown_exchange_is_named_escaped_without_a_link() -> None:
    o = opp(buy_exchange="a<i>", sell_exchange="b&c")
    html = pt.single(o, user(), NOW).text
    assert links(html) == []
    assert "Buy on a<i> at 50,000, sell on b&c at 50,600" in plain(html)


def test_net_after_fees_and_slippage_with_the_breakdown_in_details() -> None:
    free = user(Tier.FREE)
    push = plain(pt.single(opp(), free, NOW).text)
    assert "Net spread after fees and slippage: 0.950% (breakdown in Details)" in push
    assert "Validation" not in push
    details = plain(
        "\n".join(card(opp(buy_fees_pct=0.08, sell_fees_pct=0.12), free, NOW, full=True))
    )
    assert "Validation: gross 1.200% − fees 0.200% − slippage 0.050% = net 0.950%" in details
    assert "Fees: binance 0.080% · okx 0.120%" in details
    assert "(breakdown in Details)" not in details
    # an opportunity stored before fees per side were recorded: no made-up split
    assert "Fees:" not in plain("\n".join(card(opp(), free, NOW, full=True)))


def test_funding_card_shows_interval_next_funding_and_expected_payment() -> None:
    profile = user(timezone="Europe/Berlin", risk_tolerance=RiskTolerance.MEDIUM)
    for where, html in renderings(funding(), profile).items():
        text = plain(html)
        # 00:00 UTC + 2h13m = 02:13 UTC = 03:13 CET; $2,500 × 0.03 % = $0.75 a funding
        assert "Funding every 8h · next in 2h 13m (03:13 CET) · difference 0.0300% per funding" in (
            text
        ), where
        payment = "Expected payment: $0.75 per funding on $2,500, $2.25 over 3 fundings (1d)"
        assert f"{payment}, before fees" in text, where


def test_a_past_funding_time_rolls_forward_on_the_interval() -> None:
    text = plain(pt.single(funding(next_funding_ts=NOW - HOUR), user(), NOW).text)
    assert "next in 7h (07:00 UTC)" in text


def test_funding_without_a_recommended_size_states_the_payment_as_a_share() -> None:
    o = funding(
        position_usd_low=0.0,
        position_usd_medium=0.0,
        position_usd_high=0.0,
        recommended_position_usd=0.0,
    )
    text = plain(pt.single(o, user(), NOW).text)
    assert (
        "Expected payment: 0.0300% of the position per funding, 0.0900% over 3 fundings (1d), "
        "before fees"
    ) in text
    assert "$" not in text.split("Expected payment")[1].splitlines()[0]


def test_the_size_follows_the_users_risk() -> None:
    for risk, size in (("low", "$1,000"), ("medium", "$2,500"), ("high", "$6,000")):
        text = plain(pt.single(opp(), user(risk_tolerance=RiskTolerance(risk)), NOW).text)
        assert f"Size for your {risk} risk: {size}" in text


def test_open_for_is_measured_from_detection_to_the_given_now() -> None:
    o = opp(detected_at=NOW - 125)
    assert "open for 2m 5s" in plain(pt.single(o, user(), NOW).text)
    assert "open for 1h 2m" in plain(pt.single(o, user(), NOW + 3_600).text)
    assert "open for 2m 5s" in plain(digest_item(1, o, user(), NOW, updated=False))


@pytest.mark.parametrize("confidence", [1.0, 0.999, 0.995, 0.0, 0.001])
def test_confidence_never_reads_100_or_0_percent(confidence: float) -> None:
    o = opp(confidence=confidence)
    for where, html in renderings(o, user(Tier.PREMIUM)).items():
        text = plain(html)
        assert "100%" not in text and "onfidence 0%" not in text, where
    shown = "99%" if confidence > 0.5 else "1%"
    assert f"Confidence {shown}:" in plain(pt.single(o, user(), NOW).text)


def test_a_digest_of_funding_cards_stays_within_telegram_limits() -> None:
    many = [funding(opportunity_id=f"{i:016x}", symbol=f"COIN{i}/USDT") for i in range(5)]
    d = pt.digest(many, user(Tier.SUPERADMIN), NOW)
    assert len(plain(d.text)) <= 4096
    assert d.markup is not None
    for row in d.markup.inline_keyboard:
        for button in row:
            assert len((button.callback_data or "").encode()) <= 64
