"""What the bot knows about one group, supergroup or channel, and what its admins chose.

A group is a recipient of pushes like a user (see `core.distribution.group_recipients`): its
alerts follow the choices below, its plan is the plan of the admin who enabled it (or one a
SuperAdmin set), and its caps are its own. A channel only receives public opportunities, later
than paying plans (`core.groups.channel_posts`).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.models import OpportunityType, Tier


class ChatKind(StrEnum):
    GROUP = "group"
    SUPERGROUP = "supergroup"
    CHANNEL = "channel"

    @property
    def is_channel(self) -> bool:
        return self is ChatKind.CHANNEL


class GroupConfig(BaseModel):
    """One chat's state. Defaults are what a group the bot was just added to has: nothing is
    pushed until an admin enables it."""

    model_config = ConfigDict(frozen=True)

    chat_id: int
    kind: ChatKind = ChatKind.SUPERGROUP
    title: str = ""
    # The bot is a member (groups) or an admin (channels); False once removed, settings kept.
    active: bool = True
    # Alerts switched on by an admin (False: never enabled, or paused).
    enabled: bool = False
    enabled_by: int | None = None  # the admin whose plan the group has
    tier_override: Tier | None = None  # a plan a SuperAdmin set (wins over the admin's)
    opportunity_types: frozenset[OpportunityType] = frozenset(OpportunityType)
    pairs: frozenset[str] = frozenset()  # only these pairs; empty: every pair
    min_profit_pct: float = Field(default=0.0, ge=0.0)
    # How long MEDIUM and LOW alerts wait to be sent together; None: the distribution default.
    digest_window_seconds: float | None = Field(default=None, ge=0.0)
    quiet_hours: tuple[int, int] | None = None  # (start, end) hours, no alerts in between
    timezone: str = "UTC"
    language: str = ""  # the language of its texts (empty: English)
    is_forum: bool = False
    thread_id: int | None = None  # the forum topic alerts go to (message_thread_id)
    # Channels: the SuperAdmin who linked it, and its delay after paying plans (None: default).
    linked_by: int | None = None
    delay_seconds: float | None = Field(default=None, ge=0.0)
    added_at: float = 0.0
    updated_at: float = 0.0
    alerts_sent: int = 0  # alerts released to the group (bumped by push_release.lua)

    @field_validator("quiet_hours")
    @classmethod
    def _hours(cls, v: tuple[int, int] | None) -> tuple[int, int] | None:
        if v is not None and not (0 <= v[0] <= 23 and 0 <= v[1] <= 24):
            raise ValueError("quiet hours are (start, end) hours: start 0-23, end 0-24")
        return v

    @property
    def receives_pushes(self) -> bool:
        """A group (not a channel) the bot is in, with alerts switched on."""
        return self.active and self.enabled and not self.kind.is_channel

    @property
    def linked_channel(self) -> bool:
        """A channel a SuperAdmin linked and the bot is still an admin of."""
        return self.active and self.kind.is_channel and self.linked_by is not None

    @property
    def active_hours(self) -> tuple[int, int]:
        """The hours alerts may go out, as `Preferences.active_hours` reads them."""
        if self.quiet_hours is None or self.quiet_hours[0] == self.quiet_hours[1] % 24:
            return (0, 24)
        start, end = self.quiet_hours
        return (end % 24, start)
