"""Settings of push distribution (eligibility, per-user queues, Telegram rate limits).

Kept in this package until the lead wires them into `core.settings.Settings` (suggested field:
``distribution: DistributionSettings``, i.e. ``ARBCAST_DISTRIBUTION__...`` variables).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator


class RateLimitSettings(BaseModel):
    """Telegram's sending limits and how tokens are leased to senders."""

    model_config = ConfigDict(frozen=True)

    global_per_second: Annotated[
        int, Field(gt=0, description="Messages per second for the whole bot (Telegram: 30)")
    ] = 30
    paid_broadcast_enabled: Annotated[
        bool, Field(description="Use paid broadcasts (allow_paid_broadcast) and their higher rate")
    ] = False
    paid_broadcast_rate: Annotated[
        int, Field(gt=0, le=1000, description="Messages per second with paid broadcasts")
    ] = 1000
    private_chat_interval_seconds: Annotated[
        float, Field(gt=0, description="Minimum gap between two messages to one private chat")
    ] = 1.0
    group_per_minute: Annotated[
        int, Field(gt=0, description="Messages per minute to one group (Telegram: 20)")
    ] = 20
    lease_validity_seconds: Annotated[
        float,
        Field(
            gt=0,
            le=0.5,
            description="Leased tokens must be used this soon; the allowed rate is reached "
            "to 1/(1 + this) (0.025 s: 97.6%)",
        ),
    ] = 0.025
    max_lease_tokens: Annotated[int, Field(gt=0, description="Most tokens one lease grants")] = 100

    @property
    def global_rate(self) -> int:
        return self.paid_broadcast_rate if self.paid_broadcast_enabled else self.global_per_second


class DistributionSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    group_cap_multiplier: Annotated[
        int,
        Field(
            ge=1,
            description="In a group the group's own counters apply, with daily and hourly caps "
            "times this (0, unlimited, stays unlimited)",
        ),
    ] = 2
    blocked_regions: Annotated[
        frozenset[str],
        Field(description="Regions (profile.region, case-insensitive) that never get pushes"),
    ] = frozenset()
    tz_refresh_seconds: Annotated[
        float,
        Field(
            gt=0,
            le=7 * 86_400,
            description="How far ahead the columnar timezone table is computed (exact "
            "DST transitions inside it)",
        ),
    ] = 86_400.0
    medium_window_seconds: Annotated[
        float, Field(ge=0, description="MEDIUM opportunities wait this long for a digest")
    ] = 30.0
    low_window_seconds: Annotated[
        float, Field(ge=0, description="LOW opportunities wait this long for a digest")
    ] = 300.0
    digest_max_items: Annotated[int, Field(gt=0, description="Most items in one digest")] = 5
    update_min_improvement: Annotated[
        float,
        Field(
            ge=0,
            description="An update to a sent opportunity is re-sent when its net spread rose "
            "by at least this fraction (0.2: +20% relative)",
        ),
    ] = 0.2
    sent_retention_seconds: Annotated[
        float,
        Field(
            gt=0,
            description="Sent records (dedup, close edits) are kept this long after the "
            "opportunity's expiry",
        ),
    ] = 86_400.0
    rate_limits: RateLimitSettings = RateLimitSettings()

    @field_validator("blocked_regions")
    @classmethod
    def _normalise_regions(cls, v: frozenset[str]) -> frozenset[str]:
        return frozenset(r.strip().upper() for r in v if r.strip())
