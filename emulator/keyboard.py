"""reply_markup validation: inline keyboards as Telegram checks them, other markups passed on."""

from __future__ import annotations

from typing import Any

from emulator.errors import (
    BUTTON_DATA_INVALID,
    BUTTON_URL_INVALID,
    INLINE_KEYBOARD_EXPECTED,
    REPLY_MARKUP_INVALID,
    bad_request,
)

MAX_CALLBACK_DATA_BYTES = 64
_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_URL_SCHEMES = ("http://", "https://", "tg://")
BUTTON_TEXT_EMPTY = "Bad Request: text buttons are unallowed in the inline keyboard"


def _check_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request(REPLY_MARKUP_INVALID)
    if not any(key in button for key in _ACTIONS):
        raise bad_request(BUTTON_TEXT_EMPTY)
    if "callback_data" in button:
        data = button["callback_data"]
        size = len(data.encode()) if isinstance(data, str) else 0
        if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request(BUTTON_DATA_INVALID)
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not url.startswith(_URL_SCHEMES) or len(url) < 8:
            raise bad_request(BUTTON_URL_INVALID)


def validate_markup(markup: Any) -> dict[str, Any] | None:
    """The markup as stored and echoed back, or a 400 ApiError."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request(REPLY_MARKUP_INVALID)
    if "inline_keyboard" not in markup:
        if not any(k in markup for k in ("keyboard", "remove_keyboard", "force_reply")):
            raise bad_request(REPLY_MARKUP_INVALID)
        return markup
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(INLINE_KEYBOARD_EXPECTED)
    for row in rows:
        for button in row:
            _check_button(button)
    return {"inline_keyboard": rows}


def inline_only(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a Message object shows as reply_markup: inline keyboards only, as in Telegram."""
    if markup is not None and "inline_keyboard" in markup:
        return markup
    return None
