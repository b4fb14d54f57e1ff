"""Pair sets of a shard's rows (muted pairs, watchlists) indexed by pair: pair -> rows.

One opportunity then looks up the rows of its one pair instead of testing every row's set.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

BoolArray = npt.NDArray[np.bool_]


def set_pairs(
    index: dict[str, set[int]], by_row: list[frozenset[str]], row: int, pairs: frozenset[str]
) -> None:
    """Make `pairs` the row's set in a pair -> rows index (`by_row` holds each row's set)."""
    old = by_row[row]
    for pair in old - pairs:
        rows = index[pair]
        rows.discard(row)
        if not rows:
            del index[pair]
    for pair in pairs - old:
        index.setdefault(pair, set()).add(row)
    by_row[row] = pairs


def move_pairs(
    index: dict[str, set[int]], by_row: list[frozenset[str]], src: int, dst: int
) -> None:
    """Row `src`'s pairs now belong to row `dst` (the last row moved into a removed one)."""
    for pair in by_row[src]:
        rows = index[pair]
        rows.discard(src)
        rows.add(dst)
    by_row[dst] = by_row[src]


def rows_mask(n: int, rows: set[int] | None) -> BoolArray:
    mask = np.zeros(n, np.bool_)
    if rows:
        mask[np.fromiter(rows, dtype=np.int64, count=len(rows))] = True
    return mask
