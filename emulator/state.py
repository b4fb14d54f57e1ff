"""The emulator's data model: bots, their chats, users, messages, callbacks and updates."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from emulator.chats import Roster
from emulator.config import EmulatorConfig
from emulator.errors import ControlError
from emulator.limits import Clock, LimitMode, RateLimiter
from emulator.payment_state import Payments
from emulator.stats import Stats
from emulator.updates import PendingUpdate, UpdateQueue
from emulator.webhook import WebhookConfig, WebhookDeliverer

TOKEN_RE = re.compile(r"^(\d+):[A-Za-z0-9_-]{20,}$")


def now_date() -> int:
    return int(time.time())


@dataclass
class User:
    id: int
    first_name: str
    username: str | None = None
    is_bot: bool = False
    language_code: str | None = None  # the IETF tag of the user's app language ("ru", "en-US")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass
class Chat:
    id: int
    type: str  # private, group, supergroup, channel
    title: str | None = None
    first_name: str | None = None
    username: str | None = None
    members: set[int] = field(default_factory=set)
    is_forum: bool = False  # a supergroup with topics (emulator/chats.py)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        for key in ("title", "first_name", "username"):
            if (value := getattr(self, key)) is not None:
                data[key] = value
        if self.is_forum:
            data["is_forum"] = True
        return data


@dataclass
class Message:
    """A message in a chat, from the bot (what the control API lists) or from a user."""

    message_id: int
    chat_id: int
    sender_id: int
    text: str  # as sent, markup included
    plain: str  # after entity parsing
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    date: int
    entities: list[dict[str, Any]] = field(default_factory=list)
    edit_date: int | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False
    outgoing: bool = True  # sent by the bot
    reply_to: int | None = None  # the message_id it replies to, in the same chat
    thread_id: int | None = None  # message_thread_id: a forum topic or a reply thread
    anonymous: bool = False  # an anonymous group admin wrote it: sent as the group itself

    def version(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "parse_mode": self.parse_mode,
            "reply_markup": self.reply_markup,
            "date": self.edit_date or self.date,
        }

    def control_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "text": self.text,
            "plain_text": self.plain,
            "parse_mode": self.parse_mode,
            "reply_markup": self.reply_markup,
            "date": self.date,
            "edit_date": self.edit_date,
            "edits": list(self.edits),
            "deleted": self.deleted,
            "reply_to_message_id": self.reply_to,
            "message_thread_id": self.thread_id,
        }


@dataclass
class CallbackQuery:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    created_at: float  # the emulator's monotonic clock at the press
    answered: bool = False


@dataclass
class BotState:
    token: str
    id: int
    queue: UpdateQueue = field(default_factory=UpdateQueue)
    chats: dict[int, Chat] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)
    messages: dict[int, dict[int, Message]] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    callbacks: dict[str, CallbackQuery] = field(default_factory=dict)
    answers: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # The bot's ChatMember object in each group it was added to (my_chat_member).
    memberships: dict[int, dict[str, Any]] = field(default_factory=dict)
    # Groups' and channels' people and forum topics (emulator/chats.py).
    rosters: dict[int, Roster] = field(default_factory=dict)
    payments: Payments = field(default_factory=Payments)
    webhook: WebhookConfig | None = None
    deliverer: WebhookDeliverer | None = None
    _next_message_id: dict[int, int] = field(default_factory=dict)
    _next_callback: int = 1

    @property
    def user(self) -> User:
        return User(self.id, f"Emulated Bot {self.id}", self.username, is_bot=True)

    @property
    def username(self) -> str:
        return f"emulated_{self.id}_bot"

    def new_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def new_callback_id(self) -> str:
        self._next_callback += 1
        return f"{self.id}{self._next_callback:012d}"

    def bot_messages(self, chat_id: int) -> list[Message]:
        chat = self.messages.get(chat_id, {})
        return [m for m in chat.values() if m.outgoing]

    def push_update(self, payload: dict[str, Any]) -> PendingUpdate:
        update = self.queue.add(payload)
        if self.deliverer is not None and update.update_id in self.queue.pending:
            self.deliverer.schedule(update)
        return update

    async def stop_webhook(self) -> None:
        if self.deliverer is not None:
            deliverer, self.deliverer = self.deliverer, None
            await deliverer.stop()
        self.webhook = None


class EmulatorState:
    """Everything the emulator knows; `reset()` forgets all but the configuration."""

    def __init__(self, config: EmulatorConfig | None = None, clock: Clock | None = None) -> None:
        self.config = config or EmulatorConfig()
        self._base_clock: Clock = clock or time.monotonic
        self.clock_offset = 0.0  # seconds POST /emulator/clock moved time forward
        self.limiter = RateLimiter(self.config.limits, self.now)
        self.stats = Stats()
        self.bots: dict[str, BotState] = {}
        self.http: aiohttp.ClientSession | None = None
        self._changed: asyncio.Condition | None = None

    def now(self) -> float:
        """The emulator's monotonic time: the injected clock plus what the control API added."""
        return self._base_clock() + self.clock_offset

    def advance(self, seconds: float) -> float:
        """Move the emulator's time forward (ages callback queries, refills flood limits)."""
        if seconds < 0:
            raise ControlError(400, "time only moves forward: seconds must be >= 0")
        self.clock_offset += seconds
        return self.now()

    @property
    def clock(self) -> Clock:
        return self.now

    @property
    def changed(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    def set_limits(self, mode: LimitMode) -> None:
        self.config.limits = mode
        self.limiter.mode = mode
        self.limiter.reset()

    def bot(self, token: str) -> BotState:
        """The bot for a valid token, created on first sight."""
        bot = self.bots.get(token)
        if bot is None:
            match = TOKEN_RE.match(token)
            if match is None:
                raise ControlError(400, f"not a bot token: {token!r}")
            bot = self.bots[token] = BotState(token, int(match.group(1)))
        return bot

    def default_bot(self, token: str | None = None) -> BotState:
        """The bot a control call means: the given token, the configured one, or the first seen."""
        token = token or self.config.default_bot_token
        if token:
            return self.bot(token)
        if self.bots:
            return next(iter(self.bots.values()))
        raise ControlError(409, "no bot has called the Bot API yet; pass bot_token")

    async def notify(self) -> None:
        """Wake control-API long polls (min_count)."""
        async with self.changed:
            self.changed.notify_all()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        async with self.changed:
            try:
                await asyncio.wait_for(self.changed.wait_for(predicate), timeout)
            except TimeoutError:
                return predicate()
        return True

    async def reset(self) -> None:
        for bot in self.bots.values():
            await bot.stop_webhook()
            bot.queue.drop_all()
            bot.queue.close()
        self.bots.clear()
        self.stats.reset()
        self.limiter.reset()
        await self.notify()
