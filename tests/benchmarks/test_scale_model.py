"""The scale model (benchmarks/scale_model.py, docs/scaling.md): its derivation grows with the
number of users, follows the tier table, and a tiny run prints a well-formed JSON line.

Never about speed: no figure is asserted, only the report's shape and the model's arithmetic.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from benchmarks.common import ROOT, child_env
from benchmarks.scale_model import Assumptions, Units, derive
from core.models import OpportunityType
from core.settings import Settings

SIZES = [10_000, 100_000, 1_000_000]
# Quantities that must not shrink when users grow (the rest are per-user or yes/no figures).
GROWING = [
    "pushes_per_day", "push_peak_per_s", "updates_peak_per_s", "burst_recipients",
    "burst_free_s", "burst_paid_s", "bots_for_window", "deliver_per_s", "stars_per_day",
    "stars_per_month", "subscription_stars_per_month", "shards", "fanout_s",
    "shards_for_2s_fanout", "redis_ops_per_s_2s_fanout", "redis_cores_2s_fanout", "senders",
    "bot_processes", "redis_ops_per_s", "redis_cores", "memory_gib", "cores", "nodes",
    "parquet_gib_per_day",
]  # fmt: skip
# Unit costs of the order this machine measures (docs/scaling.md), for the arithmetic tests.
UNITS = Units(
    shard_bytes_per_user=700.0, evaluate_s_per_user=1e-7, release_s_per_user=1.7e-4,
    release_fixed_s=0.05, queue_s_per_user=4e-5, queue_fixed_s=0.02,
    redis_bytes_per_user=4_000.0, sender_s_per_message=9e-4, bot_s_per_update=2e-3,
    redis_client_cmds_per_push=4.8, redis_cmds_per_push=28.8, redis_cmds_per_update=11.0,
    parquet_bytes_per_event=200.0,
)  # fmt: skip


def assert_monotone(rows: dict[str, dict[str, Any]]) -> None:
    ordered = [rows[str(n)] for n in SIZES]
    for key in GROWING:
        values = [r[key] for r in ordered]
        assert values == sorted(values), f"{key} shrinks as users grow: {values}"


def test_derive_grows_with_users() -> None:
    """Every size-dependent figure of the model is non-decreasing from 10k to 1M users."""
    tiers = Settings().tiers
    assert_monotone({str(n): derive(UNITS, Assumptions(), n, tiers) for n in SIZES})


def test_derive_follows_the_tier_table() -> None:
    """Alerts per user are the mix-weighted daily caps, and a spread's burst reaches exactly
    the tiers that get spreads at once (recomputed here from the tier table)."""
    tiers, a = Settings().tiers, Assumptions()
    row = derive(UNITS, a, 100_000, tiers)
    alerts = sum(share * tiers[t].daily_cap for t, share in a.tier_mix.items())
    instant = sum(
        share for t, share in a.tier_mix.items()
        if OpportunityType.ARBITRAGE in tiers[t].opportunity_types and tiers[t].delay_seconds == 0
    )  # fmt: skip
    assert row["alerts_per_user_day"] == alerts
    assert row["burst_recipients"] == 100_000 * instant
    assert row["burst_free_s"] == row["burst_recipients"] / 30


def test_no_stars_while_the_free_limit_suffices() -> None:
    """A burst that 30/s delivers within the window, at a daily volume under 30/s, costs no
    Stars; one past the paid rate needs more than one bot."""
    tiers = Settings().tiers
    small = derive(UNITS, Assumptions(cap_use=0.01), 1_000, tiers)
    assert small["burst_recipients"] <= 30 * 60 and small["stars_per_day"] == 0
    assert small["free_limit_binds"] == 0
    huge = derive(UNITS, Assumptions(), 1_000_000, tiers)
    assert huge["paid_limit_binds"] == 1 and huge["bots_for_window"] > 1


def test_tiny_run_prints_the_json_line() -> None:
    """`python -m benchmarks.scale_model` at tiny sizes measures every unit, runs the check,
    and ends with one JSON line: units, a measured/predicted pair per check, three sizes."""
    cmd = [sys.executable, "-m", "benchmarks.scale_model", "--unit-users", "100", "200",
           "--check-users", "300", "--messages", "50", "--push-users", "30",
           "--webhook-seconds", "1", "--events", "2000", "--repeats", "1"]  # fmt: skip
    proc = subprocess.run(
        cmd, cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, text=True, timeout=600
    )
    assert proc.returncode == 0
    line: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert line["benchmark"] == "scale_model" and line["met"] in (True, False)
    assert line["target"] == 0.5 and isinstance(line["value"], int | float)
    assert set(line["units"]) == set(Units.__dataclass_fields__)
    assert all(v >= 0 for v in line["units"].values())
    measured_directly = [
        "shard_bytes_per_user",
        "redis_bytes_per_user",
        "sender_s_per_message",
        "bot_s_per_update",
        "redis_cmds_per_update",
        "parquet_bytes_per_event",
    ]
    assert all(line["units"][k] > 0 for k in measured_directly)
    assert set(line["check"]) == {
        "fanout_high_s", "fanout_medium_s", "redis_bytes", "send_s", "shard_bytes", "evaluate_s"
    }  # fmt: skip
    for c in line["check"].values():
        assert set(c) == {"measured", "predicted", "error", "within"}
        assert c["within"] == (abs(c["error"]) <= 0.5)
    assert line["met"] == all(c["within"] for c in line["check"].values())
    assert set(line["predicted"]) == {str(n) for n in SIZES}
    assert_monotone(line["predicted"])
