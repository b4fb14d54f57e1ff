"""Run-time settings the control API can change."""

from __future__ import annotations

from dataclasses import dataclass

from emulator.limits import LimitMode

# Telegram clients stop waiting for a callback answer after about 15 s; later answers are refused.
CALLBACK_QUERY_TIMEOUT = 15.0
# A pre_checkout_query not answered within 10 s cancels the payment.
PRE_CHECKOUT_TIMEOUT = 10.0


@dataclass
class EmulatorConfig:
    limits: LimitMode = LimitMode.TELEGRAM
    webhook_retry_base: float = 1.0  # first retry delay; doubles per failure
    webhook_retry_cap: float = 60.0
    webhook_timeout: float = 60.0  # how long one POST to the bot's webhook may take
    default_bot_token: str | None = None
    # Seconds after the press during which answerCallbackQuery is accepted.
    callback_query_timeout: float = CALLBACK_QUERY_TIMEOUT
    # Seconds the payer waits for answerPreCheckoutQuery before the payment is cancelled.
    pre_checkout_timeout: float = PRE_CHECKOUT_TIMEOUT
    # Development only: accept http:// webhooks on any port (Telegram wants HTTPS on 443, 80, 88
    # or 8443), like telegram-bot-api's --local mode; tests serve their webhook on 127.0.0.1.
    allow_insecure_webhooks: bool = False
