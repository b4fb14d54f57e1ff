"""The one recording schema: the column-wise encoder writes what a row-by-row build of the same
updates (from their own `to_dict`) writes, and decoding gives back the same batches."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from core.market import BookLevel, FundingRate, MarketSimSettings, OrderBook, SimulatedMarket
from core.market.models import MarketUpdate
from core.market.tick_table import SCHEMA, decode, encode

T0 = 1_767_225_600.0


def row_by_row(batches: list[tuple[int, float, list[MarketUpdate]]]) -> pa.Table:
    """The oracle: one dict per update from the model's own `to_dict`, then pyarrow."""
    rows: list[dict[str, Any]] = []
    for number, recv, updates in batches:
        for u in updates:
            d = u.to_dict()
            book = d["kind"] == "book"
            rows.append(
                {
                    "batch": number,
                    "recv_ts": recv,
                    "kind": d["kind"],
                    "exchange": d["exchange"],
                    "symbol": d["symbol"],
                    "ts": d["ts"],
                    "latency_ms": d.get("latency_ms"),
                    "volume": d.get("volume"),
                    "bid_px": [p for p, _ in d["bids"]] if book else None,
                    "bid_qty": [q for _, q in d["bids"]] if book else None,
                    "ask_px": [p for p, _ in d["asks"]] if book else None,
                    "ask_qty": [q for _, q in d["asks"]] if book else None,
                    "rate": d.get("rate"),
                    "next_funding_ts": d.get("next_funding_ts"),
                }
            )
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def mixed() -> list[tuple[int, float, list[MarketUpdate]]]:
    market = SimulatedMarket(MarketSimSettings(seed=3))
    out: list[tuple[int, float, list[MarketUpdate]]] = [
        (i, T0 + i, market.step(T0 + i)) for i in range(40)
    ]
    one_sided = OrderBook("x", "BTC/USDT", (BookLevel(1.0, 2.0),), (), T0, 5.0, 0.0)
    empty = OrderBook("x", "ETH/USDT", (), (), T0, 0.0, 0.0)
    funding = FundingRate("x", "BTC/USDT", -0.0002, T0 + 3600, T0)
    out.append((40, T0 + 40, [funding, one_sided, empty, funding]))
    return out


def test_encode_equals_the_row_by_row_table() -> None:
    batches = mixed()
    assert any(isinstance(u, FundingRate) for _, _, b in batches[:40] for u in b)
    assert encode(batches).equals(row_by_row(batches))


def test_decode_gives_back_the_batches_in_receive_order() -> None:
    batches = mixed()
    shuffled = [batches[i] for i in (5, 0, 40, 3, *range(6, 40), 1, 2, 4)]
    back = list(decode(encode(shuffled)))
    assert back == [(recv, updates) for _, recv, updates in batches]


def test_an_empty_encoding_decodes_to_nothing() -> None:
    table = encode([])
    assert table.num_rows == 0 and table.schema == SCHEMA
    assert list(decode(table)) == []


def test_anything_but_an_update_is_refused() -> None:
    with pytest.raises(TypeError, match="not a market update: dict"):
        encode([(0, T0, [{"kind": "book"}])])  # type: ignore[list-item]
