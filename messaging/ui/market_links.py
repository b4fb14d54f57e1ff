"""Links to an exchange's own market page for a pair, so a trader goes from the alert to the
order ticket in one tap.

One template per exchange the market has (`core.market.simulator.DEFAULT_EXCHANGES`: binance,
bybit, okx, kraken) and per kind of market: spot for cross-exchange and technical opportunities,
the USDT-margined perpetual for funding ones (funding is paid on perpetuals). An exchange or a
symbol without a template gets no link (None) rather than a guessed one. Kraken names bitcoin
XBT on its futures site, hence the alias.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import quote

from core.models import OpportunityType

SPOT: Final = {
    "binance": "https://www.binance.com/en/trade/{BASE}_{QUOTE}",
    "bybit": "https://www.bybit.com/en/trade/spot/{BASE}/{QUOTE}",
    "okx": "https://www.okx.com/trade-spot/{base}-{quote}",
    "kraken": "https://pro.kraken.com/app/trade/{base}-{quote}",
}
PERPETUAL: Final = {
    "binance": "https://www.binance.com/en/futures/{BASE}{QUOTE}",
    "bybit": "https://www.bybit.com/trade/usdt/{BASE}{QUOTE}",
    "okx": "https://www.okx.com/trade-swap/{base}-{quote}-swap",
    "kraken": "https://futures.kraken.com/trade/futures/PF_{KBASE}USD",
}
_KRAKEN_ALIAS: Final = {"BTC": "XBT"}
_SYMBOL = re.compile(r"^([A-Z0-9]{1,15})/([A-Z0-9]{1,15})$")


def market_url(exchange: str, symbol: str, kind: OpportunityType) -> str | None:
    """The exchange's page for `symbol` ("BASE/QUOTE"), or None when there is no template."""
    templates = PERPETUAL if kind is OpportunityType.FUNDING else SPOT
    template = templates.get(exchange.lower())
    m = _SYMBOL.match(symbol.upper())
    if template is None or m is None:
        return None
    base, quote_ = (quote(part, safe="") for part in m.groups())
    return template.format(
        BASE=base,
        QUOTE=quote_,
        base=base.lower(),
        quote=quote_.lower(),
        KBASE=_KRAKEN_ALIAS.get(base, base),
    )
