"""The opportunity engine: market updates processed per coordinator, and the latency from a book
update to its opportunity being published in Redis.

    python -m benchmarks.opportunity [--steps 300] [--symbols 20] [--calibration-steps 8000]
                                     [--calibration-only]

The engine runs for real: the market-data actor steps the simulated market (4 exchanges) and fans
each batch out to the 6 pair coordinators on Ray, which validate, score and publish to Redis.
Baseline: the same batches through the same `PairCoordinatorLogic` in this process, with no Ray
and no Redis, i.e. the logic's own ceiling; the ratio shows what hosting costs.

Calibration of the confidence (`core.opportunity.calibration`): the plain logic runs
`--calibration-steps` seconds of simulated market; each pair coordinator's qualified episodes
(their features and whether they lasted `min_execution_seconds`) are then replayed as the engine
retrains (`forecast_ahead`): fit on the latest `train_window` every `retrain_every` episodes,
forecast the next ones, which no fit has seen. Reported over all those forecasts: the Brier
score of the confidence as shown (calibrated, clamped), of the same model uncalibrated and of
the window's base rate (the baseline to beat), and the reliability table with its ECE. Met:
Brier below the base rate's, and ECE ≤ `MAX_ECE`. (Confidences given by the Level 2 prior
before a coordinator's first model are not in the measure.)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import ray

from actors.factory import create_engine, exchange_pairs
from benchmarks.report import emit, percentile, table
from core.market.models import ExchangeInfo
from core.market.simulator import DEFAULT_SYMBOLS, MarketSimSettings, SimulatedMarket
from core.opportunity.calibration import (
    brier,
    clamp_probability,
    expected_calibration_error,
    reliability,
)
from core.opportunity.coordinator import PairCoordinatorLogic
from core.opportunity.scoring import Array, LogisticModel, fit_calibrated
from core.opportunity.settings import ScoringSettings
from core.settings import Settings
from core.store.client import connect
from core.store.embedded import EmbeddedRedis

START = 1_767_225_600.0
MAX_ECE = 0.05
MIN_FORECASTS = 200  # fewer, and the bins hold too few episodes to say anything


@dataclass(slots=True)
class Forecasts:
    """Out-of-sample probabilities and the outcomes they forecast."""

    calibrated: list[float] = field(default_factory=list)
    uncalibrated: list[float] = field(default_factory=list)
    base_rate: list[float] = field(default_factory=list)
    outcome: list[float] = field(default_factory=list)


def forecast_ahead(x: Array, y: Array, sc: ScoringSettings, out: Forecasts) -> None:
    """Replay one coordinator's history as the engine retrains: at every `retrain_every`
    samples (once `min_train_samples` exist with both outcomes) fit on the latest
    `train_window`, then forecast the next `retrain_every` episodes, which no fit has seen."""
    step = sc.retrain_every
    for end in range(sc.min_train_samples, len(y), step):
        window = slice(max(0, end - sc.train_window), end)
        wy = y[window]
        if min(wy.sum(), len(wy) - wy.sum()) < sc.min_class_samples:
            continue
        model, calibrator = fit_calibrated(x[window], wy, sc)
        raw = model.predict(x[end : end + step])
        shown = raw if calibrator is None else calibrator.apply(raw)
        plain = LogisticModel.fit(x[window], wy, l2=sc.l2, max_iter=sc.max_iter)
        out.calibrated += [
            clamp_probability(float(p), sc.confidence_floor, sc.confidence_ceiling) for p in shown
        ]
        out.uncalibrated += [float(p) for p in plain.predict(x[end : end + step])]
        out.base_rate += [float(wy.mean())] * len(raw)
        out.outcome += [float(v) for v in y[end : end + step]]


def calibration(settings: Settings, steps: int) -> None:
    """Print the calibration table and its JSON lines (see the module docstring)."""
    market = SimulatedMarket(settings.market)
    infos = {x.name: ExchangeInfo(x.name, x.taker_fee) for x in settings.market.exchanges}
    logics = [PairCoordinatorLogic(p, infos, settings.engine) for p in exchange_pairs(settings)]
    for i in range(steps):
        batch = market.step(START + i)
        for logic in logics:
            logic.on_updates([u for u in batch if u.exchange in logic.pair], START + i)
    sc = settings.engine.scoring
    f = Forecasts()
    episodes = 0
    for logic in logics:
        samples = logic.history.samples()
        episodes += len(samples)
        x = np.asarray([smp.features for smp in samples], dtype=np.float64)
        y = np.asarray([1.0 if smp.success else 0.0 for smp in samples], dtype=np.float64)
        forecast_ahead(x, y, sc, f)
    if len(f.outcome) < MIN_FORECASTS:
        raise SystemExit(
            f"calibration: only {len(f.outcome)} forecasts from {steps} s of simulated market "
            f"(at least {MIN_FORECASTS} needed): raise --calibration-steps (default 8000)"
        )
    test = np.asarray(f.outcome)
    shown = np.asarray(f.calibrated)
    b_cal = brier(shown, test)
    b_raw = brier(np.asarray(f.uncalibrated), test)
    b_base = brier(np.asarray(f.base_rate), test)
    bins = reliability(shown, test)
    ece = expected_calibration_error(bins)
    ece_raw = expected_calibration_error(reliability(np.asarray(f.uncalibrated), test))
    table(
        f"Confidence calibration: {len(test)} forecasts of {episodes} qualified episodes "
        f"({steps} s of simulated market, {len(logics)} coordinators; success = lasted "
        f"{settings.engine.validation.min_execution_seconds:g} s)",
        ["bin", "count", "mean predicted", "observed"],
        [
            (
                f"{b.lower:.1f}–{b.upper:.1f}",
                b.count,
                f"{b.mean_predicted:.3f}",
                f"{b.observed:.3f}",
            )
            for b in bins
        ],
    )
    table(
        "Brier score of the forecasts (lower is better)",
        ["predictor", "Brier"],
        [
            ("calibrated model, clamped (shown to traders)", f"{b_cal:.4f}"),
            ("same window, model uncalibrated", f"{b_raw:.4f}"),
            ("base rate of the window (baseline)", f"{b_base:.4f}"),
            ("ECE of the shown confidence", f"{ece:.4f}"),
            ("ECE of the uncalibrated model", f"{ece_raw:.4f}"),
        ],
    )
    emit(
        "opportunity",
        "confidence_brier",
        b_cal,
        "brier",
        baseline=b_base,
        target=b_base,
        higher_is_better=False,
    )
    emit(
        "opportunity",
        "confidence_ece",
        ece,
        "probability",
        baseline=None,
        target=MAX_ECE,
        higher_is_better=False,
    )


def baseline(settings: Settings, steps: int) -> tuple[float, int]:
    """Updates per second per coordinator for the plain logic, and updates routed in total."""
    market = SimulatedMarket(settings.market)
    infos = {x.name: ExchangeInfo(x.name, x.taker_fee) for x in settings.market.exchanges}
    logics = [PairCoordinatorLogic(p, infos, settings.engine) for p in exchange_pairs(settings)]
    batches = [market.step(START + i) for i in range(steps)]
    routed = 0
    busy = 0.0
    for i, batch in enumerate(batches):
        for logic in logics:
            mine = [u for u in batch if u.exchange in logic.pair]
            t = time.perf_counter()
            logic.on_updates(mine, START + i)
            busy += time.perf_counter() - t
            routed += len(mine)
    return routed / busy, routed


async def engine_run(settings: Settings, url: str, steps: int) -> tuple[float, list[float], int]:
    engine = create_engine(settings, url)
    try:
        await engine.run_steps(START - 20, 20)  # warm-up: actors up, caches filled
        t = time.perf_counter()
        results = await engine.run_steps(START, steps)
        wall = time.perf_counter() - t
        opened = sum(r.opened for r in results)
        updates = sum(r.updates for r in results)
        # Each update goes to the n-1 pairs of its exchange, of n(n-1)/2: 2/n of them each.
        per_coordinator = updates * 2 / len(settings.market.exchanges) / wall
        return per_coordinator, [r.latency_s * 1000 for r in results], opened
    finally:
        engine.kill()


async def main(steps: int, symbols: int, calibration_steps: int, calibration_only: bool) -> None:
    market = MarketSimSettings(symbols=DEFAULT_SYMBOLS[:symbols])
    if calibration_only:
        with tempfile.TemporaryDirectory(prefix="arbcast-bench-") as tmp:
            calibration(Settings(data_dir=Path(tmp), market=market), calibration_steps)
        return
    with (
        tempfile.TemporaryDirectory(prefix="arbcast-bench-") as tmp,
        EmbeddedRedis(Path(tmp)) as server,
    ):
        settings = Settings(data_dir=Path(tmp), market=market)
        await connect(server.url).flushall()
        base_rate, _ = baseline(settings, steps)
        ray.init(
            num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False
        )
        try:
            rate, latencies, opened = await engine_run(settings, server.url, steps)
        finally:
            ray.shutdown()
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    table(
        f"Opportunity engine: {len(market.exchanges)} exchanges, {symbols} symbols, "
        f"{steps} batches",
        ["figure", "value"],
        [
            ("updates/s per coordinator, on Ray + Redis", rate),
            ("updates/s per coordinator, plain logic (baseline)", base_rate),
            ("book update → published, p50 ms", p50),
            ("book update → published, p99 ms", p99),
            ("opportunities opened", float(opened)),
        ],
    )
    emit(
        "opportunity",
        "latency_p50_ms",
        p50,
        "ms",
        baseline=None,
        target=None,
        higher_is_better=False,
    )
    emit(
        "opportunity",
        "latency_p99_ms",
        p99,
        "ms",
        baseline=None,
        target=None,
        higher_is_better=False,
    )
    emit(
        "opportunity",
        "updates_per_s_per_coordinator",
        rate,
        "updates/s",
        baseline=base_rate,
        target=None,
        higher_is_better=True,
    )
    calibration(settings, calibration_steps)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--calibration-steps", type=int, default=8_000)
    parser.add_argument(
        "--calibration-only", action="store_true", help="only the calibration (no Ray, no Redis)"
    )
    args = parser.parse_args()
    asyncio.run(main(args.steps, args.symbols, args.calibration_steps, args.calibration_only))
