"""`arbcast market`: record market data to Parquet, for replays (ARBCAST_FEED=replay) and tests.

    arbcast market record --out var/ticks.parquet --batches 1000 --fast
    arbcast market record --out var/live.parquet --feed ccxt --seconds 600

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
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from arbcast.logging import setup_logging
from core.clock import Clock, ManualClock, SystemClock
from core.errors import ArbcastError, ConfigError
from core.market.feed import Feed, SimulatedFeed
from core.market.replay import ReplayFeed, TickRecorder
from core.market.simulator import SimulatedMarket
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
        if not path.exists():
            raise ConfigError(f"no recording at {path}")
        return ReplayFeed(path, speed=None if fast else 1.0), None
    if fast:
        raise ConfigError("--fast applies to the simulated and replay feeds, not to ccxt")
    from core.market.ccxt_feed import CcxtFeed

    return CcxtFeed.from_settings(settings), SystemClock()


async def record_feed(
    feed: Feed,
    out: Path,
    *,
    clock: Clock | None,
    batches: int | None = None,
    seconds: float | None = None,
) -> RecordResult:
    """Drain `feed` into `out` until it ends, `batches` batches were read, `seconds` of real
    time passed, or the task is cancelled; the file is complete in every case."""
    result = RecordResult()
    recorder = TickRecorder(out)
    try:
        async with asyncio.timeout(seconds):
            read = 0
            async for batch in feed.updates():
                read += 1
                if batch:
                    recorder.write(batch, None if clock is None else clock.now())
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
        recorder.close()
        result.rows = recorder.rows_written
    return result


@app.command()
def record(
    out: Annotated[Path, typer.Option("--out", help="Parquet file to write.")],
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
        Path | None, typer.Option(help="Recording to read with --feed replay.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Simulator seed (ARBCAST_MARKET__SEED).")] = None,
    log_level: str = "WARNING",
) -> None:
    """Record a feed's updates to Parquet (zstd), replayable with ARBCAST_FEED=replay."""
    if not logging.getLogger().handlers:
        setup_logging(log_level)
    if seconds is not None and batches is not None:
        _fail(ConfigError("give --seconds or --batches, not both"))
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
            return build_feed(settings, kind, fast=fast, steps=steps, replay_path=replay_path)

        result = asyncio.run(_main(make, out, batches, wall_seconds))
    except ArbcastError as exc:
        _fail(exc)
    note = " (interrupted)" if result.interrupted else ""
    typer.echo(f"{result.rows} rows in {result.batches} batches written to {out}{note}")


async def _main(
    make: Callable[[], tuple[Feed, Clock | None]],
    out: Path,
    batches: int | None,
    seconds: float | None,
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
        return await record_feed(source, out, clock=clock, batches=batches, seconds=seconds)
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGTERM)


def _fail(exc: ArbcastError) -> NoReturn:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)
