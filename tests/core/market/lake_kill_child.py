"""The writer process `test_lake_kill.py` kills: `python -m tests.core.market.lake_kill_child
ROOT`. It writes two small files (each reported on stdout once renamed into place), then one
large file at zstd level 22 (slow on purpose, so the kill lands while it is being written),
announcing it first."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from core.clock import ManualClock
from core.market import MarketSimSettings, SimulatedMarket
from core.market.lake_layout import MarketDataSettings
from core.market.lake_writer import MarketLakeWriter
from core.parquet_storage import Storage

T0 = 1_767_225_600.0
SEED = 31
SMALL = 50  # batches per small file
LARGE = 800  # batches of the file being written when the kill comes (about 60,000 rows)


def main(root: Path) -> None:
    market = SimulatedMarket(MarketSimSettings(seed=SEED))
    storage = Storage.local(root)
    small = MarketLakeWriter(storage, MarketDataSettings(root=str(root)), clock=ManualClock(T0))
    step = 0
    for _ in range(2):
        for _ in range(SMALL):
            small.add(market.step(T0 + step), T0 + step)
            step += 1
        (rel,) = small.flush()
        print(json.dumps({"done": rel}), flush=True)
    slow = MarketDataSettings(root=str(root), compression_level=22, flush_rows=10**7)
    large = MarketLakeWriter(storage, slow, clock=ManualClock(T0))
    for _ in range(LARGE):
        large.add(market.step(T0 + step), T0 + 1000)  # one hour partition
        step += 1
    print(json.dumps({"writing": LARGE}), flush=True)
    large.flush()
    print(json.dumps({"done": "large"}), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
