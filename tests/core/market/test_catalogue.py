"""The market's catalogue (issue 15): the exchanges and symbols the configured feed has, and a
typed pair resolved against them with a suggestion when it is not one of them."""

from __future__ import annotations

import pytest

from core.market.catalogue import MarketCatalogue, PairMatch
from core.settings import Settings

CATALOGUE = MarketCatalogue(
    exchanges=("binance", "okx"),
    symbols=("BTC/USDT", "ETH/USDT", "DOGE/USDT", "ETH/BTC", "SOL/USDC"),
)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("doge", PairMatch("DOGE/USDT")),
        ("DOGE/USDT", PairMatch("DOGE/USDT")),
        ("doge-usdt", PairMatch("DOGE/USDT")),
        ("DOGEUSDT", PairMatch("DOGE/USDT")),
        (" eth btc ", PairMatch("ETH/BTC")),
        ("eth", PairMatch("ETH/USDT")),  # a bare base: its USDT pair first
        ("sol", PairMatch("SOL/USDC")),  # ...or the quote the market has
        ("dogecoin please", PairMatch(None, "DOGE/USDT")),
        ("BTC/EUR", PairMatch(None, "BTC/USDT")),
        ("ehtusdt", PairMatch(None, "ETH/USDT")),
        ("hello world", PairMatch(None, None)),
        ("", PairMatch(None, None)),
        ("<b>x</b>", PairMatch(None, None)),
    ],
)
def test_typed_pairs_resolve_or_get_the_closest_suggestion(typed: str, expected: PairMatch) -> None:
    assert CATALOGUE.resolve_pair(typed) == expected


def test_the_catalogue_follows_the_configured_feed() -> None:
    simulated = MarketCatalogue.of(Settings())
    assert "coinbase" not in simulated.exchanges
    assert simulated.exchanges == tuple(e.name for e in Settings().market.exchanges)
    assert "DOGE/USDT" in simulated.symbols
    ccxt = MarketCatalogue.of(
        Settings.model_validate({"feed": "ccxt", "ccxt": {"symbols": ["PEPE/USDT:USDT"]}})
    )
    assert ccxt.symbols == ("PEPE/USDT:USDT",)
    assert ccxt.resolve_pair("pepe") == PairMatch("PEPE/USDT:USDT")
    assert ccxt.resolve_pair("doge") == PairMatch(None, None)
