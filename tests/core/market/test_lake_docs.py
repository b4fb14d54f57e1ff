"""Every query of docs/analytics.md's market-data section runs on a lake the real writer
recorded, and the per-hour count it documents is the count of updates written."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import duckdb

from core.clock import ManualClock
from core.market import MarketSimSettings, SimulatedMarket
from core.market.lake_layout import MarketDataSettings, partition_of
from core.market.lake_writer import MarketLakeWriter
from core.parquet_storage import Storage

DOCS = (Path(__file__).resolve().parents[3] / "docs" / "analytics.md").read_text()
T0 = 1_767_225_600.0 + 3600 - 90  # the recording crosses an hour


def statements(root: Path) -> list[str]:
    blocks = re.findall(r"^```sql market\n(.*?)^```", DOCS, flags=re.S | re.M)
    assert len(blocks) == 1, "docs/analytics.md: the market-data queries are one `sql market` block"
    code = "\n".join(ln for ln in blocks[0].splitlines() if not ln.lstrip().startswith("--"))
    assert "'var/market/" in code
    code = code.replace("'var/market/", f"'{root}/")
    return [s.strip() for s in code.split(";") if s.strip()]


def test_the_documented_market_queries_run_on_a_recorded_lake(tmp_path: Path) -> None:
    market = SimulatedMarket(MarketSimSettings(seed=5))
    writer = MarketLakeWriter(
        Storage.local(tmp_path), MarketDataSettings(root=str(tmp_path)), clock=ManualClock(T0)
    )
    expected: Counter[tuple[str, str]] = Counter()
    for i in range(180):
        batch = market.step(T0 + i)
        writer.add(batch, T0 + i)
        hour = partition_of(T0 + i).rsplit("=", 1)[1]
        expected.update((hour, "book" if hasattr(u, "bids") else "funding") for u in batch)
    writer.flush()

    con = duckdb.connect()
    results = []
    for sql in statements(tmp_path):
        rows = con.execute(sql).to_arrow_table().to_pylist()  # as analytics reads (no pytz)
        if sql.upper().startswith("SELECT") or sql.upper().startswith("WITH"):
            assert rows, f"no rows from: {sql[:80]}"
            results.append(rows)
    assert len(results) == 4
    per_hour = {(f"{r['hour']:02d}", r["kind"]): r["updates"] for r in results[0]}
    assert per_hour == dict(expected)
