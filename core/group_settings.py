"""Settings of groups and channels (nested as ``Settings.groups``).

Environment variables: ``ARBCAST_GROUPS__<FIELD>``, e.g. ``ARBCAST_GROUPS__CHANNEL_PER_MINUTE=1``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from core.models import OpportunityType


class GroupSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    admin_cache_seconds: Annotated[
        float,
        Field(
            gt=0,
            le=3600,
            description="A getChatMember answer (is this user an admin of the group) is reused "
            "this long",
        ),
    ] = 60.0
    private_only_types: Annotated[
        frozenset[OpportunityType],
        Field(
            description="Opportunity types pushed to private chats only, never to groups or "
            "channels (technical signals are calls for one trader, not market facts)"
        ),
    ] = frozenset({OpportunityType.TECHNICAL})
    channel_types: Annotated[
        frozenset[OpportunityType],
        Field(
            description="Public opportunity types posted to linked channels (spreads close "
            "within a minute, so only what outlives the delay is worth posting)"
        ),
    ] = frozenset({OpportunityType.FUNDING})
    channel_delay_seconds: Annotated[
        float,
        Field(
            ge=0,
            le=86_400,
            description="A channel gets an opportunity this long after paying plans (after "
            "detection), if still open; /link_channel may set a channel's own",
        ),
    ] = 600.0
    channel_per_minute: Annotated[
        int, Field(gt=0, le=20, description="Most posts per minute to one channel")
    ] = 2
    channel_per_hour: Annotated[
        int, Field(gt=0, le=1200, description="Most posts per hour to one channel")
    ] = 12
    channel_min_profit_pct: Annotated[
        float, Field(ge=0, description="Only opportunities at least this profitable are posted")
    ] = 0.0
    channel_interval_seconds: Annotated[
        float,
        Field(gt=0, le=300, description="The channel broadcaster looks for due posts this often"),
    ] = 5.0
    channel_posted_retention_seconds: Annotated[
        int,
        Field(gt=0, description="A channel remembers the opportunities it was sent this long"),
    ] = 2 * 86_400

    @property
    def group_types(self) -> frozenset[OpportunityType]:
        """The types a group may be sent (and its admins may choose)."""
        return frozenset(OpportunityType) - self.private_only_types
