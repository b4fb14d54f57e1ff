"""The analytics benchmark's lake is written in the shapes production writes, and the reports
over it agree with the independent oracles.

A row's shape is its table, its name, the columns it fills and the keys of its ``extra``. The
oracle of shapes is a lake written by the real sink (`analytics.sink.write_events`) from events
the production code emitted (`tests.benchmarks.production_events`), read back with pyarrow.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.dataset as ds
import pytest

from analytics.duck import connect
from analytics.reports import REPORTS, run_report
from analytics.schemas import TABLES
from analytics.sink import write_events
from analytics.storage import Storage
from benchmarks.analytics_lake import generate_lake
from benchmarks.lake_templates import T0, templates
from core.clock import ManualClock
from core.event_names import CATALOGUE, PLANNED
from core.events import MemoryEventLog
from core.services import Services
from tests.analytics import oracles
from tests.benchmarks.production_events import production_events

DAY = 86_400.0
DAYS = 3
SINCE = datetime.fromtimestamp(T0 + DAY + 5 * 3600, UTC)  # mid-day on purpose
UNTIL = datetime.fromtimestamp(T0 + 2.5 * DAY, UTC)
WINDOWS = [(None, None), (SINCE, UNTIL)]
Shape = tuple[str, str, frozenset[str], frozenset[str]]


def shape(table: str, row: dict[str, Any]) -> Shape:
    """(table, name, filled columns, keys of extra); validation figures are ``f_*`` whatever
    the detector named them."""
    filled = {k for k, v in row.items() if v is not None and k not in ("dt", "hour", "extra")}
    extra = json.loads(row["extra"]) if row.get("extra") else {}
    keys = {"f_*" if k.startswith("f_") else k for k in extra}
    return table, row["name"], frozenset(filled), frozenset(keys)


def lake_shapes(root: Path) -> dict[Shape, int]:
    """Every row shape under a lake root, with its number of rows."""
    out: dict[Shape, int] = {}
    for table_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        rows = ds.dataset(table_dir, format="parquet").to_table().to_pylist()
        for row in rows:
            s = shape(table_dir.name, row)
            out[s] = out.get(s, 0) + 1
    return out


@pytest.fixture
async def production_shapes(
    services: Services, events: MemoryEventLog, clock: ManualClock, tmp_path: Path
) -> set[Shape]:
    written = await production_events(services, events, clock)
    write_events(Storage.local(tmp_path / "real", fsync=False), written)
    return set(lake_shapes(tmp_path / "real"))


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bench-lake")
    generate_lake(Storage.local(root, fsync=False), 4_000, days=DAYS, users=300, seed=3)
    return root


@pytest.fixture(scope="module")
def con(lake: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    c = connect(Storage.local(lake))
    yield c
    c.close()


def test_every_template_is_a_shape_production_writes_and_every_emitted_name_has_one(
    production_shapes: set[Shape],
) -> None:
    """Each template row (an event through the production emitter, encoded by the sink's
    `to_arrow`) has the shape of a row the real code wrote for that name; the templates cover
    every name production emits and nothing it does not (no market.*: another lake)."""
    got: set[Shape] = set()
    for table, (weights, rows) in templates().items():
        assert len(weights) == rows.num_rows and all(w > 0 for w in weights)
        got |= {shape(table, r) for r in rows.to_pylist()}
    assert got - production_shapes == set()
    assert {s[1] for s in got} == set(CATALOGUE) - PLANNED
    assert {s[1] for s in production_shapes} == set(CATALOGUE) - PLANNED  # the oracle is whole


def test_generated_lake_rows_have_only_the_shapes_production_writes(
    lake: Path, production_shapes: set[Shape]
) -> None:
    """Every row of the generated lake, tiled with per-row ids, times and figures, keeps the
    filled columns and ``extra`` keys of a real row of its name; event ids are unique, the
    schema version is the table's, and a row sits in the partition of its hour."""
    shapes = lake_shapes(lake)
    assert set(shapes) - production_shapes == set()
    assert not (lake / "market").exists()  # the market lake is apart from the event sink's
    for table_dir in lake.iterdir():
        rows = ds.dataset(table_dir, format="parquet", partitioning="hive").to_table()
        ids = rows.column("event_id").to_pylist()
        assert len(set(ids)) == len(ids) and None not in ids
        versions = set(rows.column("schema_version").to_pylist())
        assert versions == {TABLES[table_dir.name].version}
        for ts, hour in zip(rows.column("ts").to_pylist(), rows.column("hour").to_pylist(),
                            strict=True):  # fmt: skip
            assert ts.hour == hour
    distribution = {s for s in shapes if s[0] == "distribution"}
    assert len({s[1] for s in distribution}) == 12  # every delivery outcome is in the lake


def test_varying_columns_differ_per_row_and_digests_list_their_items(lake: Path) -> None:
    """Ids, latencies and counts are drawn per row; a message's ``opportunity_ids`` starts
    with its ``opportunity_id`` and lists ``items`` distinct ids."""
    sent = ds.dataset(lake / "distribution", format="parquet").to_table().to_pylist()
    alerts = [r for r in sent if r["name"] == "distribution.sent" and r["items"]]
    assert len({r["user_id"] for r in alerts}) > len(alerts) // 3
    assert len({r["latency_ms"] for r in alerts}) == len(alerts)
    assert {r["items"] for r in alerts} == {1, 3}
    for r in alerts:
        ids = r["opportunity_ids"].split(",")
        assert ids[0] == r["opportunity_id"] and len(set(ids)) == r["items"]
    reminders = [r for r in sent if r["name"] == "distribution.sent" and r["items"] == 0]
    assert reminders and all(r["opportunity_ids"] is None for r in reminders)


@pytest.mark.parametrize(("since", "until"), WINDOWS)
def test_reports_over_the_generated_lake_equal_the_oracles(
    lake: Path, con: duckdb.DuckDBPyConnection, since: datetime | None, until: datetime | None
) -> None:
    """Every report runs on the lake; each one an oracle covers gives the oracle's answer over
    the lake's raw rows (read with pyarrow)."""
    events = oracles.raw_events(lake)
    got = {name: run_report(con, name, since, until, as_of=until) for name in REPORTS}
    experiments = {
        (r["experiment"], r["variant"]): (
            r["users"],
            r["exposures"],
            r["alerts"],
            r["clicks"],
            r["mutes"],
        )
        for r in got["experiments"].as_dicts()
    }
    assert experiments == oracles.experiments(events, since, until)

    sessions = got["sessions"].as_dicts()
    expected = oracles.sessions(events, since, until)
    assert [g["day"] for g in sessions] == [x["day"] for x in expected]
    for g, x in zip(sessions, expected, strict=True):
        for k in ("median_session_s", "commands_per_session"):
            assert g.pop(k) == pytest.approx(x.pop(k), rel=1e-9)
        assert g == x

    as_of = until.timestamp() if until else datetime.now(UTC).timestamp()
    funnel = [(r[0], r[1]) for r in got["onboarding"].rows]
    assert funnel == oracles.onboarding(events, since, until, as_of)

    dist = {(m, k): v for m, k, v in got["distribution"].rows}
    want = oracles.distribution(events, since, until)
    assert dist.keys() == want.keys()
    for key, value in want.items():
        assert dist[key] == (None if value is None else pytest.approx(value, rel=1e-9)), key

    engagement = {tuple(r[:3]): tuple(r[3:]) for r in got["engagement"].rows}
    assert engagement == oracles.engagement(events, since, until)
    assert got["validation"].rows == oracles.validation(events, since, until)
    assert got["retention"].rows == oracles.retention(events, since, until)
    assert got["push_outcomes"].rows == oracles.push_outcomes(events, since, until)
    assert got["tiers"].rows == oracles.tiers(events, since, until)
    # The lake exercises what the reports count, not only their empty cases.
    assert dist[("count", "sent")] and dist[("count", "edited")] and dist[("count", "other_sent")]
    assert engagement and got["validation"].rows and got["push_outcomes"].rows
    assert len(experiments) == 2 and all(v[0] for v in experiments.values())
    assert sum(v[2] + v[3] + v[4] for v in experiments.values())  # the joins found rows
