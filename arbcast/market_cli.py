"""`arbcast market`: record market data to Parquet, for replays (ARBCAST_FEED=replay) and tests.

    arbcast market record --out var/ticks.parquet --batches 1000 --fast
    arbcast market record --out var/live.parquet --feed ccxt --seconds 600
    arbcast market record --partitioned --feed ccxt --seconds 3600   # to ARBCAST_MARKET_DATA__ROOT
    arbcast market record --out day.parquet --feed replay --replay-path var/market \
        --since 2026-01-02 --until 2026-01-02 --fast                  # one recorded day, one file

`--partitioned` writes the market-data lake's layout (`<out>/dt=…/hour=…/part-*.parquet`, files
appearing atomically, flushed by the ARBCAST_MARKET_DATA__FLUSH_* settings) instead of one file.
`--fast` steps the simulated feed on a manual clock instead of real time (1000 one-second ticks
in a few seconds; deterministic for a given ARBCAST_MARKET__SEED) and replays a recording as fast
as it reads. Without `--seconds` or `--batches`, a real-time recording runs until Ctrl-C; the
file is complete either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from arbcast.logging import setup_logging
from core.clock import Clock, ManualClock, SystemClock
from core.errors import ArbcastError, ConfigError
from core.market.feed import Feed, SimulatedFeed
from core.market.lake_layout import MarketDataSettings
from core.market.lake_writer import BackgroundLakeWriter, MarketLakeWriter
from core.market.models import MarketUpdate
from core.market.replay import ReplayFeed, TickRecorder
from core.market.simulator import SimulatedMarket
from core.parquet_storage import Storage
from core.settings import Settings, load_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


class FeedKind(StrEnum):
    SIMULATED = "simulated"
    REPLAY = "replay"
    CCXT = "ccxt"


@dataclass(slots=True)
class RecordResult:
    rows: int = 0
    batches: int = 0  # batches with at least one update
    interrupted: bool = False
    files: int = 0


@app.callback()
def market() -> None:
    """Market data tools."""


def build_feed(
    settings: Settings,
    kind: FeedKind,
    *,
    fast: bool,
    steps: int | None,
    replay_path: Path | None,
    since: date | None = None,
    until: date | None = None,
) -> tuple[Feed, Clock | None]:
    """The feed to record, and the clock that stamps its batches' `recv_ts` (None: each batch's
    newest update time, which keeps a replay's own timing)."""
    if kind is FeedKind.SIMULATED:
        market = SimulatedMarket(settings.market)
        if not fast:
            return SimulatedFeed(market, SystemClock(), steps=steps), SystemClock()
        clock = ManualClock()

        async def sleep(seconds: float) -> None:
            clock.advance(seconds=seconds)
            await asyncio.sleep(0)  # stay cancellable

        return SimulatedFeed(market, clock, steps=steps, sleep=sleep), clock
    if kind is FeedKind.REPLAY:
        path = replay_path or settings.replay_path
        if path is None:
            raise ConfigError("--feed replay needs --replay-path (or ARBCAST_REPLAY_PATH)")
        if not path.exists() and not any(c in str(path) for c in "*?["):
            raise ConfigError(f"no recording at {path}")
        since = since or settings.replay_since
        until = until or settings.replay_until
        return ReplayFeed(path, speed=None if fast else 1.0, since=since, until=until), None
    if fast:
        raise ConfigError("--fast applies to the simulated and replay feeds, not to ccxt")
    from core.market.ccxt_feed import CcxtFeed

    return CcxtFeed.from_settings(settings), SystemClock()


class _LakeRecorder:
    """`TickRecorder`'s interface over the partitioned lake, with backpressure (a recording
    made on purpose keeps every batch)."""

    def __init__(self, storage: Storage, settings: MarketDataSettings) -> None:
        clock = SystemClock()  # flush by age in real time, whatever clock stamps the batches
        self._writer = BackgroundLakeWriter(
            MarketLakeWriter(storage, settings, clock=clock), clock=clock
        )

    async def write(self, updates: list[MarketUpdate], recv_ts: float | None) -> None:
        when = max(u.ts for u in updates) if recv_ts is None else recv_ts
        await self._writer.put(updates, when)

    async def close(self) -> RecordResult:
        await self._writer.close()
        stats = self._writer.stats
        return RecordResult(rows=stats.rows_written, files=stats.files_written)


class _FileRecorder:
    def __init__(self, out: Path) -> None:
        self._recorder = TickRecorder(out)

    async def write(self, updates: list[MarketUpdate], recv_ts: float | None) -> None:
        self._recorder.write(updates, recv_ts)

    async def close(self) -> RecordResult:
        self._recorder.close()
        return RecordResult(rows=self._recorder.rows_written, files=1)


async def record_feed(
    feed: Feed,
    out: Path | Storage,
    *,
    clock: Clock | None,
    batches: int | None = None,
    seconds: float | None = None,
    lake: MarketDataSettings | None = None,
) -> RecordResult:
    """Drain `feed` into `out` until it ends, `batches` batches were read, `seconds` of real
    time passed, or the task is cancelled; what was read is written completely in every case.

    `out` is one Parquet file, or with a `Storage` the root of a partitioned lake (written with
    `lake`'s flush settings)."""
    result = RecordResult()
    recorder: _FileRecorder | _LakeRecorder
    if isinstance(out, Storage):
        recorder = _LakeRecorder(out, lake or MarketDataSettings())
    else:
        recorder = _FileRecorder(out)
    try:
        async with asyncio.timeout(seconds):
            read = 0
            async for batch in feed.updates():
                read += 1
                if batch:
                    await recorder.write(batch, None if clock is None else clock.now())
                    result.batches += 1
                if batches is not None and read >= batches:
                    break
    except TimeoutError:
        pass
    except asyncio.CancelledError:
        result.interrupted = True
    finally:
        with contextlib.suppress(Exception):
            await feed.close()
        written = await asyncio.shield(recorder.close())
        result.rows, result.files = written.rows, written.files
    return result


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date: give YYYY-MM-DD") from None


@app.command()
def record(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Parquet file to write; with --partitioned, the lake root "
            "(default: ARBCAST_MARKET_DATA__ROOT).",
        ),
    ] = None,
    partitioned: Annotated[
        bool,
        typer.Option(help="Write dt=YYYY-MM-DD/hour=HH/part-*.parquet files under --out."),
    ] = False,
    feed: Annotated[
        FeedKind | None, typer.Option(help="Feed to record (default: ARBCAST_FEED).")
    ] = None,
    seconds: Annotated[
        float | None,
        typer.Option(min=0, help="Stop after this long (with --fast: of simulated time)."),
    ] = None,
    batches: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many batches.")
    ] = None,
    fast: Annotated[
        bool, typer.Option(help="Simulated: no real-time pacing. Replay: as fast as it reads.")
    ] = False,
    replay_path: Annotated[
        Path | None,
        typer.Option(help="Recording to read with --feed replay: a file, a lake root or a glob."),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="--feed replay of a lake root: from this date (YYYY-MM-DD).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="...up to this date, inclusive.")] = None,
    seed: Annotated[int | None, typer.Option(help="Simulator seed (ARBCAST_MARKET__SEED).")] = None,
    log_level: str = "WARNING",
) -> None:
    """Record a feed's updates to Parquet (zstd), replayable with ARBCAST_FEED=replay."""
    if not logging.getLogger().handlers:
        setup_logging(log_level)
    if seconds is not None and batches is not None:
        _fail(ConfigError("give --seconds or --batches, not both"))
    if out is None and not partitioned:
        _fail(ConfigError("give --out FILE, or --partitioned to write the market-data lake"))
    since_day, until_day = _day(since), _day(until)
    try:
        settings = load_settings()
        if seed is not None:
            settings = settings.model_copy(
                update={"market": settings.market.model_copy(update={"seed": seed})}
            )
        kind = FeedKind(settings.feed) if feed is None else feed
        simulated_fast = fast and kind is FeedKind.SIMULATED
        if simulated_fast and seconds is None and batches is None:
            raise ConfigError("--fast needs --seconds or --batches for the simulated feed")
        steps = batches
        if simulated_fast and seconds is not None:
            # simulated time: one batch per tick interval, no wall-clock limit
            steps = max(1, math.ceil(seconds / settings.market.tick_interval_s))
        wall_seconds = None if simulated_fast else seconds

        def make() -> tuple[Feed, Clock | None]:
            return build_feed(
                settings,
                kind,
                fast=fast,
                steps=steps,
                replay_path=replay_path,
                since=since_day,
                until=until_day,
            )

        target: Path | Storage
        if partitioned:
            root = settings.market_data.root if out is None else str(out)
            target = Storage.from_root(root, settings.analytics)
            where = f"{target.uri} ({{files}} files under dt=/hour=)"
        else:
            assert out is not None
            target, where = out, str(out)
        result = asyncio.run(_main(make, target, batches, wall_seconds, settings.market_data))
    except ArbcastError as exc:
        _fail(exc)
    except FileNotFoundError as exc:  # a replay source with nothing to read
        _fail(ConfigError(str(exc)))
    note = " (interrupted)" if result.interrupted else ""
    where = where.format(files=result.files)
    typer.echo(f"{result.rows} rows in {result.batches} batches written to {where}{note}")


async def _main(
    make: Callable[[], tuple[Feed, Clock | None]],
    out: Path | Storage,
    batches: int | None,
    seconds: float | None,
    lake: MarketDataSettings,
) -> RecordResult:
    source, clock = make()  # inside the loop: ccxt's async exchanges want one
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    installed = False
    if task is not None:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
            installed = True
    try:
        return await record_feed(
            source, out, clock=clock, batches=batches, seconds=seconds, lake=lake
        )
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGTERM)


def _fail(exc: ArbcastError) -> NoReturn:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)
