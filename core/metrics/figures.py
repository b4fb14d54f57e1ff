"""The operational figures /metrics shows and the in-bot alerts judge: one snapshot type, read
in one place (`messaging.ops_figures.read_figures`) for both, so a threshold in
`ops/prometheus/alerts.yml` and the same one in the bot look at the same number."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class GroupLag:
    """One consumer group of one stream: entries not yet delivered to it (`lag`, None when
    Redis could not say) and delivered but not acknowledged (`pending`)."""

    stream: str
    group: str
    lag: int | None
    pending: int


@dataclass(slots=True)
class OpsFigures:
    """A snapshot; a part that could not be read is left at None and named in `failed`."""

    at: float
    send_limit_per_second: float
    outbox_counters: dict[str, int] | None = None  # sent, retried, dead, dropped:<reason>, ...
    outbox_depth: dict[str, int] | None = None  # lane (stream, high, delayed) -> entries
    outbox_oldest_age_seconds: float | None = None  # 0 when the outbox is empty
    dead_letters: dict[str, int] | None = None  # dead-letter stream -> entries
    groups: list[GroupLag] | None = None
    sink_lag_entries: int | None = None
    redis_used_memory_bytes: int | None = None
    redis_max_memory_bytes: int | None = None
    opportunities_live: int | None = None
    actor_restarts: dict[str, int] | None = None
    telegram_429: dict[str, int] | None = None  # kind (global, chat) -> since the limiter started
    parts: list[str] = field(default_factory=list)  # every part this snapshot tried to read
    failed: list[str] = field(default_factory=list)  # ...and those it could not

    @property
    def dead_letters_total(self) -> int | None:
        return None if self.dead_letters is None else sum(self.dead_letters.values())

    @property
    def telegram_429_total(self) -> int | None:
        return None if self.telegram_429 is None else sum(self.telegram_429.values())
