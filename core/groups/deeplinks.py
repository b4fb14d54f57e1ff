"""The `/start` payloads of links the bot posts in groups and channels.

``g_<chat id>`` (a group's card: "open it in private") and ``ch_<chat id>`` (a channel's
"get them live" link). Telegram allows ``A-Za-z0-9_-`` up to 64 characters in a payload, so a
negative chat id is written with ``m`` for its minus sign. `/start` with one of them records
where the user came from (`EventName.DEEPLINK_START`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

SourceKind = Literal["group", "channel"]
_PREFIX: dict[SourceKind, str] = {"group": "g", "channel": "ch"}
_PATTERN = re.compile(r"^(g|ch)_(m?)(\d{1,20})$")


@dataclass(frozen=True, slots=True)
class DeepLinkSource:
    kind: SourceKind
    chat_id: int


def start_payload(kind: SourceKind, chat_id: int) -> str:
    sign = "m" if chat_id < 0 else ""
    return f"{_PREFIX[kind]}_{sign}{abs(chat_id)}"


def parse_start_payload(payload: str | None) -> DeepLinkSource | None:
    """The group or channel a `/start` payload names (None: not one of ours)."""
    match = _PATTERN.match((payload or "").strip())
    if match is None:
        return None
    prefix, minus, digits = match.groups()
    kind: SourceKind = "group" if prefix == "g" else "channel"
    return DeepLinkSource(kind, -int(digits) if minus else int(digits))


def start_url(bot_username: str, kind: SourceKind, chat_id: int) -> str:
    return f"https://t.me/{bot_username}?start={start_payload(kind, chat_id)}"
