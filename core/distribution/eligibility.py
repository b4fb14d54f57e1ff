"""Push eligibility: the design's six layers, in order, as one pure scalar function.

`explain` says whether one recipient may get one opportunity pushed *now* and, if not, the first
failing layer and a stable reason code (`Reason`, e.g. ``"L3:dnd"``) to count as an event.
`core.distribution.columns` evaluates the same rules vectorised over a shard; a property test
holds the two to exact agreement.

Evaluation never consumes anything. Rate-limit counters (layer 4) are passed in by the caller
(`Counters`: the same per-UTC-day and per-UTC-hour counts that on-demand /opportunities uses,
plus the last push time); after every layer passed and the push is made the caller applies
`commit`, so a recipient rejected by a later layer never loses quota.

Recipients and group chats. A row is a *chat*: a private chat (chat id = user id) or a group
(negative chat id, `ChatContext.group`). For a group the caller passes the group's
`RecipientState`: the profile and session of whoever the group's subscription belongs to (the
admin who added the bot) and the **group's own counters**, keyed by the group's chat id; group
pushes never count against members. In a group the tier's daily and hourly caps are multiplied
by `DistributionSettings.group_cap_multiplier` (default 2: a Free group gets 10/day and 4/hour;
a cap of 0, unlimited, stays unlimited); the push cooldown is the tier's, unchanged.

Every field a layer reads is set by a real path: the session by /start and activity, the tier by
/settier, preferences and exchanges by /settings, `trading_restricted` and `region` by the
SuperAdmin's /restrict and /region, the blocked regions by settings. Beta flags, AI keys,
"private only" and "needs API keys" had no such path and were removed: every alert is read from
public market data, so layer 5 asks only whether the user trades on both exchanges.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum, IntEnum
from typing import Literal

from core.distribution.caps import Caps, Counters
from core.distribution.quiet import QuietTimes
from core.distribution.settings import DistributionSettings
from core.models import (
    Opportunity,
    OpportunityType,
    Priority,
    SessionState,
    Tier,
    UserProfile,
    UserSession,
)
from core.settings import TierLimits

TYPE_BIT: dict[OpportunityType, int] = {t: 1 << i for i, t in enumerate(OpportunityType)}
TIER_CODE: dict[Tier, int] = {t: i for i, t in enumerate(Tier)}


def type_mask(types: frozenset[OpportunityType] | set[OpportunityType]) -> int:
    mask = 0
    for t in types:
        mask |= TYPE_BIT[t]
    return mask


class Reason(IntEnum):
    """Why a recipient is not eligible; the order is the evaluation order, except NOT_WATCHED
    (added later, appended so stored codes keep their values)."""

    OK = 0
    NO_SESSION = 1
    SESSION_INACTIVE = 2
    SESSION_EXPIRED = 3
    TIER_TYPE = 4
    TIER_DELAY = 5
    PUSH_OFF = 6
    TYPE_UNWANTED = 7
    PAIR_MUTED = 8
    MIN_PROFIT = 9
    DND = 10
    ACTIVE_HOURS = 11
    DAILY_CAP = 12
    HOURLY_CAP = 13
    COOLDOWN = 14
    EXCHANGE = 15
    RESTRICTED = 16
    REGION = 17
    NOT_WATCHED = 18  # evaluated right after PAIR_MUTED (values are codes, not the order)

    @property
    def layer(self) -> int | None:
        return _LAYER[self]

    @property
    def code(self) -> str:
        return _CODE[self]

    @property
    def text(self) -> str:
        return _TEXT[self]


_META: dict[Reason, tuple[int | None, str, str]] = {
    Reason.OK: (None, "ok", "eligible"),
    Reason.NO_SESSION: (1, "L1:no_session", "no session"),
    Reason.SESSION_INACTIVE: (1, "L1:session_inactive", "session ended (expired or terminated)"),
    Reason.SESSION_EXPIRED: (1, "L1:session_expired", "session past its expiry"),
    Reason.TIER_TYPE: (2, "L2:tier_type", "the tier does not include this opportunity type"),
    Reason.TIER_DELAY: (2, "L2:tier_delay", "the tier's delay after detection has not elapsed"),
    Reason.PUSH_OFF: (3, "L3:push_off", "push notifications switched off"),
    Reason.TYPE_UNWANTED: (3, "L3:type_unwanted", "opportunity type not wanted"),
    Reason.PAIR_MUTED: (3, "L3:pair_muted", "pair muted"),
    Reason.NOT_WATCHED: (3, "L3:not_watched", "pair not on the user's watchlist (only-these mode)"),
    Reason.MIN_PROFIT: (3, "L3:min_profit", "below the user's minimum profit"),
    Reason.DND: (3, "L3:dnd", "do not disturb"),
    Reason.ACTIVE_HOURS: (3, "L3:active_hours", "outside the user's active hours"),
    Reason.DAILY_CAP: (4, "L4:daily_cap", "daily cap reached"),
    Reason.HOURLY_CAP: (4, "L4:hourly_cap", "hourly cap reached"),
    Reason.COOLDOWN: (4, "L4:cooldown", "push cooldown not over"),
    Reason.EXCHANGE: (5, "L5:exchange", "an exchange the user does not trade on"),
    Reason.RESTRICTED: (6, "L6:restricted", "trading restricted"),
    Reason.REGION: (6, "L6:region", "region blocked"),
}
_LAYER = {r: m[0] for r, m in _META.items()}
_CODE = {r: m[1] for r, m in _META.items()}
_TEXT = {r: m[2] for r, m in _META.items()}
REASON_CODES: tuple[str, ...] = tuple(_CODE[r] for r in Reason)


class Use(Enum):
    """The question a caller asks; which rules answer it is decided here, not by the caller.

    - ``PUSH``: may this be pushed now? Every layer.
    - ``ON_DEMAND``: may /opportunities list it? The user asked, so what only protects them from
      unasked messages does not apply: the push switch, Do Not Disturb, active hours and the
      push cooldown. The caps do apply, but to how many are listed: the caller takes them for
      the whole reply (`core.quota.QuotaStore.take`), so layer 4 is not asked per item.
    - ``ACCESS``: may a button on a card already shown act on it (Details, mutes, votes)? What
      the plan includes, and compliance; not the user's own filters (a card shown before its
      pair was muted still opens) and no quota (it was counted when shown).
    """

    PUSH = "push"
    ON_DEMAND = "on_demand"
    ACCESS = "access"


_PUSH_ONLY = frozenset(
    {
        Reason.PUSH_OFF,
        Reason.DND,
        Reason.ACTIVE_HOURS,
        Reason.DAILY_CAP,
        Reason.HOURLY_CAP,
        Reason.COOLDOWN,
    }
)
_USER_FILTERS = frozenset(
    {
        Reason.TYPE_UNWANTED,
        Reason.PAIR_MUTED,
        Reason.NOT_WATCHED,
        Reason.MIN_PROFIT,
        Reason.EXCHANGE,
    }
)
APPLIES: dict[Use, frozenset[Reason]] = {
    Use.PUSH: frozenset(Reason) - {Reason.OK},
    Use.ON_DEMAND: frozenset(Reason) - {Reason.OK} - _PUSH_ONLY,
    Use.ACCESS: frozenset(Reason) - {Reason.OK} - _PUSH_ONLY - _USER_FILTERS,
}


@dataclass(frozen=True, slots=True)
class ChatContext:
    kind: Literal["private", "group"]
    chat_id: int

    @classmethod
    def private(cls, user_id: int) -> ChatContext:
        return cls("private", user_id)

    @classmethod
    def group(cls, chat_id: int) -> ChatContext:
        return cls("group", chat_id)

    @property
    def is_group(self) -> bool:
        return self.kind == "group"


@dataclass(frozen=True, slots=True)
class RecipientState:
    """What eligibility needs about one recipient chat (see the module doc for groups)."""

    profile: UserProfile
    session: UserSession | None
    counters: Counters = field(default_factory=Counters)

    def with_counters(self, counters: Counters) -> RecipientState:
        return replace(self, counters=counters)


@dataclass(frozen=True, slots=True)
class Policy:
    """Tier limits (`Settings.tiers`) and distribution settings."""

    tiers: Mapping[Tier, TierLimits]
    settings: DistributionSettings = field(default_factory=DistributionSettings)

    def caps(self, tier: Tier, is_group: bool) -> Caps:
        mult = self.settings.group_cap_multiplier if is_group else 1
        return Caps.of(self.tiers[tier], mult)

    def region_blocked(self, region: str) -> bool:
        r = region.strip().upper()
        return bool(r) and r in self.settings.blocked_regions


@dataclass(frozen=True, slots=True)
class Verdict:
    eligible: bool
    layer: int | None
    reason: str  # the stable code, e.g. "L3:dnd"
    detail: str = ""  # human-readable

    @classmethod
    def of(cls, reason: Reason, detail: str = "") -> Verdict:
        return cls(reason is Reason.OK, reason.layer, reason.code, detail or reason.text)


def first_failure(
    state: RecipientState,
    opp: Opportunity,
    now: float,
    context: ChatContext,
    policy: Policy,
    *,
    defer_quiet: bool = False,
    use: Use = Use.PUSH,
) -> tuple[Reason, str]:
    """The first failing rule of those `use` asks (Reason.OK if none) and a detail text."""
    profile, session, prefs = state.profile, state.session, state.profile.preferences
    asks = APPLIES[use]
    # Layer 1: session.
    if session is None:
        return Reason.NO_SESSION, "no session"
    if session.state is not SessionState.ACTIVE:
        return Reason.SESSION_INACTIVE, f"session {session.state.value}"
    if not now < session.expires_at:
        return Reason.SESSION_EXPIRED, "session past its expiry"
    # Layer 2: subscription and permissions.
    limits = policy.tiers[profile.tier]
    if opp.type not in limits.opportunity_types:
        return Reason.TIER_TYPE, f"{profile.tier.label} does not include {opp.type.value}"
    if not opp.detected_at + limits.delay_seconds <= now:
        return Reason.TIER_DELAY, f"{profile.tier.label} gets it {limits.delay_seconds:g}s late"
    # Layer 3: preferences.
    if Reason.PUSH_OFF in asks and not prefs.push_enabled:
        return Reason.PUSH_OFF, Reason.PUSH_OFF.text
    if Reason.TYPE_UNWANTED in asks:
        if opp.type not in prefs.opportunity_types:
            return Reason.TYPE_UNWANTED, f"{opp.type.value} not wanted"
        if opp.symbol in prefs.muted_pairs:
            return Reason.PAIR_MUTED, f"{opp.symbol} muted"
        if prefs.watch_only and opp.symbol not in prefs.watchlist:
            return Reason.NOT_WATCHED, f"{opp.symbol} not on the watchlist"
        if not opp.expected_profit_pct >= prefs.min_profit_pct:
            return Reason.MIN_PROFIT, f"{opp.expected_profit_pct:g}% < {prefs.min_profit_pct:g}%"
    if Reason.DND in asks and not defer_quiet:
        quiet = QuietTimes.of(prefs).reason(now, high=opp.priority is Priority.HIGH)
        if quiet == "dnd":
            return Reason.DND, Reason.DND.text
        if quiet == "active_hours":
            return Reason.ACTIVE_HOURS, f"active hours {prefs.active_hours} {prefs.timezone}"
    # Layer 4: rate limits (caller's counters; group: the group's counters, caps x multiplier).
    if Reason.DAILY_CAP in asks:
        caps = policy.caps(profile.tier, context.is_group)
        reached = caps.reached(state.counters, now)
        if reached == "daily":
            return Reason.DAILY_CAP, f"{state.counters.today(now)}/{caps.daily} today"
        if reached == "hourly":
            return Reason.HOURLY_CAP, f"{state.counters.this_hour(now)}/{caps.hourly} this hour"
        last = state.counters.last_push_at
        if last is not None and now - last < limits.push_cooldown_seconds:
            return Reason.COOLDOWN, f"last push {now - last:g}s ago"
    # Layer 5: technical requirements: the user trades on both exchanges (none chosen: all).
    outside = opp.exchanges - profile.exchanges if profile.exchanges else frozenset()
    if Reason.EXCHANGE in asks and outside:
        return Reason.EXCHANGE, f"needs {sorted(outside)}"
    # Layer 6: context and compliance.
    if profile.trading_restricted:
        return Reason.RESTRICTED, Reason.RESTRICTED.text
    if policy.region_blocked(profile.region):
        return Reason.REGION, f"region {profile.region} blocked"
    return Reason.OK, Reason.OK.text


def explain(
    state: RecipientState,
    opportunity: Opportunity,
    now: float,
    context: ChatContext,
    *,
    policy: Policy,
    defer_quiet: bool = False,
    use: Use = Use.PUSH,
) -> Verdict:
    """Whether `opportunity` may be pushed to this recipient at `now` (or, with `use`, listed
    or acted on); else the first failing layer and reason. With ``defer_quiet`` DND and active
    hours are not checked (for hosts that let the `UserQueue` hold items during quiet times
    instead of refusing them)."""
    reason, detail = first_failure(
        state, opportunity, now, context, policy, defer_quiet=defer_quiet, use=use
    )
    return Verdict.of(reason, detail)


def is_eligible(
    state: RecipientState,
    opportunity: Opportunity,
    now: float,
    context: ChatContext,
    *,
    policy: Policy,
    defer_quiet: bool = False,
    use: Use = Use.PUSH,
) -> bool:
    reason, _ = first_failure(
        state, opportunity, now, context, policy, defer_quiet=defer_quiet, use=use
    )
    return reason is Reason.OK
