"""Session keyboards: /logout's confirmation and the expiry reminder's "keep my session"."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from messaging.ui.callbacks import SessionCB


def confirm_logout() -> InlineKeyboardMarkup:
    """/logout asks first: ending the session stops every alert."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text="👋 Yes, log me out", callback_data=SessionCB(action="logout").pack()
                ),
                InlineKeyboardButton(
                    text="✖️ Stay logged in", callback_data=SessionCB(action="stay").pack()
                ),
            ]
        ]
    )


def keep_session() -> InlineKeyboardMarkup:
    """The expiry reminder's one button: pressing it is activity, which extends the session."""
    keep = SessionCB(action="keep").pack()
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="✅ Keep my session", callback_data=keep)]]
    )
