"""Settings of push distribution (eligibility, per-user queues, Telegram rate limits).

`core.settings.Settings.distribution` holds them: ``ARBCAST_DISTRIBUTION__...`` variables
(``ARBCAST_DISTRIBUTION__DELIVERY__MAX_ATTEMPTS=8``).
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
    lease_validity_seconds: Annotated[
        float,
        Field(
            gt=0,
            le=0.5,
            description="A token must be used this soon after its slot (covers the spread of "
            "delays to Telegram); the allowed rate is reached to 1/(1 + this) (0.03 s: 97.1%)",
        ),
    ] = 0.03
    lease_horizon_seconds: Annotated[
        float,
        Field(
            gt=0,
            le=5,
            description="A lease reserves slots at most this far ahead (a sender's batch)",
        ),
    ] = 0.25
    max_lease_tokens: Annotated[int, Field(gt=0, description="Most tokens one lease grants")] = 100

    @property
    def global_rate(self) -> int:
        return self.paid_broadcast_rate if self.paid_broadcast_enabled else self.global_per_second


class DeliverySettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    dedup_retention_seconds: Annotated[
        int, Field(gt=0, description="A repeated enqueue of one outgoing_id is ignored this long")
    ] = 86_400
    sent_record_ttl_seconds: Annotated[
        int,
        Field(gt=0, description="outgoing_id -> Telegram message_id records are kept this long"),
    ] = 2 * 86_400
    sending_mark_ttl_seconds: Annotated[
        int, Field(gt=0, description="A sending mark left by a dead sender is kept this long")
    ] = 86_400
    reclaim_idle_ms: Annotated[
        int,
        Field(
            ge=0,
            description="Pending entries idle this long belong to a dead sender and are "
            "reclaimed (live senders touch theirs every third of it)",
        ),
    ] = 60_000
    batch_size: Annotated[int, Field(gt=0, description="Most entries claimed at once")] = 100
    block_ms: Annotated[int, Field(ge=0, description="How long a claim waits for new entries")] = (
        1_000
    )
    max_in_flight: Annotated[
        int, Field(gt=0, description="Most messages one worker holds (claimed, not yet done)")
    ] = 500
    max_concurrent_chats: Annotated[
        int, Field(gt=0, description="Chats one worker sends to at the same time")
    ] = 64
    max_attempts: Annotated[
        int, Field(gt=0, description="Sends tried on 5xx/network errors before dead-lettering")
    ] = 5
    backoff_base_seconds: Annotated[
        float, Field(ge=0, description="First retry delay after a 5xx/network error")
    ] = 1.0
    backoff_max_seconds: Annotated[
        float, Field(ge=0, description="Longest retry delay (before jitter)")
    ] = 60.0
    paid_broadcast: Annotated[
        bool, Field(description="Send pushes with allow_paid_broadcast (up to 1000/s, paid)")
    ] = False
    senders: Annotated[
        int,
        Field(
            ge=1,
            le=16,
            description="Push sender actors; the outbox is split by chat id into as many "
            "partitions, each sent by one sender (lower it only once the outbox is empty)",
        ),
    ] = 1
    dead_max_len: Annotated[int, Field(gt=0, description="Dead-letter stream cap (entries)")] = (
        100_000
    )
    acks_max_len: Annotated[int, Field(gt=0, description="Acks stream cap (entries)")] = 100_000


class DistributionSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    enabled: Annotated[
        bool,
        Field(
            description="Run the push pipeline on Ray: queue shards, distributor, sender and "
            "the global rate limiter"
        ),
    ] = True
    tick_seconds: Annotated[
        float,
        Field(gt=0, le=60, description="Queue shards release digests and held items this often"),
    ] = 1.0
    release_batch: Annotated[
        int,
        Field(
            gt=0,
            le=10_000,
            description="Releases per release-script call (each carries a rendered message)",
        ),
    ] = 500
    supervise_seconds: Annotated[
        float,
        Field(
            gt=0,
            le=60,
            description="The push pipeline restarts the loops of actors Ray restarted this often",
        ),
    ] = 2.0

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
    max_entry_failures: Annotated[
        int,
        Field(
            ge=1,
            description="A change or ack entry whose handling fails this many times (outages "
            "of Redis or an actor aside) goes to its stream's dead-letter stream",
        ),
    ] = 8
    rate_limits: RateLimitSettings = RateLimitSettings()
    delivery: DeliverySettings = DeliverySettings()

    @field_validator("blocked_regions")
    @classmethod
    def _normalise_regions(cls, v: frozenset[str]) -> frozenset[str]:
        return frozenset(r.strip().upper() for r in v if r.strip())
