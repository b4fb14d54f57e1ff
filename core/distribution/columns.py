"""The eligibility rules vectorised over one shard of recipient chats (numpy columns).

`ShardColumns` holds one row per chat (private chat or group), dense: removing a row moves the
last row into its place (swap-remove), arrays grow by doubling, so add/update/remove are O(1)
amortised. `evaluate` applies the six layers of `core.distribution.eligibility` to every row at
once and must agree exactly with `explain` (tests/core/distribution/test_columns.py).
"""

from __future__ import annotations

import math
from collections import Counter as _Counter
from typing import Any

import numpy as np
import numpy.typing as npt

from core.distribution.caps import Counters, commit, utc_day, utc_hour
from core.distribution.eligibility import (
    REASON_CODES,
    TIER_CODE,
    TYPE_BIT,
    ChatContext,
    Policy,
    Reason,
    RecipientState,
    type_mask,
)
from core.distribution.pair_index import move_pairs, rows_mask, set_pairs
from core.distribution.timezones import HOUR_S, TzTable, normalise_hours
from core.models import Opportunity, Priority, SessionState

BoolArray = npt.NDArray[np.bool_]

_NEG_INF = float("-inf")
_COLUMNS: dict[str, Any] = {
    "chat_id": np.int64,
    "is_group": np.bool_,
    "has_session": np.bool_,
    "session_active": np.bool_,
    "session_expires": np.float64,
    "tier": np.int8,
    "push": np.bool_,
    "want_types": np.uint8,
    "watch_only": np.bool_,
    "min_profit": np.float64,
    "dnd_until": np.float64,  # -inf: none
    "pierce": np.bool_,
    "ah_start": np.int64,
    "ah_end": np.int64,
    "ah_always": np.bool_,
    "tz": np.int32,
    "day": np.int64,
    "used_day": np.int64,
    "hour": np.int64,
    "used_hour": np.int64,
    "last_push": np.float64,  # -inf: never
    "all_exchanges": np.bool_,
    "exchanges": np.uint64,
    "restricted": np.bool_,
    "region_blocked": np.bool_,
}


class ExchangeBits:
    """Exchange name -> bit (at most 64 exchanges per shard)."""

    def __init__(self) -> None:
        self._bits: dict[str, int] = {}

    def bit(self, name: str) -> int:
        bit = self._bits.get(name)
        if bit is None:
            if len(self._bits) >= 64:
                raise ValueError("more than 64 distinct exchanges in one shard")
            bit = 1 << len(self._bits)
            self._bits[name] = bit
        return bit

    def mask(self, names: frozenset[str]) -> int:
        m = 0
        for name in names:
            m |= self.bit(name)
        return m


class ShardColumns:
    """Columnar state of one shard's recipient chats, keyed by chat id."""

    def __init__(self, policy: Policy, capacity: int = 1024) -> None:
        self.policy = policy
        self.n = 0
        self._cap = max(1, capacity)
        self._c: dict[str, npt.NDArray[Any]] = {
            name: np.zeros(self._cap, dtype=dt) for name, dt in _COLUMNS.items()
        }
        self._row: dict[int, int] = {}
        # Pair sets are indexed by pair (rows per pair), so one opportunity looks up one entry.
        self._row_muted: list[frozenset[str]] = []
        self.muted: dict[str, set[int]] = {}
        self._row_watched: list[frozenset[str]] = []
        self.watched: dict[str, set[int]] = {}
        self.exchanges = ExchangeBits()
        self.tz = TzTable(policy.settings.tz_refresh_seconds)
        tiers = list(TIER_CODE)
        lim = [policy.tiers[t] for t in tiers]
        self._tier_types = np.array([type_mask(x.opportunity_types) for x in lim], dtype=np.uint8)
        self._tier_delay = np.array([x.delay_seconds for x in lim], dtype=np.float64)
        self._tier_day_cap = np.array([x.daily_cap for x in lim], dtype=np.int64)
        self._tier_hour_cap = np.array([x.hourly_cap for x in lim], dtype=np.int64)
        self._tier_cooldown = np.array([x.push_cooldown_seconds for x in lim], dtype=np.float64)

    # -- rows ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.n

    def __contains__(self, chat_id: object) -> bool:
        return chat_id in self._row

    def row_of(self, chat_id: int) -> int:
        return self._row[chat_id]

    def column(self, name: str) -> npt.NDArray[Any]:
        """A read-only view of a live column (rows 0..n-1)."""
        view = self._c[name][: self.n]
        view.flags.writeable = False
        return view

    @property
    def chat_ids(self) -> npt.NDArray[np.int64]:
        return self.column("chat_id")

    def _grow(self) -> None:
        self._cap *= 2
        for name, arr in self._c.items():
            bigger = np.zeros(self._cap, dtype=arr.dtype)
            bigger[: self.n] = arr[: self.n]
            self._c[name] = bigger

    def upsert(self, state: RecipientState, context: ChatContext) -> int:
        """Add or replace the row of `context.chat_id`; returns its row index."""
        row = self._row.get(context.chat_id)
        if row is None:
            if self.n == self._cap:
                self._grow()
            row = self.n
            self.n += 1
            self._row[context.chat_id] = row
            self._row_muted.append(frozenset())
            self._row_watched.append(frozenset())
        c = self._c
        profile, session, prefs = state.profile, state.session, state.profile.preferences
        c["chat_id"][row] = context.chat_id
        c["is_group"][row] = context.is_group
        c["has_session"][row] = session is not None
        c["session_active"][row] = session is not None and session.state is SessionState.ACTIVE
        c["session_expires"][row] = session.expires_at if session is not None else _NEG_INF
        c["tier"][row] = TIER_CODE[profile.tier]
        c["push"][row] = prefs.push_enabled
        c["want_types"][row] = type_mask(prefs.opportunity_types)
        c["watch_only"][row] = prefs.watch_only
        c["min_profit"][row] = prefs.min_profit_pct
        c["dnd_until"][row] = _NEG_INF if prefs.dnd_until is None else prefs.dnd_until
        c["pierce"][row] = prefs.high_priority_pierces_dnd
        start, end, always = normalise_hours(prefs.active_hours)
        c["ah_start"][row], c["ah_end"][row], c["ah_always"][row] = start, end, always
        c["tz"][row] = self.tz.code(prefs.timezone)
        self._set_counters(row, state.counters)
        c["all_exchanges"][row] = not profile.exchanges
        c["exchanges"][row] = self.exchanges.mask(profile.exchanges)
        c["restricted"][row] = profile.trading_restricted
        c["region_blocked"][row] = self.policy.region_blocked(profile.region)
        set_pairs(self.muted, self._row_muted, row, prefs.muted_pairs)
        set_pairs(self.watched, self._row_watched, row, prefs.watchlist)
        return row

    def remove(self, chat_id: int) -> bool:
        """Remove a chat's row (the last row moves into its place)."""
        row = self._row.pop(chat_id, None)
        if row is None:
            return False
        set_pairs(self.muted, self._row_muted, row, frozenset())
        set_pairs(self.watched, self._row_watched, row, frozenset())
        last = self.n - 1
        if row != last:
            for arr in self._c.values():
                arr[row] = arr[last]
            move_pairs(self.muted, self._row_muted, last, row)
            move_pairs(self.watched, self._row_watched, last, row)
            self._row[int(self._c["chat_id"][row])] = row
        self._row_muted.pop()
        self._row_watched.pop()
        self.n = last
        return True

    # -- counters -----------------------------------------------------------------------------

    def _set_counters(self, row: int, counters: Counters) -> None:
        c = self._c
        c["day"][row] = counters.day
        c["used_day"][row] = counters.used_today
        c["hour"][row] = counters.hour
        c["used_hour"][row] = counters.used_this_hour
        c["last_push"][row] = _NEG_INF if counters.last_push_at is None else counters.last_push_at

    def lapsed_chat_ids(self, now: float) -> list[int]:
        """Chats whose row says their active session is past its expiry: either it really
        lapsed (the sweeper ends it soon) or activity extended it since the row was read."""
        n = self.n
        c = self._c
        lapsed = c["session_active"][:n] & ~(now < c["session_expires"][:n])
        ids: list[int] = c["chat_id"][:n][lapsed].tolist()
        return ids

    def set_session_expiry(self, chat_id: int, expires_at: float) -> None:
        self._c["session_expires"][self._row[chat_id]] = expires_at

    def delay_of(self, chat_id: int) -> float:
        """The tier delay of a chat: an opportunity reaches it this long after detection."""
        return float(self._tier_delay[self._c["tier"][self._row[chat_id]]])

    def counters(self, chat_id: int) -> Counters:
        row = self._row[chat_id]
        c = self._c
        last = float(c["last_push"][row])
        return Counters(
            day=int(c["day"][row]),
            used_today=int(c["used_day"][row]),
            hour=int(c["hour"][row]),
            used_this_hour=int(c["used_hour"][row]),
            last_push_at=None if last == _NEG_INF else last,
        )

    def remaining_many(self, chat_ids: list[int], now: float) -> list[int | None]:
        """`Caps.remaining` of each chat (None: no cap; 0 for a chat without a row), in one
        vectorised pass: a fan-out sizes every eligible chat's queue with it."""
        known = [cid in self._row for cid in chat_ids]
        rows = np.fromiter(
            (self._row.get(cid, 0) for cid in chat_ids), dtype=np.int64, count=len(chat_ids)
        )
        c = self._c
        tier = c["tier"][rows]
        mult = np.where(c["is_group"][rows], self.policy.settings.group_cap_multiplier, 1)
        day_cap = self._tier_day_cap[tier] * mult
        hour_cap = self._tier_hour_cap[tier] * mult
        used_day = np.where(c["day"][rows] == utc_day(now), c["used_day"][rows], 0)
        used_hour = np.where(c["hour"][rows] == utc_hour(now), c["used_hour"][rows], 0)
        big = np.iinfo(np.int64).max
        day_left = np.where(day_cap > 0, np.maximum(0, day_cap - used_day), big)
        hour_left = np.where(hour_cap > 0, np.maximum(0, hour_cap - used_hour), big)
        left = np.minimum(day_left, hour_left).tolist()
        return [
            (None if n == big else int(n)) if ok else 0 for n, ok in zip(left, known, strict=True)
        ]

    def set_counters(self, chat_id: int, counters: Counters) -> None:
        self._set_counters(self._row[chat_id], counters)

    def commit(self, chat_id: int, now: float, n: int = 1, *, push: bool = True) -> Counters:
        """Record a delivery to `chat_id` (see `eligibility.commit`); returns the new counters."""
        new = commit(self.counters(chat_id), now, n, push=push)
        self._set_counters(self._row[chat_id], new)
        return new


def evaluate_reasons(
    columns: ShardColumns,
    opportunity: Opportunity,
    now: float,
    *,
    defer_quiet: bool = False,
    defer_delay: bool = False,
) -> npt.NDArray[np.uint8]:
    """Per row, the first failing `Reason` (0: eligible). With `defer_delay` the tier's delay is
    not checked: the host queues the opportunity until `not_before` instead (see `delay_of`)."""
    n = columns.n
    c = {name: arr[:n] for name, arr in columns._c.items()}
    opp = opportunity
    tier = c["tier"]
    tbit = TYPE_BIT[opp.type]
    now_s = math.floor(now)

    checks: list[tuple[Reason, BoolArray]] = [
        (Reason.NO_SESSION, ~c["has_session"]),
        (Reason.SESSION_INACTIVE, ~c["session_active"]),
        (Reason.SESSION_EXPIRED, ~(now < c["session_expires"])),
        (Reason.TIER_TYPE, (columns._tier_types[tier] & tbit) == 0),
        (
            Reason.TIER_DELAY,
            np.zeros(n, np.bool_)
            if defer_delay
            else ~(opp.detected_at + columns._tier_delay[tier] <= now),
        ),
        (Reason.PUSH_OFF, ~c["push"]),
        (Reason.TYPE_UNWANTED, (c["want_types"] & tbit) == 0),
    ]
    checks.append((Reason.PAIR_MUTED, rows_mask(n, columns.muted.get(opp.symbol))))
    watched = rows_mask(n, columns.watched.get(opp.symbol))
    checks.append((Reason.NOT_WATCHED, c["watch_only"] & ~watched))
    checks.append((Reason.MIN_PROFIT, ~(opp.expected_profit_pct >= c["min_profit"])))
    if not defer_quiet:
        dnd = now < c["dnd_until"]
        if opp.priority is Priority.HIGH:
            dnd &= ~c["pierce"]
        checks.append((Reason.DND, dnd))
        offsets = columns.tz.offsets(now)[c["tz"]]
        hour = ((now_s + 60 * offsets) // HOUR_S) % 24
        start, end = c["ah_start"], c["ah_end"]
        inside = np.where(
            start < end, (start <= hour) & (hour < end), (hour >= start) | (hour < end)
        )
        checks.append((Reason.ACTIVE_HOURS, ~(c["ah_always"] | inside)))
    mult = np.where(c["is_group"], columns.policy.settings.group_cap_multiplier, 1)
    day_cap = columns._tier_day_cap[tier] * mult
    hour_cap = columns._tier_hour_cap[tier] * mult
    used_day = np.where(c["day"] == utc_day(now), c["used_day"], 0)
    used_hour = np.where(c["hour"] == utc_hour(now), c["used_hour"], 0)
    checks.append((Reason.DAILY_CAP, (day_cap > 0) & (used_day >= day_cap)))
    checks.append((Reason.HOURLY_CAP, (hour_cap > 0) & (used_hour >= hour_cap)))
    checks.append((Reason.COOLDOWN, (now - c["last_push"]) < columns._tier_cooldown[tier]))
    omask = np.uint64(columns.exchanges.mask(opp.exchanges))
    checks.append((Reason.EXCHANGE, ~c["all_exchanges"] & ((c["exchanges"] & omask) != omask)))
    checks.append((Reason.RESTRICTED, c["restricted"]))
    checks.append((Reason.REGION, c["region_blocked"]))

    reasons = np.zeros(n, dtype=np.uint8)
    for reason, failed in reversed(checks):
        np.putmask(reasons, failed, reason.value)
    return reasons


def evaluate(
    columns: ShardColumns,
    opportunity: Opportunity,
    now: float,
    *,
    defer_quiet: bool = False,
    defer_delay: bool = False,
) -> tuple[BoolArray, dict[str, int]]:
    """(eligible mask over rows 0..n-1, rejected rows counted by reason code)."""
    reasons = evaluate_reasons(
        columns, opportunity, now, defer_quiet=defer_quiet, defer_delay=defer_delay
    )
    counts = np.bincount(reasons, minlength=len(REASON_CODES))
    rejected = {REASON_CODES[i]: int(k) for i, k in enumerate(counts.tolist()) if i and k}
    return reasons == 0, rejected


def eligible_chat_ids(
    columns: ShardColumns,
    opportunity: Opportunity,
    now: float,
    *,
    defer_quiet: bool = False,
    defer_delay: bool = False,
) -> tuple[list[int], dict[str, int]]:
    mask, rejected = evaluate(
        columns, opportunity, now, defer_quiet=defer_quiet, defer_delay=defer_delay
    )
    return columns._c["chat_id"][: columns.n][mask].tolist(), rejected


def count_by_layer(rejected: dict[str, int]) -> dict[int, int]:
    """Rejections per layer from `evaluate`'s counts by reason code."""
    out: _Counter[int] = _Counter()
    for code, k in rejected.items():
        out[int(code[1])] += k
    return dict(out)
