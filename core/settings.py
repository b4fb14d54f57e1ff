"""Every duration, limit and tier figure of arbcast, read from the environment.

Variables take the prefix ``ARBCAST_`` and ``__`` between nested names, e.g.
``ARBCAST_SESSION__TTL_SECONDS=604800`` or ``ARBCAST_TIERS__FREE__DAILY_CAP=10``.
Two well-known variables go without the prefix: ``REDIS_URL`` and ``TELEGRAM_BOT_TOKEN``.
``.env.example`` documents them all.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ConfigError
from core.models import OpportunityType, Tier

_TOKEN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{20,}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

DAY = 86_400.0
HOUR = 3_600.0

Seconds = Annotated[float, Field(ge=0)]


class SessionSettings(BaseModel):
    ttl_seconds: Annotated[float, Field(gt=0)] = 7 * DAY
    # The sweeper marks sessions past their expiry as expired at least this often.
    sweep_interval_seconds: Annotated[float, Field(gt=0, le=60)] = 10.0
    sweep_batch: Annotated[int, Field(gt=0)] = 500
    # A cached session is re-read after this long even without an invalidation message,
    # a backstop for a missed pub/sub message.
    cache_max_age_seconds: Annotated[float, Field(gt=0)] = 30.0
    cache_max_entries: Annotated[int, Field(gt=0)] = 200_000
    # Extensions of expiry are written to Redis in batches this often.
    activity_flush_seconds: Annotated[float, Field(gt=0, le=1)] = 0.2
    # Ended sessions stay readable (for /status and "your session expired") this long.
    ended_retention_seconds: Seconds = 30 * DAY


class TierLimits(BaseModel):
    """What one subscription tier allows. A cap of 0 means unlimited."""

    daily_cap: Annotated[int, Field(ge=0)]
    hourly_cap: Annotated[int, Field(ge=0)]
    push_cooldown_seconds: Seconds
    opportunity_types: frozenset[OpportunityType]
    # Free users see opportunities this long after detection.
    delay_seconds: Seconds = 0.0
    price_usd_month: Annotated[float, Field(ge=0)] = 0.0


def _default_tiers() -> dict[Tier, TierLimits]:
    every = frozenset(OpportunityType)
    return {
        Tier.FREE: TierLimits(
            daily_cap=5,
            hourly_cap=2,
            push_cooldown_seconds=4 * HOUR,
            opportunity_types=frozenset({OpportunityType.ARBITRAGE}),
            delay_seconds=300,
        ),
        Tier.BASIC: TierLimits(
            daily_cap=20,
            hourly_cap=5,
            push_cooldown_seconds=HOUR,
            opportunity_types=frozenset({OpportunityType.ARBITRAGE, OpportunityType.FUNDING}),
            delay_seconds=60,
            price_usd_month=19,
        ),
        Tier.PREMIUM: TierLimits(
            daily_cap=100,
            hourly_cap=20,
            push_cooldown_seconds=600,
            opportunity_types=every,
            price_usd_month=49,
        ),
        Tier.ENTERPRISE: TierLimits(
            daily_cap=1000,
            hourly_cap=100,
            push_cooldown_seconds=60,
            opportunity_types=every,
            price_usd_month=199,
        ),
        Tier.SUPERADMIN: TierLimits(
            daily_cap=0, hourly_cap=0, push_cooldown_seconds=0, opportunity_types=every
        ),
    }


class TelegramSettings(BaseModel):
    # None means Telegram itself; the demo and tests point this at the emulator.
    api_base: str | None = None
    webhook_host: str = "127.0.0.1"
    webhook_port: Annotated[int, Field(ge=0, le=65535)] = 8080
    webhook_path: str = "/webhook"
    webhook_secret: SecretStr = SecretStr("arbcast-dev-secret")
    # False: an update is answered 200 only once handled, so Telegram retries what failed.
    handle_in_background: bool = False
    polling_timeout_seconds: Annotated[int, Field(ge=0, le=50)] = 10

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, v: SecretStr) -> SecretStr:
        if not _SECRET.match(v.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return v


class EventSettings(BaseModel):
    flush_interval_seconds: Annotated[float, Field(gt=0)] = 0.5
    flush_max_events: Annotated[int, Field(gt=0)] = 5_000
    # Oldest entries are trimmed past this length, once analytics has taken them.
    stream_max_len: Annotated[int, Field(gt=0)] = 5_000_000


class OpportunitySettings(BaseModel):
    max_shown: Annotated[int, Field(gt=0, le=20)] = 5
    ttl_seconds: Annotated[float, Field(gt=0)] = 900.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ARBCAST_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "ARBCAST_REDIS_URL")
    )
    telegram_bot_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "ARBCAST_TELEGRAM_BOT_TOKEN"),
    )
    data_dir: Path = Path("var")
    redis_binary: Path | None = None
    superadmin_ids: frozenset[int] = frozenset()

    session: SessionSettings = SessionSettings()
    tiers: dict[Tier, TierLimits] = Field(default_factory=_default_tiers)
    telegram: TelegramSettings = TelegramSettings()
    events: EventSettings = EventSettings()
    opportunities: OpportunitySettings = OpportunitySettings()

    @field_validator("tiers")
    @classmethod
    def _every_tier(cls, v: dict[Tier, TierLimits]) -> dict[Tier, TierLimits]:
        merged = _default_tiers() | v
        return merged

    @property
    def redis_dir(self) -> Path:
        return self.data_dir / "redis"

    def tier_limits(self, tier: Tier) -> TierLimits:
        return self.tiers[tier]

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


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, turning validation errors into a ConfigError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"ARBCAST_{'__'.join(str(p).upper() for p in err['loc'])}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc
