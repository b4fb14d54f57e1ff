"""The market-data lake: its settings, and where its files are.

    <root>/dt=YYYY-MM-DD/hour=HH/part-<uuid>.parquet

`<root>` is `market_data.root` (`DATA_DIR/market` by default, beside the analytics lake, or
`s3://bucket/prefix`). `dt` and `hour` are the UTC date and hour of a batch's `recv_ts` (when it
was received), so a batch never straddles two files and a replay that reads the hours in order
reads the batches in order. Files are zstd Parquet of `core.market.tick_table.SCHEMA`, and appear
atomically (`core.parquet_storage.Storage`): a reader's `*.parquet` glob never sees a partial one.
"""

from __future__ import annotations

import glob
import os
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field

_PARTITION = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")
_HOUR = re.compile(r"^hour=(\d{2})$")


class MarketDataSettings(BaseModel):
    """Recording the feed to the market-data lake (`ARBCAST_MARKET_DATA__<FIELD>`)."""

    enabled: bool | Literal["auto"] = Field(
        default="auto",
        description="Record the engine's feed to the market-data lake: true, false, or auto "
        "(only a ccxt feed: live data cannot be fetched again, the simulator's can)",
    )
    root: str = Field(
        default="var/market",
        description="Where market data lands: a directory or s3://bucket/prefix (default: "
        "DATA_DIR/market; S3 connection settings are analytics'); layout dt=/hour=/",
    )
    flush_rows: Annotated[
        int, Field(gt=0, description="A file is written once this many updates are buffered")
    ] = 100_000
    flush_bytes: Annotated[
        int, Field(gt=0, description="...or once they take about this many bytes in Arrow")
    ] = 64_000_000
    flush_seconds: Annotated[
        float,
        Field(
            gt=0,
            description="...or once the oldest waited this long (a kill loses at most this much)",
        ),
    ] = 60.0
    max_buffered_rows: Annotated[
        int,
        Field(
            gt=0,
            description="Updates buffered or being written, at most; past it the engine drops "
            "new batches from the recording (counted) rather than wait for the disk",
        ),
    ] = 500_000
    compression_level: Annotated[
        int, Field(ge=1, le=22, description="zstd level (books barely compress further at 3)")
    ] = 1

    def active(self, feed: str) -> bool:
        """Whether `arbcast run` records, with the feed `feed` (simulated, replay, ccxt)."""
        return feed == "ccxt" if self.enabled == "auto" else bool(self.enabled)

    def resolved(self) -> MarketDataSettings:
        """This copy with a local root made absolute, for another process (a Ray worker) whose
        working directory may not be this one's."""
        if "://" in self.root:
            return self
        return self.model_copy(update={"root": os.path.abspath(self.root)})


def partition_of(recv_ts: float) -> str:
    """`dt=YYYY-MM-DD/hour=HH` of a batch received at `recv_ts` (UTC)."""
    d = datetime.fromtimestamp(recv_ts, tz=UTC)
    return f"dt={d:%Y-%m-%d}/hour={d:%H}"


def _finished(path: Path) -> bool:
    return path.is_file() and path.suffix == ".parquet" and not path.name.startswith(".")


def hour_partitions(
    root: Path, since: date | None = None, until: date | None = None
) -> list[list[Path]]:
    """The finished files of each hour partition under `root` whose date is within
    [since, until] (both inclusive; None: open), hours in time order, files by name."""
    out: list[list[Path]] = []
    days: list[tuple[date, Path]] = []
    for d in root.iterdir() if root.is_dir() else ():
        m = _PARTITION.match(d.name)
        if m and d.is_dir():
            day = date.fromisoformat(m.group(1))
            if (since is None or day >= since) and (until is None or day <= until):
                days.append((day, d))
    for _, d in sorted(days):
        hours = sorted(h for h in d.iterdir() if h.is_dir() and _HOUR.match(h.name))
        for h in hours:
            files = sorted(f for f in h.iterdir() if _finished(f))
            if files:
                out.append(files)
    return out


def resolve_source(
    source: str | Path, since: date | None = None, until: date | None = None
) -> list[list[Path]]:
    """The files a replay reads, in groups read and ordered together: one file; a lake root
    (each hour on its own, hours in order, dates within [since, until]); or a glob (one group).
    Raises FileNotFoundError with what was looked for when there is nothing to read."""
    text = str(source)
    path = Path(text)
    if path.is_file():
        return [[path]]
    if path.is_dir():
        groups = hour_partitions(path, since, until)
        if not groups and not any(path.glob("dt=*")):
            raise FileNotFoundError(
                f"{path} holds no dt=YYYY-MM-DD/hour=HH partitions: give a recorded file, a "
                "market-data lake root or a glob"
            )
        return groups
    if glob.has_magic(text):
        files = sorted(Path(f) for f in glob.glob(text, recursive=True) if _finished(Path(f)))
        if not files:
            raise FileNotFoundError(f"no Parquet file matches {text}")
        return [files]
    raise FileNotFoundError(f"no recording at {text}: give a file, a lake root or a glob")
