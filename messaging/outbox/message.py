"""What the push outbox carries: one rendered Telegram message (`OutboxMessage`), and a claimed
stream entry holding one (`OutboxEntry`). Kept apart from the outbox's Redis logic so that the
renderers (`messaging.outbox.pushes`) and the senders share the format without the storage."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from aiogram.types import InlineKeyboardMarkup
from pydantic import BaseModel, ConfigDict

from core.distribution.user_queue import Outgoing
from core.store.keys import outbox_stream

MessageKind = Literal["send", "edit"]


class OutboxMessage(BaseModel):
    """One Telegram message to send (or edit), rendered and ready."""

    model_config = ConfigDict(frozen=True)

    outgoing_id: str
    user_id: int
    chat_id: int
    text: str  # Telegram HTML
    reply_markup: str | None = None  # InlineKeyboardMarkup as JSON
    opportunity_ids: tuple[str, ...] = ()
    priority: str = "medium"
    attempt: int = 0  # 5xx/network failures so far
    created_at: float  # when the queue decided to send it (for latency)
    kind: MessageKind = "send"
    message_id: int | None = None  # for "edit": the message to edit
    # For analytics: the recipient's tier, and the type and detection time of the first (best)
    # opportunity, so delivery is counted per tier and type and its latency runs from detection.
    tier: str = ""
    opportunity_type: str = ""
    detected_at: float | None = None
    # Groups and channels (core.groups): the chat's kind, and the forum topic it posts to.
    chat_kind: str = ""
    thread_id: int | None = None

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_outgoing(
        cls,
        outgoing: Outgoing,
        text: str,
        markup: InlineKeyboardMarkup | None,
        *,
        chat_id: int | None = None,
        tier: str = "",
        opportunity_type: str = "",
        detected_at: float | None = None,
    ) -> OutboxMessage:
        """The outbox message of a queue's `Outgoing`, rendered (see `messaging.ui.push_templates`);
        `chat_id` defaults to the user's private chat."""
        return cls(
            outgoing_id=outgoing.outgoing_id,
            user_id=outgoing.user_id,
            chat_id=outgoing.user_id if chat_id is None else chat_id,
            text=text,
            reply_markup=to_markup_json(markup),
            opportunity_ids=outgoing.opportunity_ids,
            priority=outgoing.priority.value,
            created_at=outgoing.created_at,
            kind="edit" if outgoing.kind == "edit_closed" else "send",
            message_id=outgoing.message_id,
            tier=tier,
            opportunity_type=opportunity_type,
            detected_at=detected_at,
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> OutboxMessage:
        return cls.model_validate_json(raw)


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A claimed stream entry: the message and where it sits in the stream."""

    entry_id: str
    message: OutboxMessage
    partition: int = 0
    high: bool = False  # read from the partition's HIGH lane

    @property
    def stream(self) -> str:
        return outbox_stream(self.partition, high=self.high)


def to_markup_json(markup: InlineKeyboardMarkup | None) -> str | None:
    """An aiogram InlineKeyboardMarkup as the JSON an `OutboxMessage` carries."""
    if markup is None:
        return None
    return json.dumps(markup.model_dump(exclude_none=True), separators=(",", ":"))
