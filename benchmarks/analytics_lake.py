"""The analytics benchmark's lake: millions of rows in the shapes production writes.

`generate_lake` tiles the templates of `benchmarks.lake_templates` (real events through the
production `Emitter`, encoded by the sink's own `to_arrow`) with numpy and pyarrow, no Python
object per row: the columns in `VARYING` are drawn per row where the template has a value and
stay null where it has none; every other column, ``extra`` included, is the template's. Which
templates, in what proportion, is each table's mix there and `SHARE` here. ``market.*`` rows
belong to the market lake, not to this one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from analytics.schemas import TABLES, partition_path
from analytics.storage import Storage
from benchmarks.lake_templates import T0, templates

OPPORTUNITIES = 5_000  # distinct opportunity ids
# Rows per table, as a share of the lake (the rest of a table's mix is in `templates`).
SHARE = {
    "audit": 0.34,
    "distribution": 0.30,
    "session": 0.15,
    "opportunity": 0.08,
    "onboarding": 0.05,
    "engagement": 0.05,
    "preferences": 0.02,
    "experiment": 0.01,
}
# Drawn per row where the template has a value; a template's value is only a placeholder.
VARYING = (
    "event_id",
    "ts",
    "user_id",
    "session_id",
    "opportunity_id",
    "opportunity_ids",
    "latency_ms",
    "detection_latency_ms",
    "length_s",
    "commands",
    "opportunities",
    "users",
)


# --- tiling -----------------------------------------------------------------------------------


def _strings(prefix: str, values: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pc.cast(pa.array(values), pa.string()), "")


def _id_lists(first: np.ndarray, items: pa.Array) -> pa.Array:
    """Comma-separated ids of a message of ``items`` opportunities, the first ``first``."""
    n = np.asarray(items.fill_null(1).to_numpy(zero_copy_only=False), np.int64)
    out = _strings("o", first)
    for j in range(1, int(n.max(initial=1))):
        more = _strings(",o", (first + j) % OPPORTUNITIES)
        out = pc.if_else(pa.array(n > j), pc.binary_join_element_wise(out, more, ""), out)
    return out


def _varying(rng: np.random.Generator, m: int, days: int, users: int, first_id: int
             ) -> dict[str, Callable[[], pa.Array | np.ndarray]]:  # fmt: skip
    ts = np.sort(T0 + rng.random(m) * days * 86_400)
    uid = rng.integers(1, users, m)
    oid = rng.integers(0, OPPORTUNITIES, m)
    return {
        "event_id": lambda: _strings("bench:", np.arange(first_id, first_id + m)),
        "ts": lambda: ts,
        "user_id": lambda: pa.array(uid),
        "session_id": lambda: _strings("s", uid),
        "opportunity_id": lambda: _strings("o", oid),
        "opportunity_ids": lambda: oid,  # joined with the row's items in `_tile`
        "latency_ms": lambda: pa.array(rng.lognormal(3.5, 0.6, m)),
        "detection_latency_ms": lambda: pa.array(rng.lognormal(8.0, 1.0, m)),
        "length_s": lambda: pa.array(rng.exponential(3600, m)),
        "commands": lambda: pa.array(rng.integers(0, 40, m)),
        "opportunities": lambda: pa.array(rng.integers(0, 20, m)),
        "users": lambda: pa.array(rng.integers(1, 200, m)),
    }


def _tile(
    rng: np.random.Generator, table: str, weights: list[float], rows: pa.Table,
    m: int, days: int, users: int, first_id: int,
) -> tuple[np.ndarray, dict[str, pa.Array]]:  # fmt: skip
    """(ts in seconds, columns) of ``m`` rows of ``table``, each a template's."""
    p = np.asarray(weights) / sum(weights)
    pick = pa.array(rng.choice(len(weights), size=m, p=p).astype(np.int32))
    draw = _varying(rng, m, days, users, first_id)
    ts = np.asarray(draw["ts"]())
    cols: dict[str, pa.Array] = {}
    for f in TABLES[table].schema:
        tmpl = rows.column(f.name).combine_chunks()
        if f.name == "ts":
            cols[f.name] = pa.array(np.rint(ts * 1000).astype(np.int64), f.type)
        elif f.name in VARYING:
            valid = pc.is_valid(tmpl).take(pick)
            value = draw[f.name]()
            if f.name == "opportunity_ids":
                value = _id_lists(np.asarray(value), rows.column("items").take(pick))
            cols[f.name] = pc.if_else(valid, value, pa.scalar(None, f.type))
        elif pa.types.is_string(f.type):  # a dictionary keeps the tiled copies small
            cols[f.name] = pc.dictionary_encode(tmpl).take(pick)
        else:
            cols[f.name] = tmpl.take(pick)
    return ts, cols


def generate_lake(
    storage: Storage, n: int, *, days: int = 7, users: int = 200_000, seed: int = 1
) -> dict[str, int]:
    """About ``n`` events over ``days`` days, as one Parquet file per table and hour (the
    compacted layout), in the shapes production writes. Returns the rows per table."""
    rng = np.random.default_rng(seed)
    mix = templates()
    counts: dict[str, int] = {}
    next_id = 0
    for table, frac in SHARE.items():
        m = counts[table] = int(n * frac)
        if m == 0:
            continue
        weights, rows = mix[table]
        ts, cols = _tile(rng, table, weights, rows, m, days, users, next_id)
        next_id += m
        schema = TABLES[table].schema
        buckets = np.floor(ts / 3600).astype(np.int64)
        edges = np.flatnonzero(np.diff(buckets)) + 1
        starts = np.concatenate([[0], edges]).astype(np.int64)
        ends = np.concatenate([edges, [m]]).astype(np.int64)
        for s, e in zip(starts, ends, strict=True):
            arrays = [cols[f.name].slice(int(s), int(e - s)).cast(f.type) for f in schema]
            rel = f"{partition_path(table, int(buckets[s]))}/compact-bench.parquet"
            storage.write_parquet(pa.Table.from_arrays(arrays, schema=schema), rel)
    return counts
