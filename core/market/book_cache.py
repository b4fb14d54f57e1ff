"""Latest book per (exchange, symbol), with staleness.

An (exchange, symbol) is stale when its latest book is older than `max_age_s` (by the data's own
timestamp against the caller's `now`) or was fetched with latency above `max_latency_ms`. An
exchange as a whole is stale when nothing from it is younger than `max_age_s`, or when its most
recent book (any symbol) came with latency above `max_latency_ms` — latency spikes hit an
exchange's whole API, not one market.
"""

from __future__ import annotations

from typing import Any

from core.market.models import MAX_LATENCY_MS, OrderBook, update_from_dict


class BookCache:
    def __init__(self, max_age_s: float = 5.0, max_latency_ms: float = MAX_LATENCY_MS) -> None:
        self.max_age_s = max_age_s
        self.max_latency_ms = max_latency_ms
        self._books: dict[tuple[str, str], OrderBook] = {}
        self._by_symbol: dict[str, dict[str, OrderBook]] = {}
        self._exchange_last: dict[str, OrderBook] = {}  # most recent book per exchange

    def update(self, book: OrderBook) -> None:
        key = (book.exchange, book.symbol)
        old = self._books.get(key)
        if old is not None and old.ts > book.ts:
            return  # out-of-order delivery: keep the newer one
        self._books[key] = book
        self._by_symbol.setdefault(book.symbol, {})[book.exchange] = book
        last = self._exchange_last.get(book.exchange)
        if last is None or book.ts >= last.ts:
            self._exchange_last[book.exchange] = book

    def get(self, exchange: str, symbol: str) -> OrderBook | None:
        return self._books.get((exchange, symbol))

    def symbols(self) -> list[str]:
        return sorted(self._by_symbol)

    def exchange_staleness(self, exchange: str, now: float) -> str | None:
        """None when the exchange is healthy, else the reason it is stale."""
        last = self._exchange_last.get(exchange)
        if last is None:
            return "no_data"
        if now - last.ts > self.max_age_s:
            return "exchange_stale"
        if last.latency_ms > self.max_latency_ms:
            return "exchange_latency"
        return None

    def staleness(self, exchange: str, symbol: str, now: float) -> str | None:
        """None when (exchange, symbol) is fresh, else the reason it is not."""
        book = self._books.get((exchange, symbol))
        if book is None:
            return "no_data"
        if now - book.ts > self.max_age_s:
            return "stale"
        if book.latency_ms > self.max_latency_ms:
            return "latency"
        return self.exchange_staleness(exchange, now)

    def is_fresh(self, exchange: str, symbol: str, now: float) -> bool:
        return self.staleness(exchange, symbol, now) is None

    def fresh_books(self, symbol: str, now: float) -> dict[str, OrderBook]:
        """The books of `symbol` whose (exchange, symbol) and exchange are both fresh."""
        books = self._by_symbol.get(symbol, {})
        return {
            exchange: books[exchange]
            for exchange in sorted(books)
            if self.staleness(exchange, symbol, now) is None
        }

    def snapshot(self) -> dict[str, Any]:
        return {
            "books": [book.to_dict() for _, book in sorted(self._books.items())],
            "exchange_last": {ex: b.to_dict() for ex, b in sorted(self._exchange_last.items())},
        }

    def restore(self, data: dict[str, Any]) -> None:
        self._books.clear()
        self._by_symbol.clear()
        self._exchange_last.clear()
        for item in data["books"]:
            book = update_from_dict(item)
            assert isinstance(book, OrderBook)
            self.update(book)
        for exchange, item in data["exchange_last"].items():
            book = update_from_dict(item)
            assert isinstance(book, OrderBook)
            self._exchange_last[exchange] = book
