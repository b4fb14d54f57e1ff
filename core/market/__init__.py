"""Market data: models, simulated and replayed feeds, and the latest-book cache.

Pure Python, no network and no real time: everything is driven by the caller's clock.
"""

from core.market.book_cache import BookCache
from core.market.depth import Fill, fill_notional, fill_quantity
from core.market.feed import Feed, SimulatedFeed
from core.market.models import (
    MAX_LATENCY_MS,
    BookLevel,
    ExchangeInfo,
    FundingRate,
    MarketUpdate,
    OrderBook,
    update_from_dict,
)
from core.market.replay import ReplayFeed, TickRecorder, read_batches, record
from core.market.simulator import ExchangeSpec, MarketSimSettings, SimulatedMarket, SymbolSpec

__all__ = [
    "MAX_LATENCY_MS",
    "BookCache",
    "BookLevel",
    "ExchangeInfo",
    "ExchangeSpec",
    "Feed",
    "Fill",
    "FundingRate",
    "MarketSimSettings",
    "MarketUpdate",
    "OrderBook",
    "ReplayFeed",
    "SimulatedFeed",
    "SimulatedMarket",
    "SymbolSpec",
    "TickRecorder",
    "fill_notional",
    "fill_quantity",
    "read_batches",
    "record",
    "update_from_dict",
]
