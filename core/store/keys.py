"""Every Redis key and channel arbcast uses, with what it holds and how long it lives.

Keys share the prefix ``arbcast:`` so that one Redis can be shared with other applications.
Per-user keys carry the user id in braces (``{42}``): a Redis Cluster hash tag, so a Lua script
touching several keys of one user stays on one slot. The outbox keys share the tag ``{outbox}``
for the same reason.

| key | type | holds | lifetime |
|---|---|---|---|
| ``arbcast:session:{uid}`` | hash | the user's current session (see `SessionFields`) | while active; `ended_retention_seconds` once expired or terminated |
| ``arbcast:sessions:expiry`` | zset | user id scored by expiry time, active sessions only | members removed on expiry or logout |
| ``arbcast:sessions:changed`` | channel | user ids whose session or profile changed; caches and push shards re-read them | pub/sub |
| ``arbcast:user:{uid}`` | hash | profile: tier, preferences, exchanges (see `ProfileFields`) | permanent |
| ``arbcast:users:tier:<tier>`` | set | user ids per tier, for admin statistics | permanent |
| ``arbcast:sub:{uid}`` | hash | the user's Stars subscription: tier, charge (its first payment's charge id, for refunds and cancelling), paid_until, canceled (see `core/subscriptions.py`) | until it lapses or is refunded |
| ``arbcast:subs:due`` | zset | user ids with a Stars subscription, scored by paid_until (the expiry loop reads the lapsed ones) | members removed when their subscription lapses or is refunded |
| ``arbcast:payments:charges`` | hash | every processed ``telegram_payment_charge_id`` -> JSON (user, tier, amount, subscription charge, refunded): a payment delivered twice is granted once | permanent (one entry per payment) |
| ``arbcast:quota:{uid}:d:<yyyymmdd>`` | string | opportunities counted today (UTC) | 2 days |
| ``arbcast:quota:{uid}:h:<yyyymmddhh>`` | string | opportunities counted this hour (UTC) | 2 hours |
| ``arbcast:quota:{uid}:views`` | zset | opportunity ids /opportunities or a push charged the user for, scored by when: seen again within the window they are free | `opportunities.repeat_view_free_seconds` after the last charge |
| ``arbcast:opp:<id>`` | string | an opportunity as JSON | `opportunities.ttl_seconds` |
| ``arbcast:opps:live`` | zset | live opportunity ids scored by expiry | members pruned as they expire |
| ``arbcast:opp:<id>:validation`` | list | the validation records (JSON) of one opportunity, oldest first | `opportunities.closed_retention_seconds` |
| ``arbcast:opps:changes`` | stream | opened / updated / closed opportunities, for distribution | trimmed to about 100,000 entries |
| ``arbcast:coord:<a>-<b>`` | string | what the coordinator of exchange pair a-b must not lose (JSON) | permanent |
| ``arbcast:coord:<a>-<b>:market`` | string | its recent books and price series (JSON), saved periodically | permanent |
| ``arbcast:opp:<id>:recipients`` | set | user ids sent this opportunity (their messages are edited when it closes) | 1 day |
| ``arbcast:uq:{uid}`` | string | the user's push queue (`UserQueue.to_dict()` as JSON), saved after each turn | `distribution.sent_retention_seconds` after the last turn |
| ``arbcast:lastpush:{uid}`` | string | when the user last received a push (for the cooldown) | 2 days |
| ``arbcast:group:{chat}`` | hash | a group's or channel's `GroupConfig` (one field per setting, JSON values, `core/groups/store.py`) and, for `push_release.lua`, the gate fields a user's session and profile hold: ``state`` (``active`` while it receives pushes), ``expires``, ``push``, ``opps`` (alerts released); its queue, counters and last push are the per-chat keys above with the negative chat id | permanent (kept, inactive, when the bot is removed) |
| ``arbcast:groups:all`` | set | chat ids of every group and channel the bot was ever in | permanent |
| ``arbcast:groups:recipients`` | set | chat ids of groups that receive pushes (bot present, alerts enabled): the push shards load them | members removed when paused or the bot is removed |
| ``arbcast:groups:channels`` | set | chat ids of linked channels (bot an admin): the channel broadcaster posts to them | members removed when unlinked or the bot is removed |
| ``arbcast:group:{chat}:admin:{uid}`` | string | ``1``/``0``: whether getChatMember said the user is an admin of the chat | `groups.admin_cache_seconds` |
| ``arbcast:channel:{chat}:posted`` | zset | opportunity ids posted to the channel, scored by when | `groups.channel_posted_retention_seconds`; older members pruned |
| ``arbcast:channel:{chat}:m:<yyyymmddhhmm>`` / ``:h:<yyyymmddhh>`` | string | posts to the channel this minute / hour (its own limits) | 2 minutes / 2 hours |
| ``arbcast:{outbox}`` | stream | rendered push messages awaiting Telegram (`OutboxMessage` JSON), consumer group ``senders``: partition 0, or the only one | entries deleted once acknowledged, dropped or dead-lettered |
| ``arbcast:{outbox}:p<n>`` | stream | partition n ≥ 1 of the outbox when `delivery.senders` > 1: the chats with chat id mod senders = n, sent by sender n alone | as partition 0 |
| ``arbcast:{outbox}:high`` / ``arbcast:{outbox}:p<n>:high`` | stream | a partition's HIGH-priority messages (singles, reminders): claimed before the partition's other messages, so a HIGH never waits behind a backlog of digests | as the partition |
| ``arbcast:{outbox}:delayed`` / ``arbcast:{outbox}:p<n>:delayed`` | zset | a partition's messages to retry (payload scored by due time) | moved back to the partition's stream when due |
| ``arbcast:{outbox}:dead`` | stream | messages given up on, with the reason | capped at `delivery.dead_max_len` entries |
| ``arbcast:{outbox}:acks`` | stream | (user id, outgoing id, Telegram message id) of each sent message, read by the distributor to track message ids | capped at `delivery.acks_max_len` entries |
| ``<stream>:dead`` | stream | entries of the changes or acks stream that its reader gave up on: malformed, or failing `distribution.max_entry_failures` times (fields, error, group, original id); `arbcast outbox dead-letters` lists and replays them | capped at `delivery.dead_max_len` entries |
| ``<stream>:failures:<group>`` | hash | failures of a reader group per entry id, so that a restart keeps counting | entries deleted once handled or dead-lettered |
| ``arbcast:{outbox}:stats`` | hash | delivery outcome counters (sent, dropped:<reason>, retried, dead, duplicates) | permanent |
| ``arbcast:{outbox}:seen:<outgoing id>`` | string | marks an outgoing id enqueued (a repeated enqueue is ignored) | `delivery.dedup_retention_seconds` |
| ``arbcast:{outbox}:sending:<outgoing id>`` | string | set right before a send: found again means a crash-window resend | `delivery.sending_mark_ttl_seconds`; deleted on outcome |
| ``arbcast:{outbox}:sent:<outgoing id>`` | string | the Telegram message id it was sent as | `delivery.sent_record_ttl_seconds` |
| ``arbcast:limiter`` | string | the GlobalRateLimiter's state (JSON): the first slot not yet handed out and a global 429's end, so a restarted limiter never grants a slot twice | until both have passed, plus a minute |
| ``arbcast:push:stats`` | hash | push counters of the queue shards: ``held:<reason>``, ``dropped:<reason>``, ``rejected:<layer reason>`` | permanent |
| ``arbcast:actors:restarts`` | hash | per actor name, how often Ray restarted it (bumped by the actor's constructor when Ray reconstructed it); read by /metrics | permanent |
| ``arbcast:ops:mute:<alert kind>`` | string | a SuperAdmin muted this kind of in-bot alert: when the mute ends (the injected clock's time) | `ops.alert_mute_seconds` (the TTL only cleans up; the stored end decides) |
| ``arbcast:events`` | stream | the append-only event log, oldest first, one entry per flushed batch | trimmed by the Parquet sink once written (`events.stream_max_len` as a guard) |
| ``arbcast:events:dead`` | stream | event entries the sink could not decode, kept for inspection | permanent |
| ``arbcast:stats:<yyyymmdd>`` | hash | daily counters: sessions started, expired, onboarding completed | 40 days |
| ``arbcast:fsm:...`` | string | aiogram FSM state and data (RedisStorage's own keys) | 1 day |
| ``arbcast:rel:{uid}`` | hash | the user's relevance weights, feature name -> float (`core/personalisation/store.py`), and ``_n``: signals learned | permanent; deleted when the user resets personalisation |
| ``arbcast:rel:tier:<tier>`` | hash | the tier's shared relevance weights (a new user's cold start) | permanent |
| ``arbcast:rel:{uid}:seen`` | hash | alerts delivered to the user: opportunity id -> ``sent_at;tier;prior;features``, and ``<id>#<signal>`` marks of what was learned (``#i``: the user pressed something) | `personalisation.impressions_ttl_seconds` after the last write |
| ``arbcast:rel:due`` | zset | ``<uid> <opportunity id>`` of delivered alerts scored by when they count as unopened | members removed when learned or pressed |
| ``arbcast:exp:<name>:assigned`` | set | user ids whose assignment to experiment <name> was recorded (the event is emitted once) | permanent |
| ``arbcast:lease:<name>`` | string | the id (host:pid:random) of the process holding the lease ``name`` (``singletons``: runs the engine, sweeper, sink and other once-per-deployment loops); set NX, renewed and released only by its holder (`core/store/lua/lease_*.lua`) | `leadership.lease_seconds` after the last renewal |
| ``arbcast:update:<bot id>:<update id>`` | string | ``pending`` while one process handles the update, ``done`` once handled: a copy (redelivery, other process, restart) is not handled twice; deleted when handling fails | `telegram.update_claim_seconds` pending, `telegram.update_dedup_seconds` done |
"""

from __future__ import annotations

from typing import Final

PREFIX: Final = "arbcast"

SESSION_EXPIRY_INDEX: Final = f"{PREFIX}:sessions:expiry"
SESSION_CHANNEL: Final = f"{PREFIX}:sessions:changed"
LIVE_OPPORTUNITIES: Final = f"{PREFIX}:opps:live"
OPPORTUNITY_CHANGES: Final = f"{PREFIX}:opps:changes"
OPPORTUNITY_CHANGES_MAX_LEN: Final = 100_000
EVENTS_STREAM: Final = f"{PREFIX}:events"
FSM_PREFIX: Final = f"{PREFIX}:fsm"
SINGLETONS_LEASE: Final = "singletons"

QUOTA_DAY_TTL_S: Final = 2 * 86_400
QUOTA_HOUR_TTL_S: Final = 2 * 3_600
STATS_TTL_S: Final = 40 * 86_400
RECIPIENTS_TTL_S: Final = 86_400
LAST_PUSH_TTL_S: Final = 2 * 86_400
FSM_TTL_S: Final = 86_400

OUTBOX_STREAM: Final = f"{PREFIX}:{{outbox}}"
OUTBOX_DELAYED: Final = f"{OUTBOX_STREAM}:delayed"
OUTBOX_DEAD: Final = f"{OUTBOX_STREAM}:dead"
OUTBOX_ACKS: Final = f"{OUTBOX_STREAM}:acks"
OUTBOX_STATS: Final = f"{OUTBOX_STREAM}:stats"
OUTBOX_GROUP: Final = "senders"
PUSH_STATS: Final = f"{PREFIX}:push:stats"
RATE_LIMITER: Final = f"{PREFIX}:limiter"
RATE_LIMITER_GRACE_S: Final = 60
ACTOR_RESTARTS: Final = f"{PREFIX}:actors:restarts"
SUBSCRIPTIONS_DUE: Final = f"{PREFIX}:subs:due"
PAYMENT_CHARGES: Final = f"{PREFIX}:payments:charges"
GROUPS_ALL: Final = f"{PREFIX}:groups:all"
GROUP_RECIPIENTS: Final = f"{PREFIX}:groups:recipients"
GROUP_CHANNELS: Final = f"{PREFIX}:groups:channels"
CHANNEL_MINUTE_TTL_S: Final = 120
CHANNEL_HOUR_TTL_S: Final = 2 * 3_600


def session(user_id: int) -> str:
    return f"{PREFIX}:session:{{{user_id}}}"


def user(user_id: int) -> str:
    return f"{PREFIX}:user:{{{user_id}}}"


def subscription(user_id: int) -> str:
    return f"{PREFIX}:sub:{{{user_id}}}"


def users_by_tier(tier: str) -> str:
    return f"{PREFIX}:users:tier:{tier}"


def quota_day(user_id: int, yyyymmdd: str) -> str:
    return f"{PREFIX}:quota:{{{user_id}}}:d:{yyyymmdd}"


def quota_hour(user_id: int, yyyymmddhh: str) -> str:
    return f"{PREFIX}:quota:{{{user_id}}}:h:{yyyymmddhh}"


def quota_views(user_id: int) -> str:
    return f"{PREFIX}:quota:{{{user_id}}}:views"


def opportunity(opportunity_id: str) -> str:
    return f"{PREFIX}:opp:{opportunity_id}"


def validation_log(opportunity_id: str) -> str:
    return f"{PREFIX}:opp:{opportunity_id}:validation"


def coordinator(pair: tuple[str, str]) -> str:
    return f"{PREFIX}:coord:{pair[0]}-{pair[1]}"


def recipients(opportunity_id: str) -> str:
    return f"{PREFIX}:opp:{opportunity_id}:recipients"


def user_queue(user_id: int) -> str:
    return f"{PREFIX}:uq:{{{user_id}}}"


def last_push(user_id: int) -> str:
    return f"{PREFIX}:lastpush:{{{user_id}}}"


def update_claim(bot_id: int, update_id: int) -> str:
    return f"{PREFIX}:update:{bot_id}:{update_id}"


def lease(name: str) -> str:
    return f"{PREFIX}:lease:{name}"


def daily_stats(yyyymmdd: str) -> str:
    return f"{PREFIX}:stats:{yyyymmdd}"


def ops_alert_mute(kind: str) -> str:
    return f"{PREFIX}:ops:mute:{kind}"


RELEVANCE_DUE: Final = f"{PREFIX}:rel:due"


def relevance_weights(user_id: int) -> str:
    return f"{PREFIX}:rel:{{{user_id}}}"


def relevance_seen(user_id: int) -> str:
    return f"{PREFIX}:rel:{{{user_id}}}:seen"


def relevance_tier(tier: str) -> str:
    return f"{PREFIX}:rel:tier:{tier}"


def experiment_assigned(name: str) -> str:
    return f"{PREFIX}:exp:{name}:assigned"


def group(chat_id: int) -> str:
    return f"{PREFIX}:group:{{{chat_id}}}"


def group_admin(chat_id: int, user_id: int) -> str:
    return f"{PREFIX}:group:{{{chat_id}}}:admin:{user_id}"


def channel_posted(chat_id: int) -> str:
    return f"{PREFIX}:channel:{{{chat_id}}}:posted"


def channel_minute(chat_id: int, yyyymmddhhmm: str) -> str:
    return f"{PREFIX}:channel:{{{chat_id}}}:m:{yyyymmddhhmm}"


def channel_hour(chat_id: int, yyyymmddhh: str) -> str:
    return f"{PREFIX}:channel:{{{chat_id}}}:h:{yyyymmddhh}"


class SessionFields:
    """Field names of the ``arbcast:session:{uid}`` hash."""

    ID: Final = "id"
    USER: Final = "user"
    STATE: Final = "state"
    CREATED: Final = "created"
    LAST_ACTIVITY: Final = "last"
    EXPIRES: Final = "expires"
    ONBOARDING: Final = "onboarding"
    COMMANDS: Final = "commands"
    OPPORTUNITIES: Final = "opps"
    REMINDED: Final = "reminded"  # the expiry a "your session ends soon" reminder was sent for


class GroupGateFields:
    """Fields of the ``arbcast:group:{chat}`` hash that ``push_release.lua`` reads where a user
    has a session hash and a profile hash (the config's own fields are `GroupConfig`'s names)."""

    STATE: Final = "state"  # "active" while the group receives pushes, else "paused"
    EXPIRES: Final = "expires"  # a group has no session expiry: far in the future
    PUSH: Final = "push"  # "1" / "0"
    OPPORTUNITIES: Final = "opps"  # alerts released to the group (HINCRBY by the release)


class ProfileFields:
    """Field names of the ``arbcast:user:{uid}`` hash; list values are comma-separated."""

    NAME: Final = "name"
    TIER: Final = "tier"
    PUSH: Final = "push"
    TYPES: Final = "types"
    MUTED_PAIRS: Final = "muted_pairs"
    WATCHLIST: Final = "watchlist"
    WATCH_ONLY: Final = "watch_only"
    MIN_PROFIT: Final = "min_profit"
    TIMEZONE: Final = "tz"
    ACTIVE_HOURS: Final = "hours"
    DND_UNTIL: Final = "dnd_until"
    PIERCE_DND: Final = "pierce_dnd"
    RISK: Final = "risk"
    EXCHANGES: Final = "exchanges"
    ONBOARDING: Final = "onboarding"
    RESTRICTED: Final = "restricted"
    REGION: Final = "region"
    LANGUAGE: Final = "lang"


OUTBOX_MAX_PARTITIONS: Final = 16


def outbox_partition(chat_id: int, partitions: int) -> int:
    """The outbox partition (and sender) that owns a chat: one owner keeps per-chat order and
    Telegram's per-chat limits exact."""
    return chat_id % partitions


def stream_dead(stream: str) -> str:
    """Entries of `stream` its reader gave up on (malformed, or failing again and again)."""
    return f"{stream}:dead"


def stream_failures(stream: str, group: str) -> str:
    """How often the reader group `group` failed on each entry of `stream` (entry id -> n)."""
    return f"{stream}:failures:{group}"


def outbox_stream(partition: int, *, high: bool = False) -> str:
    """A partition's stream; `high`: its lane for HIGH alerts, claimed before the rest."""
    base = OUTBOX_STREAM if partition == 0 else f"{OUTBOX_STREAM}:p{partition}"
    return f"{base}:high" if high else base


def outbox_delayed(partition: int) -> str:
    return f"{outbox_stream(partition)}:delayed"


def outbox_seen(outgoing_id: str) -> str:
    return f"{OUTBOX_STREAM}:seen:{outgoing_id}"


def outbox_sending(outgoing_id: str) -> str:
    return f"{OUTBOX_STREAM}:sending:{outgoing_id}"


def outbox_sent(outgoing_id: str) -> str:
    return f"{OUTBOX_STREAM}:sent:{outgoing_id}"
