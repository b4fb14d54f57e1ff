"""Group and channel cards show the opportunity and nothing personal: no name, no position size
from anyone's risk; their buttons are Details for whoever presses (callback `grp`), and a
channel's post adds the "get them live" deep link."""

from __future__ import annotations

import json
from typing import Any

from core.distribution.user_queue import Outgoing
from core.groups.deeplinks import start_url
from core.models import Opportunity, Preferences, Priority, RiskTolerance, Tier, UserProfile
from messaging.ui import group_card
from messaging.ui.callbacks import PREFIXES, GroupCardCB
from tests.actors.test_user_queue_shard import opp

NOW = 1_767_225_600.0
G = -1001234


def reader(tier: Tier = Tier.PREMIUM) -> UserProfile:
    # A name and a risk as a user's profile would carry: neither may show.
    return UserProfile(
        user_id=G,
        first_name="Alice",
        tier=tier,
        preferences=Preferences(risk_tolerance=RiskTolerance.HIGH, timezone="Europe/Moscow"),
    )


def sized(oid: str = "o1", **kw: Any) -> Opportunity:
    return opp(
        NOW,
        oid,
        recommended_position_usd=5000.0,
        position_usd_low=1000.0,
        position_usd_medium=2500.0,
        position_usd_high=7777.0,
        **kw,
    )


def test_a_single_shows_no_name_and_no_size_and_details_for_the_presser() -> None:
    """A group's single: the card without greeting or sizing; one Details button."""
    o = sized()
    rendered = group_card.render(
        Outgoing("x:1:1", G, "single", ("o1",), Priority.HIGH, NOW, "d"), {"o1": o}, reader(), NOW
    )
    assert rendered is not None
    assert "Alice" not in rendered.text and "Trader" not in rendered.text
    assert "7,777" not in rendered.text and "Size for" not in rendered.text
    assert "BTC/USDT" in rendered.text
    assert rendered.markup is not None
    [[button]] = rendered.markup.inline_keyboard
    assert GroupCardCB.unpack(button.callback_data or "") == GroupCardCB(
        action="details", opportunity_id="o1"
    )
    assert GroupCardCB.__prefix__ in PREFIXES


def test_a_digest_numbers_its_details_buttons_best_first() -> None:
    """A group digest: items best first, no sizes, one numbered Details per item."""
    a, b = sized("a", expected_profit_pct=0.2), sized("b", expected_profit_pct=0.9)
    out = Outgoing("x:1:2", G, "digest", ("a", "b"), Priority.MEDIUM, NOW, "d")
    rendered = group_card.render(out, {"a": a, "b": b}, reader(), NOW)
    assert rendered is not None and rendered.markup is not None
    assert rendered.text.startswith("📬 2 opportunities")
    assert "Size for" not in rendered.text
    assert [x.text for x in rendered.markup.inline_keyboard[0]] == ["ℹ️ 1", "ℹ️ 2"]
    assert [
        GroupCardCB.unpack(x.callback_data or "").opportunity_id
        for x in rendered.markup.inline_keyboard[0]
    ] == ["b", "a"]


def test_a_closed_edit_and_a_gone_opportunity() -> None:
    """Closed: struck through, no buttons; a message whose opportunities are gone is not sent."""
    closed = group_card.render(
        Outgoing("x:1:3", G, "edit_closed", ("o1",), Priority.HIGH, NOW, "d"),
        {"o1": sized()},
        reader(),
        NOW,
    )
    assert closed is not None and closed.markup is None and "<s>" in closed.text
    gone = Outgoing("x:1:4", G, "single", ("zz",), Priority.HIGH, NOW, "d")
    assert group_card.render(gone, {}, reader(), NOW) is None


def test_a_channel_post_links_to_the_bot_with_its_payload() -> None:
    """The channel post: the public card, Details, and a URL button to /start ch_<id>."""
    url = start_url("arbcast_bot", "channel", -100777)
    rendered = group_card.channel_post(sized(), reader(Tier.FREE), NOW, url)
    assert rendered.markup is not None
    rows = json.loads(rendered.markup.model_dump_json(exclude_none=True))["inline_keyboard"]
    assert rows[1] == [
        {"text": "⚡ Get them live", "url": "https://t.me/arbcast_bot?start=ch_m100777"}
    ]
    assert "Size for" not in rendered.text and "Alice" not in rendered.text
