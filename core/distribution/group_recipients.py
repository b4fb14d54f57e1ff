"""Groups as push recipients: what a shard needs to treat a group chat like a user's.

A group is one more row of `ShardColumns` (``ChatContext.group``) with its own `UserQueue`,
counters, cooldown and release: the same machinery, fed from the group store instead of a
session and a profile. This module turns a `GroupConfig` into that recipient:

- the **plan** is the one a SuperAdmin set for the group, else the tier of the admin who
  enabled it (read when the row loads, so the admin's upgrade applies at the next refresh); that
  admin's compliance flags (restricted, region) come with it;
- the **preferences** are the admins' choices: types (never a private-only type,
  `groups.private_only_types`, whatever is stored), pairs (only these when any), minimum profit,
  quiet hours in the group's time zone; no DND, nothing pierces the quiet hours;
- the **session** is the group's own gate: active while the bot is in the group and alerts are
  enabled (the release script checks the same fields of the group's hash, so a pause stops
  what is already queued);
- the **counters** are the group's, under its chat id, and the caps are multiplied by
  `distribution.group_cap_multiplier` (`Policy.caps(tier, is_group=True)`);
- the **digest window** is the group's: MEDIUM and LOW wait that long (`queue_settings`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.distribution.caps import Counters
from core.distribution.eligibility import RecipientState
from core.distribution.settings import DistributionSettings
from core.group_settings import GroupSettings
from core.groups.codec import GATE_EXPIRES
from core.groups.models import GroupConfig
from core.groups.store import GroupStore
from core.models import Preferences, SessionState, Tier, UserProfile, UserSession
from core.profiles import ProfileStore
from core.quota import QuotaStore


def is_group_chat(chat_id: int) -> bool:
    """Group, supergroup and channel ids are negative; users' are positive."""
    return chat_id < 0


@dataclass(frozen=True, slots=True)
class GroupRecipient:
    config: GroupConfig
    profile: UserProfile  # the group as a recipient (its chat id, plan and choices)
    session: UserSession
    counters: Counters
    queue_settings: DistributionSettings

    @property
    def state(self) -> RecipientState:
        return RecipientState(self.profile, self.session, self.counters)


def group_profile(
    config: GroupConfig, tier: Tier, admin: UserProfile | None, settings: GroupSettings
) -> UserProfile:
    prefs = Preferences(
        push_enabled=config.receives_pushes,
        opportunity_types=config.opportunity_types & settings.group_types,
        watchlist=config.pairs,
        watch_only=bool(config.pairs),
        min_profit_pct=config.min_profit_pct,
        timezone=config.timezone,
        active_hours=config.active_hours,
    )
    return UserProfile(
        user_id=config.chat_id,
        first_name="",  # a group has no name to greet: its cards greet nobody
        tier=tier,
        preferences=prefs,
        trading_restricted=admin.trading_restricted if admin else False,
        region=admin.region if admin else "",
        language=config.language,
    )


def group_session(config: GroupConfig, now: float) -> UserSession:
    return UserSession(
        session_id=f"group:{config.chat_id}",
        user_id=config.chat_id,
        state=SessionState.ACTIVE if config.receives_pushes else SessionState.TERMINATED,
        created_at=config.added_at,
        last_activity=now,
        expires_at=GATE_EXPIRES,
    )


def queue_settings(config: GroupConfig, base: DistributionSettings) -> DistributionSettings:
    window = config.digest_window_seconds
    if window is None:
        return base
    return base.model_copy(update={"medium_window_seconds": window, "low_window_seconds": window})


class GroupRecipients:
    """Reads groups as recipients for a shard (one round trip per store, whatever the count)."""

    def __init__(
        self,
        groups: GroupStore,
        profiles: ProfileStore,
        quota: QuotaStore,
        settings: GroupSettings,
        distribution: DistributionSettings,
    ) -> None:
        self._groups = groups
        self._profiles = profiles
        self._quota = quota
        self._settings = settings
        self._distribution = distribution

    async def ids(self) -> list[int]:
        """Every group that receives pushes now."""
        return await self._groups.recipient_ids()

    async def load(self, chat_ids: Sequence[int], now: float) -> list[GroupRecipient | None]:
        """Each group as a recipient; None for one that receives nothing now (unknown, paused,
        the bot removed, a channel)."""
        ids = list(chat_ids)
        configs = await self._groups.get_many(ids)
        live = [c for c in configs if c is not None and c.receives_pushes]
        admin_ids = sorted({c.enabled_by for c in live if c.enabled_by is not None})
        admins = {p.user_id: p for p in await self._profiles.get_many(admin_ids)}
        counters = dict(
            zip(
                [c.chat_id for c in live],
                await self._quota.counters_many([c.chat_id for c in live], now),
                strict=True,
            )
        )
        out: list[GroupRecipient | None] = []
        for config in configs:
            if config is None or not config.receives_pushes:
                out.append(None)
                continue
            admin = admins.get(config.enabled_by) if config.enabled_by is not None else None
            tier = config.tier_override or (admin.tier if admin else Tier.FREE)
            out.append(
                GroupRecipient(
                    config=config,
                    profile=group_profile(config, tier, admin, self._settings),
                    session=group_session(config, now),
                    counters=counters[config.chat_id],
                    queue_settings=queue_settings(config, self._distribution),
                )
            )
        return out
