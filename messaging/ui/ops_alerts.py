"""What a SuperAdmin reads when an operations threshold trips, and its Mute button."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Final

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from core.alerts.evaluator import Alert
from core.alerts.rules import AlertKind
from messaging.i18n import N_, _, use_locale
from messaging.ui.callbacks import OpsAlertCB

TITLES: Final[dict[AlertKind, str]] = {
    AlertKind.SINK_LAG: N_("Analytics sink lagging"),
    AlertKind.TELEGRAM_429: N_("Telegram refusing sends (429)"),
    AlertKind.DEAD_LETTERS: N_("Dead letters waiting"),
    AlertKind.NO_OPPORTUNITIES: N_("No opportunities"),
}

_WHAT: Final[dict[AlertKind, str]] = {
    AlertKind.SINK_LAG: N_(
        "{value:g} event batches not yet written to Parquet (threshold "
        "{threshold:g}). Check the sink in /healthz."
    ),
    AlertKind.TELEGRAM_429: N_(
        "{value:g} 429s per minute (threshold {threshold:g}). Sends are "
        "being refused: check the rate limits."
    ),
    AlertKind.DEAD_LETTERS: N_(
        "{value:g} dead letters waiting (threshold {threshold:g}). "
        "List and replay them with <code>arbcast outbox dead-letters</code>."
    ),
    AlertKind.NO_OPPORTUNITIES: N_(
        "No opportunity has been live since {since}. Check the market feed and the engine."
    ),
}


def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def alert_text(alert: Alert, language: str | None = None) -> str:
    """Sent off the bot (the alert check), so in the `language` it is given."""
    with use_locale(language):
        what = _(_WHAT[alert.kind]).format(
            value=alert.value, threshold=alert.threshold, since=_utc(alert.since)
        )
        return f"🚨 <b>{escape(_(TITLES[alert.kind]))}</b>\n{what}"


def muted_text(kind: AlertKind, until: float) -> str:
    return _("🔕 {title}: muted until {until}.").format(title=_(TITLES[kind]), until=_utc(until))


def mute_keyboard(
    kind: AlertKind, mute_seconds: float, language: str | None = None
) -> InlineKeyboardMarkup:
    hours = mute_seconds / 3600
    with use_locale(language):
        label = (
            _("🔕 Mute for {n} h").format(n=f"{hours:g}")
            if hours >= 1
            else _("🔕 Mute for {n} min").format(n=f"{mute_seconds / 60:g}")
        )
    data = OpsAlertCB(action="mute", kind=kind.value).pack()
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=label, callback_data=data)]]
    )
