"""The one Parquet schema of recorded market data, and its encoding to and from Arrow.

One row per update (`kind` book or funding): `exchange`, `symbol`, `ts`, `latency_ms`, `volume`,
the book's levels as four lists (`bid_px`, `bid_qty`, `ask_px`, `ask_qty`, best first), `rate`,
`next_funding_ts`; columns that do not apply to a kind are null. `batch` numbers the batches the
updates arrived in, so a replay yields the same batches; `recv_ts` is when the batch was received
(the pacing reference of a replay at speed, and what the partitioned lake is partitioned by).

Both the single-file recorder (`core.market.replay.TickRecorder`) and the partitioned writer
(`core.market.lake_writer`) write this schema through `encode`. It builds the columns directly
(flat level values plus list offsets) rather than one dict per row: that is what lets the
writer keep up with the design's 100 MB/s (`python -m benchmarks.market_ingest`).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from itertools import compress
from operator import attrgetter
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.market.models import BookLevel, FundingRate, MarketUpdate, OrderBook

# How the files are written: floats split by byte stream (prices and sizes of neighbouring levels
# share their high bytes, so zstd then compresses them; measured on simulated books, level 1:
# 34 MB instead of 42 MB, in a third of the time dictionary encoding took); dictionaries only
# for the repetitive strings.
_FLOATS = ["recv_ts", "ts", "latency_ms", "volume", "rate", "next_funding_ts"]
_LEVELS = [f"{c}.list.element" for c in ("bid_px", "bid_qty", "ask_px", "ask_qty")]
WRITE_OPTIONS: dict[str, Any] = {
    "use_dictionary": ["kind", "exchange", "symbol"],
    "use_byte_stream_split": _FLOATS + _LEVELS,
}

SCHEMA = pa.schema(
    [
        ("batch", pa.int64()),
        ("recv_ts", pa.float64()),
        ("kind", pa.string()),
        ("exchange", pa.string()),
        ("symbol", pa.string()),
        ("ts", pa.float64()),
        ("latency_ms", pa.float64()),
        ("volume", pa.float64()),
        ("bid_px", pa.list_(pa.float64())),
        ("bid_qty", pa.list_(pa.float64())),
        ("ask_px", pa.list_(pa.float64())),
        ("ask_qty", pa.list_(pa.float64())),
        ("rate", pa.float64()),
        ("next_funding_ts", pa.float64()),
    ]
)

# (batch number, recv_ts, the batch's updates)
Batch = tuple[int, float, Sequence[MarketUpdate]]

_PRICE = attrgetter("price")
_QTY = attrgetter("qty")


_KIND = {OrderBook: "book", FundingRate: "funding"}
_EXCHANGE = attrgetter("exchange")
_SYMBOL = attrgetter("symbol")
_TS = attrgetter("ts")
_LATENCY = attrgetter("latency_ms")
_VOLUME = attrgetter("volume")
_BIDS = attrgetter("bids")
_ASKS = attrgetter("asks")
_RATE = attrgetter("rate")
_NEXT = attrgetter("next_funding_ts")


def _scattered(n: int, where: np.ndarray, values: list[float]) -> pa.Array:
    """A float column of `n` rows holding `values` at the rows `where`, null elsewhere."""
    full = np.zeros(n, dtype=np.float64)
    full[where] = values
    missing = np.ones(n, dtype=bool)
    missing[where] = False
    return pa.array(full, pa.float64(), mask=missing)


def _level_lists(
    n: int, where: np.ndarray, counts: list[int], px: array[float], qty: array[float]
) -> tuple[pa.Array, pa.Array]:
    """Two list columns (prices, sizes) of `n` rows: the books' levels at `where`, null
    elsewhere (a funding row)."""
    per_row = np.zeros(n, dtype=np.int32)
    per_row[where] = counts
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(per_row, out=offsets[1:])
    missing = np.ones(n, dtype=bool)
    missing[where] = False
    off = pa.array(offsets)
    mask = pa.array(missing)
    return (
        pa.ListArray.from_arrays(off, pa.array(np.frombuffer(px, np.float64)), mask=mask),
        pa.ListArray.from_arrays(off, pa.array(np.frombuffer(qty, np.float64)), mask=mask),
    )


def encode(batches: Iterable[Batch]) -> pa.Table:
    """The rows of `batches` as a table of `SCHEMA`, in the order given.

    Column by column (`map` over the updates, in C) rather than row by row: only the book
    levels need a Python loop, one `extend` per side and field, into `array('d')` buffers
    that Arrow takes without converting each float again (a third faster than lists)."""
    numbers: list[int] = []
    recvs: list[float] = []
    sizes: list[int] = []
    updates: list[MarketUpdate] = []
    for number, recv_ts, batch in batches:
        numbers.append(number)
        recvs.append(recv_ts)
        sizes.append(len(batch))
        updates.extend(batch)
    n = len(updates)
    try:
        kind = [_KIND[t] for t in map(type, updates)]
    except KeyError as exc:
        raise TypeError(f"not a market update: {exc.args[0].__name__}") from None
    is_book = [k == "book" for k in kind]
    book_rows = np.flatnonzero(np.asarray(is_book, dtype=bool))
    funding_rows = np.flatnonzero(np.logical_not(np.asarray(is_book, dtype=bool)))
    books: list[OrderBook] = list(compress(updates, is_book))  # type: ignore[arg-type]
    fundings: list[FundingRate] = [updates[i] for i in funding_rows]  # type: ignore[misc]
    bid_px, bid_qty, ask_px, ask_qty = (array("d") for _ in range(4))
    all_bids = list(map(_BIDS, books))
    all_asks = list(map(_ASKS, books))
    # The one Python loop (most of the encoding's time): bound methods, no attribute lookups.
    bpx, bqx, apx, aqx = bid_px.extend, bid_qty.extend, ask_px.extend, ask_qty.extend
    for bids, asks in zip(all_bids, all_asks, strict=True):
        bpx(map(_PRICE, bids))
        bqx(map(_QTY, bids))
        apx(map(_PRICE, asks))
        aqx(map(_QTY, asks))
    bid_counts = list(map(len, all_bids))
    ask_counts = list(map(len, all_asks))
    arrays: list[pa.Array] = [
        pa.array(np.repeat(np.asarray(numbers, dtype=np.int64), sizes)),
        pa.array(np.repeat(np.asarray(recvs, dtype=np.float64), sizes)),
        pa.array(kind, pa.string()),
        pa.array(list(map(_EXCHANGE, updates)), pa.string()),
        pa.array(list(map(_SYMBOL, updates)), pa.string()),
        pa.array(list(map(_TS, updates)), pa.float64()),
        _scattered(n, book_rows, list(map(_LATENCY, books))),
        _scattered(n, book_rows, list(map(_VOLUME, books))),
        *_level_lists(n, book_rows, bid_counts, bid_px, bid_qty),
        *_level_lists(n, book_rows, ask_counts, ask_px, ask_qty),
        _scattered(n, funding_rows, list(map(_RATE, fundings))),
        _scattered(n, funding_rows, list(map(_NEXT, fundings))),
    ]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def _update(row: dict[str, Any]) -> MarketUpdate:
    if row["kind"] == "book":
        return OrderBook(
            exchange=row["exchange"],
            symbol=row["symbol"],
            bids=tuple(BookLevel(p, q) for p, q in zip(row["bid_px"], row["bid_qty"], strict=True)),
            asks=tuple(BookLevel(p, q) for p, q in zip(row["ask_px"], row["ask_qty"], strict=True)),
            ts=row["ts"],
            latency_ms=row["latency_ms"],
            volume=row["volume"],
        )
    if row["kind"] == "funding":
        return FundingRate(
            exchange=row["exchange"],
            symbol=row["symbol"],
            rate=row["rate"],
            next_funding_ts=row["next_funding_ts"],
            ts=row["ts"],
        )
    raise ValueError(f"unknown market update kind in a recording: {row['kind']!r}")


def decode(table: pa.Table) -> Iterator[tuple[float, list[MarketUpdate]]]:
    """(recv_ts, updates) per batch of `table`, in (recv_ts, batch) order, in recorded order
    within a batch (the sort is stable)."""
    if table.num_rows == 0:
        return
    order = pc.sort_indices(table, sort_keys=[("recv_ts", "ascending"), ("batch", "ascending")])
    table = table.take(order)
    rows = table.to_pylist()
    current: tuple[float, int] | None = None
    out: list[MarketUpdate] = []
    for row in rows:
        key = (row["recv_ts"], row["batch"])
        if key != current:
            if out and current is not None:
                yield current[0], out
            current, out = key, []
        out.append(_update(row))
    if out and current is not None:
        yield current[0], out
