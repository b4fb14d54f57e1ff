"""What the market has: its exchanges and symbols, and typed pairs resolved against them.

The list is the configured feed's: the ccxt feed's symbols (`settings.ccxt.symbols`) when it is
the feed and they are set, otherwise the simulator's (`settings.market`, which the replay and
ccxt feeds also fall back to). Exchanges are `settings.market.exchanges` for every feed.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cached_property

from core.settings import Settings

# Quotes tried when a pair is typed glued ("DOGEUSDT") or as a bare base ("doge").
_QUOTES = ("USDT", "USDC", "USD", "BTC", "ETH", "EUR")
_SEPARATORS = re.compile(r"[\s/\-_:.,]+")
_TOKEN = re.compile(r"^[A-Z0-9]{1,15}$")


@dataclass(frozen=True, slots=True)
class PairMatch:
    """A typed pair resolved: `pair` if the market knows it, else a `suggestion` (or None)."""

    pair: str | None
    suggestion: str | None = None


@dataclass(frozen=True)
class MarketCatalogue:
    exchanges: tuple[str, ...]
    symbols: tuple[str, ...]  # as opportunities name them, e.g. "BTC/USDT"

    @classmethod
    def of(cls, settings: Settings) -> MarketCatalogue:
        symbols: tuple[str, ...] = tuple(s.symbol for s in settings.market.symbols)
        if settings.feed == "ccxt" and settings.ccxt.symbols:
            symbols = settings.ccxt.symbols
        return cls(tuple(e.name for e in settings.market.exchanges), symbols)

    @cached_property
    def _by_compact(self) -> dict[str, str]:
        """'DOGEUSDT' -> 'DOGE/USDT' (settle suffixes such as ':USDT' ignored)."""
        return {_compact(s.split(":")[0]): s for s in self.symbols}

    @cached_property
    def _by_base(self) -> dict[str, str]:
        """'DOGE' -> its symbol, preferring the first quote of `_QUOTES` the market lists."""
        out: dict[str, str] = {}
        ranked = sorted(self.symbols, key=lambda s: _quote_rank(s.split(":")[0]))
        for s in ranked:
            out.setdefault(s.split("/")[0].upper(), s)
        return out

    def resolve_pair(self, text: str) -> PairMatch:
        """'doge', 'DOGE/USDT', 'doge-usdt', 'DOGEUSDT' -> DOGE/USDT when the market lists it;
        otherwise the closest listed symbol as a suggestion (difflib), or none."""
        tokens = [t for t in _SEPARATORS.split(text.strip().upper()) if t]
        if not tokens or len(tokens) > 3 or not all(_TOKEN.match(t) for t in tokens):
            return PairMatch(None, self._closest([_compact(text.upper())[:32]]))
        glued = "".join(tokens[:2])
        if glued in self._by_compact:
            return PairMatch(self._by_compact[glued])
        if len(tokens) == 1 and tokens[0] in self._by_base:
            return PairMatch(self._by_base[tokens[0]])
        return PairMatch(None, self._closest([glued, tokens[0]]))

    def _closest(self, queries: list[str]) -> str | None:
        best: tuple[float, str] | None = None
        for q in queries:
            for key, symbol in (*self._by_compact.items(), *self._by_base.items()):
                ratio = difflib.SequenceMatcher(None, q, key).ratio()
                if ratio >= 0.6 and (best is None or ratio > best[0]):
                    best = (ratio, symbol)
        return None if best is None else best[1]


def _compact(symbol: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", symbol.upper())


def _quote_rank(symbol: str) -> int:
    quote = symbol.partition("/")[2].upper()
    return _QUOTES.index(quote) if quote in _QUOTES else len(_QUOTES)
