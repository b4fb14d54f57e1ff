"""`make demo`, the README's main command, end to end on the test session's Ray: every step of
the narrated script runs, and its reports are read back from the Parquet it wrote."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from analytics.duck import connect
from analytics.reports import run_report
from analytics.storage import Storage
from arbcast.demo import run_demo
from core.event_names import CATALOGUE, EventName
from tests.analytics import oracles
from tests.analytics.docs_tables import sql_statements
from tests.conftest import RAY_BOT_TOKEN

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "analytics.md").read_text()


async def test_the_demo_runs_every_step_and_reads_its_reports_back(
    ray_instance: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # the demo keeps its Redis and lake under ./var/demo
    # The session's Ray is already up, with this token in its workers' environment; a demo run
    # alone starts its own Ray with its token.
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", RAY_BOT_TOKEN)
    await run_demo(extra_users=5)
    out = capsys.readouterr().out
    for heading in ("7. 5 more users at once", "report: sessions", "report: distribution"):
        assert heading in out, f"{heading!r} missing from the demo's output:\n{out[-3000:]}"
    lake = tmp_path / "var" / "demo" / "analytics"
    assert any(lake.rglob("*.parquet")), "the demo wrote no Parquet"
    # Every name a real run wrote is in the catalogue, and it reached its own table (not
    # `other`): read back from the Parquet by DuckDB, not from the emitters.
    glob = str(lake / "**" / "*.parquet")
    rows = duckdb.sql(
        f"SELECT DISTINCT name, split_part(filename, '/', -4) AS tbl "
        f"FROM read_parquet('{glob}', filename=true, union_by_name=true)"
    ).fetchall()
    names = {n for n, _ in rows}
    assert names - set(CATALOGUE) == set(), names - set(CATALOGUE)
    assert all(tbl == n.split(".", 1)[0] for n, tbl in rows), rows
    assert {EventName.SESSION_STARTED, EventName.SENT, EventName.REJECTED} <= names

    # Every report over the real lake equals an independent count over its raw rows (read by
    # pyarrow, not the views): the shapes are those the real emitters wrote.
    events = oracles.raw_events(lake)
    as_of = max(e.ts for e in events) + 1
    con = connect(Storage.local(lake))
    at = datetime.fromtimestamp(as_of, UTC)
    got = run_report(con, "onboarding", as_of=at)
    assert [(r[0], r[1]) for r in got.rows] == oracles.onboarding(events, None, None, as_of)
    dist = {(m, k): v for m, k, v in run_report(con, "distribution").rows}
    want = oracles.distribution(events, None, None)
    assert dist.keys() == want.keys()
    for key, value in want.items():
        assert dist[key] == (None if value is None else pytest.approx(value, rel=1e-9)), key
    # What the demo must have produced for these to mean anything: alerts pushed, and
    # rejection rows standing for more users than there are rows.
    assert want[("count", "sent")] > 0, "no alert was pushed in the demo"
    rejected_rows = sum(e.name == EventName.REJECTED for e in events)
    assert want[("count", "rejected")] >= rejected_rows > 0
    eng = {tuple(r[:3]): tuple(r[3:]) for r in run_report(con, "engagement").rows}
    assert eng == oracles.engagement(events, None, None)
    pushed = sum(
        e.name == EventName.SENT and e.attrs.get("kind") == "send" and bool(e.attrs.get("items"))
        for e in events
    )
    assert sum(v[0] for v in eng.values()) >= min(pushed, 1)  # pushes count as deliveries
    assert run_report(con, "validation").rows == oracles.validation(events, None, None)
    assert run_report(con, "retention").rows == oracles.retention(events, None, None)
    outcomes = run_report(con, "push_outcomes").rows
    assert outcomes == oracles.push_outcomes(events, None, None)
    assert sum(r[3] for r in outcomes) > 0 and sum(r[2] for r in outcomes) > 0
    by_tier = run_report(con, "tiers").rows
    assert by_tier == oracles.tiers(events, None, None)
    assert sum(r[3] for r in by_tier) > 0  # the demo's pushes are spread over its tiers
    revenue = run_report(con, "revenue").rows
    assert revenue == oracles.revenue(events, None, None) and revenue  # the Stars purchase
    sessions = run_report(con, "sessions").as_dicts()
    expected = oracles.sessions(events, None, None)
    for g, x in zip(sessions, expected, strict=True):
        for k in ("median_session_s", "commands_per_session"):
            got_v, w = g.pop(k), x.pop(k)
            assert got_v == (None if w is None else pytest.approx(w, rel=1e-9))
        assert g == x
    assert len(sessions) == len(expected)

    # Every query of docs/analytics.md runs on this lake (views as `arbcast analytics shell`
    # makes them; the by-hand view over the docs' root, here the demo's).
    by_hand = duckdb.connect()
    for sql in sql_statements(DOCS, str(lake)):
        # The by-hand views go to a bare connection; the examples run on the shell's views.
        target = by_hand if sql.upper().startswith(("CREATE VIEW", "SET ")) else con
        target.execute(sql).to_arrow_table()  # read as analytics.duck.fetch does (no pytz)
    assert by_hand.execute("SELECT count(*) FROM session").fetchone() != (0,)
    by_hand.close()
    con.close()
