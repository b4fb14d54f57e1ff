"""Session keyboards: /logout's confirmation and the expiry reminder's "keep my session"."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from messaging.i18n import _, use_locale
from messaging.ui.callbacks import SessionCB


def confirm_logout() -> InlineKeyboardMarkup:
    """/logout asks first: ending the session stops every alert."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("👋 Yes, log me out"), callback_data=SessionCB(action="logout").pack()
                ),
                InlineKeyboardButton(
                    text=_("✖️ Stay logged in"), callback_data=SessionCB(action="stay").pack()
                ),
            ]
        ]
    )


def keep_session(language: str | None = None) -> InlineKeyboardMarkup:
    """The expiry reminder's one button: pressing it is activity, which extends the session.
    Sent off the bot (the reminder sweep), so in the `language` it is given."""
    keep = SessionCB(action="keep").pack()
    with use_locale(language):
        label = _("✅ Keep my session")
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=label, callback_data=keep)]]
    )
