"""One card: an opportunity reads the same in a push, in the /opportunities list and in the
Details answer (issue #13: the list said "Buy/sell" for funding and assumed a $1,000 position
where the push said "Long/short" and showed no size)."""

from __future__ import annotations

from core.models import OpportunityType, Tier
from emulator.html import parse_html
from messaging.ui import push_templates as pt
from messaging.ui import templates
from messaging.ui.card import card

from .test_push_templates import NOW, opp, user


def plain(text: str) -> str:
    return parse_html(text).text


def test_a_funding_opportunity_reads_the_same_pushed_and_listed() -> None:
    funding = opp(
        type=OpportunityType.FUNDING,
        position_usd_low=0.0,
        position_usd_medium=0.0,
        position_usd_high=0.0,
        recommended_position_usd=0.0,
    )
    pushed = plain(pt.single(funding, user(), NOW).text)
    listed = plain(templates.opportunities([funding], user(), NOW))
    for text in (pushed, listed):
        assert "Long on binance at 50,000, short on okx at 50,600" in text
        assert "Buy on" not in text
        assert "$1,000" not in text and "Size for your" not in text  # no size was recommended
    assert plain("\n".join(card(funding, user(), NOW))) in listed
    assert plain("\n".join(card(funding, user(), NOW))) in pushed


def test_the_tier_decides_the_detail_and_details_shows_everything() -> None:
    free, premium = user(Tier.FREE), user(Tier.PREMIUM)
    assert "Validation: gross" not in plain(templates.opportunities([opp()], free, NOW))
    assert "Validation: gross" in plain(templates.opportunities([opp()], premium, NOW))
    full = plain("\n".join(card(opp(), free, NOW, full=True)))
    assert "Validation: gross 1.200%" in full and "a1b2c3d4e5f60718" in full
