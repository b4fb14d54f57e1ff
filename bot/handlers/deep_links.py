"""Counting `/start` from a group's or a channel's link (``/start ch_m100…``, ``g_m100…``).

Called by `/start` once the session is open, so each start is counted with what it did
(``started`` a new session or ``resumed`` one) and the chat it came from: the groups report
(`analytics.groups_report`) adds them up per group and channel.
"""

from __future__ import annotations

from aiogram.enums import ChatType
from aiogram.types import Message

from core.events import EventName
from core.groups.deeplinks import parse_start_payload
from core.services import Services


def start_payload_of(message: Message) -> str | None:
    parts = (message.text or "").split(maxsplit=1)
    return parts[1] if len(parts) == 2 else None


def record_deep_link_start(
    services: Services, message: Message, user_id: int, session_id: str, outcome: str
) -> None:
    """Emit `EventName.DEEPLINK_START` when a private `/start` carries one of our payloads."""
    if message.chat.type != ChatType.PRIVATE:
        return
    source = parse_start_payload(start_payload_of(message))
    if source is None:
        return
    services.emit(
        EventName.DEEPLINK_START,
        user_id=user_id,
        session_id=session_id,
        source=source.kind,
        chat_id=source.chat_id,
        action=outcome,
    )
