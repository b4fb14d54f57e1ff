"""Texts rendered off the bot are in the recipient's language, whatever context they run in.

Push cards, digests, away summaries, closed edits, reminders and plan notices are rendered by
shards, the outbox and sweeps, where no update (and so no middleware) sets a language: each
takes it from the recipient's profile, or is given it.
"""

from __future__ import annotations

from core.distribution.user_queue import Outgoing
from core.models import Opportunity, OpportunityType, Priority, Tier, UserProfile
from messaging.i18n import current_language, pick_language, use_locale
from messaging.ui import plans, push_templates, templates
from messaging.ui.keyboards import keep_session

NOW = 1_800_000_000.0


def _funding(oid: str = "f1") -> Opportunity:
    return Opportunity(
        opportunity_id=oid, type=OpportunityType.FUNDING, symbol="ETH/USDT",
        buy_exchange="binance", sell_exchange="okx", buy_price=100.0, sell_price=100.2,
        net_spread_pct=0.4, expected_profit_pct=0.4, confidence=0.8, priority=Priority.HIGH,
        detected_at=NOW - 300, updated_at=NOW, expires_at=NOW + 600, funding_interval_s=28_800,
        next_funding_ts=NOW + 3_600, funding_diff_pct=0.01, funding_periods=3,
    )  # fmt: skip


def _profile(language: str) -> UserProfile:
    return UserProfile(user_id=7, first_name="Аня", tier=Tier.PREMIUM, language=language)


def test_a_push_card_is_in_the_recipients_language() -> None:
    """The same opportunity reads in Russian for a Russian profile and in English for an
    English one: the head, every card line and the buttons."""
    ru = push_templates.single(_funding(), _profile("ru"), NOW)
    en = push_templates.single(_funding(), _profile("en"), NOW)
    assert ru.text.startswith("⚡ Аня, новая возможность\n<b>ETH/USDT</b> · Ставка финансирования")
    assert "Чистый спред после комиссий и проскальзывания: <b>0.400%</b>" in ru.text
    assert "Фандинг каждые 8ч · следующий через 1ч" in ru.text
    assert en.text.startswith("⚡ Аня, a new opportunity\n<b>ETH/USDT</b> · Funding rate")
    assert ru.markup is not None and en.markup is not None
    assert [b.text for b in ru.markup.inline_keyboard[0]][:2] == [
        "ℹ️ Подробнее",
        "🔕 Заглушить ETH/USDT",
    ]
    assert [b.text for b in en.markup.inline_keyboard[0]][:2] == ["ℹ️ Details", "🔕 Mute ETH/USDT"]


def test_the_profile_wins_over_the_language_of_the_surrounding_context() -> None:
    """A push rendered while another language is current (a shard inside some handler's
    context) is still in the recipient's; the surrounding language is restored after."""
    with use_locale("ru"):
        en = push_templates.single(_funding(), _profile("en"), NOW)
        assert current_language() == "ru"
    assert "a new opportunity" in en.text and "возможность" not in en.text
    assert current_language() == "en"


def test_digest_away_and_closed_use_russian_plurals_and_words() -> None:
    """A digest of two, an away summary of five and the closed edit, for a Russian profile."""
    ru = _profile("ru")
    digest = push_templates.digest([_funding("a"), _funding("b")], ru, NOW)
    assert digest.text.startswith("📬 Аня, 2 возможности, лучшие первыми")
    away = push_templates.away(5, ru)
    assert away.text.startswith(
        "🌙 Пока вас не было, 5 возможностей появились и закрылись до конца тихого времени."
    )
    closed = push_templates.closed(_funding(), ru, NOW)
    assert closed.text.startswith("🔒 <b>Закрыта</b> в ")


def test_render_of_a_queue_outgoing_follows_the_profile() -> None:
    """`render`, the entry the outbox calls per recipient, answers in each one's language."""
    outgoing = Outgoing("o1", 7, "single", ("f1",), Priority.HIGH, NOW, "f1")
    opps = {"f1": _funding()}
    ru = push_templates.render(outgoing, opps, _profile("ru"), NOW)
    en = push_templates.render(outgoing, opps, _profile(""), NOW)
    assert ru is not None and en is not None
    assert "Ставка финансирования" in ru.text
    assert "Funding rate" in en.text  # no language stored yet: English


def test_reminders_and_plan_notices_take_the_language_they_are_given() -> None:
    """The sweeps' texts (session reminder and its button, lapse and refund notices) are
    rendered in the language passed, English when none is."""
    assert templates.session_reminder(NOW + 86_400, NOW, "UTC", "ru").startswith(
        "⏳ Ваша сессия закончится через 1д"
    )
    assert templates.session_reminder(NOW + 86_400, NOW, "UTC").startswith("⏳ Your session ends")
    assert keep_session("ru").inline_keyboard[0][0].text == "✅ Продлить сессию"
    assert plans.fell_back(Tier.PREMIUM, "ru").startswith("Ваш тариф Premium закончился")
    assert (
        plans.refunded(Tier.BASIC, "en")
        == "Your Basic payment was refunded, so you are on Free now."
    )


def test_telegram_language_codes_pick_russian_only_for_russian() -> None:
    """``ru`` and its regional tags are Russian; anything else, or none, is English."""
    assert [pick_language(c) for c in ("ru", "ru-RU", "RU", "en", "en-US", "uk", None, "")] == [
        "ru", "ru", "ru", "en", "en", "en", "en", "en",
    ]  # fmt: skip
