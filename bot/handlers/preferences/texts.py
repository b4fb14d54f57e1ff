"""What the settings screens say when they refuse or explain something (Telegram HTML).

English constants marked with `N_`: send them through `_()` (see `messaging.i18n`)."""

from __future__ import annotations

from typing import Final

from core.models import RiskTolerance
from messaging.i18n import N_

PAIR_EXPECTED: Final = N_(
    "Please send a trading pair as BASE/QUOTE, for example <code>BTC/USDT</code> "
    "(letters and digits only). Or press Cancel."
)
TZ_EXPECTED: Final = N_(
    "I don't know that timezone. Please send a city (<code>Moscow</code>, <code>New York</code>), "
    "an offset (<code>UTC+3</code>, <code>GMT-5</code>, <code>UTC+5:30</code>) or an IANA name "
    "(<code>Europe/Berlin</code>). Or press Cancel."
)
HOURS_EXPECTED: Final = N_(
    "Please send active hours as <code>HH-HH</code> in 24-hour time, for example "
    "<code>08-22</code> (0-24 means always; 22-06 runs overnight). Or press Cancel."
)
TEXT_EXPECTED: Final = N_("I'm waiting for text here. Send it, or press Cancel.")
LAST_TYPE: Final = N_(
    "Keep at least one type your plan includes. To pause every alert, turn push alerts off instead."
)
WATCH_EMPTY: Final = N_("Add a pair to your watchlist first, then choose “Only these pairs”.")
RISK_HELP: Final = {
    RiskTolerance.LOW: N_("the smallest suggested position size (same alerts at every level)"),
    RiskTolerance.MEDIUM: N_("a middle suggested position size"),
    RiskTolerance.HIGH: N_("the largest suggested position size, never over half the depth"),
}
# Alerts are read from public market data, so the bot never needs a trader's exchange keys;
# saying so is the guard against someone posing as the bot to collect them.
API_KEY_GUIDANCE: Final = N_(
    "🔑 Alerts need no exchange API keys, and this bot never asks for them: "
    "<b>never paste keys into this chat</b>, or give them to anyone who says they are the bot."
)
