"""Run-time settings the control API can change."""

from __future__ import annotations

from dataclasses import dataclass

from emulator.limits import LimitMode


@dataclass
class EmulatorConfig:
    limits: LimitMode = LimitMode.TELEGRAM
    webhook_retry_base: float = 1.0  # first retry delay; doubles per failure
    webhook_retry_cap: float = 60.0
    webhook_timeout: float = 60.0  # how long one POST to the bot's webhook may take
    default_bot_token: str | None = None
