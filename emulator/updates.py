"""A bot's pending updates: long polling with offsets, and what the webhook has yet to deliver."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from emulator.errors import TERMINATED_BY_OTHER_POLL, ApiError

# Delivered when allowed_updates is empty, as Telegram does.
DEFAULT_EXCLUDED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


def update_type(payload: dict[str, Any]) -> str:
    return next((key for key in payload if key != "update_id"), "")


def chat_key(payload: dict[str, Any]) -> str:
    """Updates with the same key are delivered one at a time, in order."""
    body = payload.get(update_type(payload))
    if isinstance(body, dict):
        for holder in (body, body.get("message")):
            chat = holder.get("chat") if isinstance(holder, dict) else None
            if isinstance(chat, dict) and "id" in chat:
                return f"chat:{chat['id']}"
        sender = body.get("from")
        if isinstance(sender, dict) and "id" in sender:
            return f"user:{sender['id']}"
    return f"update:{payload.get('update_id')}"


@dataclass
class PendingUpdate:
    update_id: int
    payload: dict[str, Any]
    key: str
    done: asyncio.Event = field(default_factory=asyncio.Event)
    delivered: bool = False
    scheduled: bool = False  # handed to the webhook deliverer


class UpdateQueue:
    """Updates in update_id order until a getUpdates offset or a webhook 2xx confirms them."""

    def __init__(self) -> None:
        self.next_id = 1
        self.pending: dict[int, PendingUpdate] = {}
        self.allowed: frozenset[str] | None = None
        self._signal = asyncio.Event()
        self._generation = 0

    def _wake(self) -> None:
        self._signal.set()
        self._signal = asyncio.Event()

    def is_allowed(self, kind: str) -> bool:
        if self.allowed is None:
            return kind not in DEFAULT_EXCLUDED
        return kind in self.allowed

    def set_allowed(self, kinds: list[str] | None) -> None:
        if kinds is not None:
            self.allowed = frozenset(kinds) if kinds else None

    def add(self, payload: dict[str, Any]) -> PendingUpdate:
        """Queue an update; one the bot did not ask for (allowed_updates) is done at once."""
        given = payload.get("update_id")
        if isinstance(given, int) and not isinstance(given, bool):
            update_id = given
        else:
            update_id = self.next_id
            payload = {"update_id": update_id, **payload}
        self.next_id = max(self.next_id, update_id + 1)
        update = PendingUpdate(update_id, payload, chat_key(payload))
        if not self.is_allowed(update_type(payload)):
            update.done.set()
            return update
        self.pending[update_id] = update
        self._wake()
        return update

    def confirm(self, update: PendingUpdate) -> None:
        self.pending.pop(update.update_id, None)
        update.delivered = True
        update.done.set()

    def confirm_below(self, offset: int) -> None:
        for update_id in [u for u in self.pending if u < offset]:
            self.confirm(self.pending[update_id])

    def forget_all_but_last(self, count: int) -> None:
        """getUpdates with offset -count: all but the last `count` are forgotten, undelivered."""
        older = list(self.pending)[: max(0, len(self.pending) - count)]
        for update_id in older:
            self.pending.pop(update_id).done.set()

    def drop_all(self) -> None:
        """drop_pending_updates: forget them; `wait`ers learn they were not delivered."""
        for update in self.pending.values():
            update.done.set()
        self.pending.clear()

    def available(self, offset: int | None, limit: int) -> list[PendingUpdate]:
        updates = list(self.pending.values())
        if offset is not None and offset < 0:
            updates = updates[offset:]
        elif offset is not None:
            updates = [u for u in updates if u.update_id >= offset]
        return updates[:limit]

    async def poll(self, offset: int | None, limit: int, timeout: float) -> list[dict[str, Any]]:
        """getUpdates: confirm below `offset`, then wait up to `timeout` s for something new."""
        self._generation += 1
        generation = self._generation
        self._wake()  # an older poll still waiting is terminated
        if offset is not None and offset > 0:
            self.confirm_below(offset)
        elif offset is not None and offset < 0:
            self.forget_all_but_last(-offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._generation:
                raise ApiError(409, TERMINATED_BY_OTHER_POLL)
            found = self.available(offset, limit)
            remaining = deadline - loop.time()
            if found or remaining <= 0:
                return [u.payload for u in found]
            signal = self._signal
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(signal.wait(), remaining)

    def close(self) -> None:
        """Terminate any waiting poll (reset)."""
        self._generation += 1
        self._wake()
