"""Pure logic of push distribution: eligibility (scalar and columnar), per-user queues and
Telegram rate limiting. No Ray, Redis, aiogram or network here; hosts wrap these classes."""

from core.distribution.columns import ShardColumns, eligible_chat_ids, evaluate, evaluate_reasons
from core.distribution.eligibility import (
    ChatContext,
    Counters,
    Policy,
    Reason,
    RecipientState,
    Verdict,
    commit,
    explain,
)
from core.distribution.rate_limit import ChatPacer, GlobalRateLimiterLogic, Lease
from core.distribution.settings import DistributionSettings, RateLimitSettings
from core.distribution.user_queue import Outgoing, QueueEvent, UserQueue

__all__ = [
    "ChatContext",
    "ChatPacer",
    "Counters",
    "DistributionSettings",
    "GlobalRateLimiterLogic",
    "Lease",
    "Outgoing",
    "Policy",
    "QueueEvent",
    "RateLimitSettings",
    "Reason",
    "RecipientState",
    "ShardColumns",
    "UserQueue",
    "Verdict",
    "commit",
    "eligible_chat_ids",
    "evaluate",
    "evaluate_reasons",
    "explain",
]
