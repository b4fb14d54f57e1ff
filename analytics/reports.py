"""The analysts' standard reports, as SQL over the DuckDB views (see docs/analytics.md).

Every report takes an optional ``since`` (inclusive) and ``until`` (exclusive) on the event
time and returns a `Report`: column names and rows. Reports work on an empty lake (no rows, or
zero counts). Days are UTC days (the ``dt`` partition).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from analytics.active_users import active_per_day_sql
from analytics.duck import fetch
from analytics.groups_report import groups_sql
from analytics.report_format import to_csv, to_json, to_rich_table


@dataclass(frozen=True)
class Report:
    name: str
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]


@dataclass(frozen=True)
class Window:
    since: datetime | None = None
    until: datetime | None = None
    # "Now", for figures that depend on how much time has passed (a conversion window still
    # open); None: the database's current time. The bot passes its clock's.
    as_of: datetime | None = None

    def as_of_sql(self) -> str:
        if self.as_of is None:
            return "current_timestamp"
        return f"to_timestamp({self.as_of.timestamp()!r})"

    def where(self, ts: str = "ts", dt: str = "dt", *, widen_days: int = 0) -> str:
        """A SQL condition on the event time (and on ``dt``, so partitions are pruned)."""
        parts = ["true"]
        if self.since is not None:
            since = self.since - timedelta(days=widen_days)
            parts.append(f"{ts} >= to_timestamp({since.timestamp()!r})")
            parts.append(f"{dt} >= DATE '{since.astimezone(UTC).date().isoformat()}'")
        if self.until is not None:
            parts.append(f"{ts} < to_timestamp({self.until.timestamp()!r})")
            parts.append(f"{dt} <= DATE '{self.until.astimezone(UTC).date().isoformat()}'")
        return " AND ".join(parts)


def _report(con: duckdb.DuckDBPyConnection, name: str, sql: str) -> Report:
    cols, rows = fetch(con, sql)
    return Report(name, cols, rows)


def sessions(con: duckdb.DuckDBPyConnection, w: Window) -> Report:
    """Per UTC day: active users that day and over 7 days, new users, sessions started and
    ended, median session length and commands per ended session. A user is active on a day
    when they have a session or audit event that day; a new user is one whose first
    session ever started that day."""
    sql = f"""
    WITH act_raw AS (
        SELECT dt, user_id, {w.where()} AS inside FROM session
        WHERE user_id IS NOT NULL AND {w.where(widen_days=6)}
        UNION ALL
        SELECT dt, user_id, {w.where()} AS inside FROM audit
        WHERE user_id IS NOT NULL AND {w.where(widen_days=6)}
    ),
    {active_per_day_sql(windowed=w.since is not None)},
    s AS (
        SELECT dt AS day,
               count(*) FILTER (WHERE name = 'session.started') AS started,
               count(*) FILTER (WHERE name = 'session.expired') AS expired,
               count(*) FILTER (WHERE name = 'session.terminated') AS terminated,
               median(length_s) FILTER (WHERE name IN ('session.expired', 'session.terminated'))
                   AS median_session_s,
               avg(commands) FILTER (WHERE name IN ('session.expired', 'session.terminated'))
                   AS commands_per_session
        FROM session WHERE {w.where()}
        GROUP BY dt
    ),
    days AS (SELECT day FROM act WHERE dau > 0 UNION SELECT day FROM s),
    first_start AS (
        SELECT user_id, min(dt) AS day FROM session
        WHERE name = 'session.started' AND user_id IS NOT NULL GROUP BY user_id
    ),
    new_users AS (SELECT day, count(*) AS new_users FROM first_start GROUP BY day)
    SELECT d.day, coalesce(a.dau, 0) AS dau, coalesce(a.wau, 0) AS wau,
           coalesce(n.new_users, 0) AS new_users,
           coalesce(s.started, 0) AS sessions_started,
           coalesce(s.expired, 0) AS sessions_expired,
           coalesce(s.terminated, 0) AS sessions_terminated,
           s.median_session_s, s.commands_per_session
    FROM days d
    LEFT JOIN act a USING (day) LEFT JOIN new_users n USING (day)
    LEFT JOIN s USING (day)
    ORDER BY d.day
    """
    return _report(con, "sessions", sql)


# Rows written before the distribution table's schema 2 carry these in `extra` (JSON). The
# row's schema_version says where a field lives, so newer rows never parse their JSON here.
def _pre_v2(column: str, legacy: str) -> str:
    return f"CASE WHEN schema_version >= 2 THEN {column} ELSE {legacy} END"


_USERS = (
    "coalesce("
    + _pre_v2("users", "TRY_CAST(json_extract_string(extra, '$.count') AS BIGINT)")
    + ", 1)"
)
_KIND = "coalesce(" + _pre_v2("kind", "json_extract_string(extra, '$.kind')") + ", 'send')"
_DETECTION_MS = _pre_v2(
    "detection_latency_ms",
    "TRY_CAST(json_extract_string(extra, '$.detection_latency_ms') AS DOUBLE)",
)
_OPPORTUNITY_IDS = (
    "coalesce("
    + _pre_v2("opportunity_ids", "json_extract_string(extra, '$.opportunity_ids')")
    + ", opportunity_id)"
)

# How long after the welcome a user counts as still onboarding, not as having abandoned (the
# default of `AnalyticsSettings.onboarding_window_seconds`, for callers without settings).
ONBOARDING_WINDOW = timedelta(days=1)


def onboarding(
    con: duckdb.DuckDBPyConnection, w: Window, conversion_window: timedelta = ONBOARDING_WINDOW
) -> Report:
    """The onboarding funnel of the cohort that started it (welcome shown) in the window, in
    distinct users, each in exactly one outcome as known at ``w.as_of``: completed or skipped
    within the conversion window of their start (even after the window's end); in progress
    while that window is still open; abandoned once it has passed. Steps count the users shown
    each step within their conversion window."""
    as_of = w.as_of_sql()
    win = conversion_window.total_seconds()
    sql = f"""
    WITH o AS (
        SELECT user_id, ts, dt, step, action FROM onboarding
        WHERE user_id IS NOT NULL AND ts < {as_of}
    ),
    started AS (
        SELECT user_id, min(ts) AS at FROM o
        WHERE step = 'welcome' AND action = 'shown' AND {w.where()}
        GROUP BY user_id
    ),
    ends AS (
        SELECT s.user_id,
               min(o.ts) FILTER (WHERE o.action = 'completed') AS completed_at,
               min(o.ts) FILTER (WHERE o.action = 'skipped') AS skipped_at
        FROM started s JOIN o ON o.user_id = s.user_id AND o.ts >= s.at
         AND o.ts < s.at + to_seconds({win!r})
        GROUP BY s.user_id
    ),
    outcome AS (
        SELECT s.user_id,
               CASE WHEN e.completed_at IS NOT NULL
                         AND (e.skipped_at IS NULL OR e.completed_at <= e.skipped_at)
                        THEN 'completed'
                    WHEN e.skipped_at IS NOT NULL THEN 'skipped'
                    WHEN s.at + to_seconds({win!r}) > {as_of} THEN 'in_progress'
                    ELSE 'abandoned' END AS outcome
        FROM started s LEFT JOIN ends e USING (user_id)
    ),
    n AS (SELECT count(*) AS n FROM started),
    stages AS (
        SELECT 0 AS ord, 'started' AS stage, (SELECT n FROM n) AS users
        UNION ALL
        SELECT 1, 'step:' || o.step, count(DISTINCT o.user_id)
        FROM o JOIN started s ON o.user_id = s.user_id AND o.ts >= s.at
         AND o.ts < s.at + to_seconds({win!r})
        WHERE o.action = 'shown' AND o.step NOT IN ('welcome', 'done') GROUP BY o.step
        UNION ALL
        SELECT 2 + k.i, k.stage, (SELECT count(*) FROM outcome WHERE outcome = k.stage)
        FROM (VALUES (0, 'completed'), (1, 'skipped'), (2, 'in_progress'), (3, 'abandoned'))
             k(i, stage)
    )
    SELECT stage, users,
           CASE WHEN (SELECT n FROM n) > 0
                THEN round(100.0 * users / (SELECT n FROM n), 2) END AS pct_of_started
    FROM stages ORDER BY ord, users DESC, stage
    """
    return _report(con, "onboarding", sql)


def _percentiles(metric: str, column: str, source: str) -> str:
    """Rows (2, metric, p50|p95|p99, value) of ``column`` over ``source``."""
    qs = ", ".join(f"quantile_cont({column}, {q})" for q in (0.5, 0.95, 0.99))
    return f"""SELECT 2, '{metric}', q.key, q.value FROM (
            SELECT unnest(['p50', 'p95', 'p99']) AS key, unnest([{qs}]) AS value FROM {source}
        ) q"""


def distribution(con: duckdb.DuckDBPyConnection, w: Window) -> Report:
    """Delivery, as (metric, key, value):

    * ``count``: ``queued``, ``shown``, ``retried``, ``failed``, ``dropped`` (rows);
      ``sent`` new messages that carry opportunities (alerts and digests), ``edited`` sent
      messages edited when their opportunity closed, ``other_sent`` messages without
      opportunities (reminders, away summaries); ``rejected`` users refused (summed over the
      per-shard rows).
    * ``rejected_by_layer``: users refused per eligibility layer.
    * ``latency_ms``: p50/p95/p99 (linear interpolation) of the alerts sent, from detection to
      Telegram's answer (a delayed tier's delay included); ``send_latency_ms`` the same from
      the queue's release.
    * ``failed_by_reason``, ``dropped_by_reason``: rows per reason.
    """
    sql = f"""
    WITH d AS (
        SELECT name, layer, reason, latency_ms, {_USERS} AS users, {_KIND} AS kind,
               {_DETECTION_MS} AS detection_ms,
               coalesce(items, CASE WHEN opportunity_id IS NULL THEN 0 ELSE 1 END) AS items
        FROM distribution WHERE {w.where()}
    ),
    sent AS (SELECT * FROM d WHERE name = 'distribution.sent'),
    alerts AS (SELECT * FROM sent WHERE kind <> 'edit' AND items > 0)
    SELECT * FROM (
        SELECT 0 AS o, 'count' AS metric, k.key AS key,
               CAST((SELECT count(*) FROM d WHERE name = 'distribution.' || k.key) AS DOUBLE)
                   AS value
        FROM (VALUES ('queued'), ('shown'), ('retried'), ('failed'), ('dropped')) k(key)
        UNION ALL
        SELECT 0, 'count', 'sent', CAST((SELECT count(*) FROM alerts) AS DOUBLE)
        UNION ALL
        SELECT 0, 'count', 'edited',
               CAST((SELECT count(*) FROM sent WHERE kind = 'edit') AS DOUBLE)
        UNION ALL
        SELECT 0, 'count', 'other_sent',
               CAST((SELECT count(*) FROM sent WHERE kind <> 'edit' AND items = 0) AS DOUBLE)
        UNION ALL
        SELECT 0, 'count', 'rejected',
               CAST((SELECT coalesce(sum(users), 0) FROM d WHERE name = 'distribution.rejected')
                    AS DOUBLE)
        UNION ALL
        SELECT 1, 'rejected_by_layer', coalesce(CAST(layer AS VARCHAR), 'unknown'),
               CAST(sum(users) AS DOUBLE)
        FROM d WHERE name = 'distribution.rejected' GROUP BY layer
        UNION ALL
        {_percentiles("latency_ms", "detection_ms", "alerts")}
        UNION ALL
        {_percentiles("send_latency_ms", "latency_ms", "alerts")}
        UNION ALL
        SELECT 3, replace(name, 'distribution.', '') || '_by_reason',
               coalesce(reason, 'unknown'), CAST(count(*) AS DOUBLE)
        FROM d WHERE name IN ('distribution.failed', 'distribution.dropped')
        GROUP BY name, reason
    ) ORDER BY o, metric, value DESC, key
    """
    cols, rows = fetch(con, sql)
    return Report("distribution", cols[1:], [r[1:] for r in rows])


def engagement(con: duckdb.DuckDBPyConnection, w: Window) -> Report:
    """Click-through by opportunity type, tier and priority: distinct (user, opportunity)
    delivered in the window, by push (every opportunity of a new message; an edit delivers
    nothing new) or on demand, and how many of those the user pressed a button on (any
    engagement event for that opportunity, at any time). A digest's type and priority are
    those of its first, best item."""
    sql = f"""
    WITH d AS (
        SELECT user_id, ts, type, tier, priority,
               unnest(string_split({_OPPORTUNITY_IDS}, ',')) AS opportunity_id
        FROM distribution
        WHERE (name = 'distribution.shown'
               OR (name = 'distribution.sent' AND {_KIND} <> 'edit'))
          AND user_id IS NOT NULL AND {_OPPORTUNITY_IDS} IS NOT NULL AND {w.where()}
    ),
    delivered AS (
        SELECT user_id, opportunity_id, arg_min(type, ts) AS type, arg_min(tier, ts) AS tier,
               arg_min(priority, ts) AS priority
        FROM d WHERE opportunity_id <> ''
        GROUP BY user_id, opportunity_id
    ),
    clicked AS (
        SELECT DISTINCT user_id, opportunity_id FROM engagement
        WHERE user_id IS NOT NULL AND opportunity_id IS NOT NULL
    )
    SELECT d.type, d.tier, d.priority, count(*) AS delivered,
           count(c.user_id) AS clicked,
           round(100.0 * count(c.user_id) / count(*), 2) AS ctr_pct
    FROM delivered d LEFT JOIN clicked c USING (user_id, opportunity_id)
    GROUP BY ALL ORDER BY delivered DESC, d.type, d.tier, d.priority
    """
    return _report(con, "engagement", sql)


def validation(con: duckdb.DuckDBPyConnection, w: Window) -> Report:
    """Validation decisions per level: how many, how many passed, the pass rate of the
    decisions, the distinct opportunities that reached the level, and those that passed it as
    a share of the candidates (distinct opportunities decided at the first level): the last
    level's share is the part of the candidates that was published."""
    sql = f"""
    WITH v AS (
        SELECT level, opportunity_id, passed FROM opportunity
        WHERE name = 'opportunity.validation' AND {w.where()}
    ),
    candidates AS (
        SELECT count(DISTINCT opportunity_id) AS n FROM v WHERE level = (SELECT min(level) FROM v)
    )
    SELECT level, count(*) AS decisions, count(*) FILTER (WHERE passed) AS passed,
           round(100.0 * count(*) FILTER (WHERE passed) / count(*), 2) AS pass_rate_pct,
           count(DISTINCT opportunity_id) AS opportunities,
           CASE WHEN (SELECT n FROM candidates) > 0
                THEN round(100.0 * count(DISTINCT opportunity_id) FILTER (WHERE passed)
                           / (SELECT n FROM candidates), 2) END AS passed_pct_of_candidates
    FROM v GROUP BY level ORDER BY level
    """
    return _report(con, "validation", sql)


def retention(con: duckdb.DuckDBPyConnection, w: Window) -> Report:
    """Weekly retention cohorts: users by the UTC week (Monday) of their first session ever,
    for cohorts starting in the window; for each week since, how many were active (a session
    or audit event) and their share of the cohort. Week 0 is the cohort's own week."""
    sql = f"""
    WITH first AS (
        SELECT user_id, min(ts) AS first_ts FROM session
        WHERE name = 'session.started' AND user_id IS NOT NULL GROUP BY user_id
    ),
    cohorts AS (
        SELECT user_id, CAST(date_trunc('week', first_ts) AS DATE) AS cohort FROM first
        WHERE {w.where(ts="first_ts", dt="CAST(first_ts AS DATE)")}
    ),
    size AS (SELECT cohort, count(*) AS users FROM cohorts GROUP BY cohort),
    act AS (
        SELECT DISTINCT user_id, CAST(date_trunc('week', ts) AS DATE) AS week FROM (
            SELECT user_id, ts FROM session WHERE user_id IS NOT NULL
            UNION ALL SELECT user_id, ts FROM audit WHERE user_id IS NOT NULL
        )
    ),
    weeks AS (
        SELECT c.cohort, CAST((a.week - c.cohort) // 7 AS BIGINT) AS week,
               count(DISTINCT a.user_id) AS active
        FROM cohorts c JOIN act a ON a.user_id = c.user_id AND a.week >= c.cohort
        GROUP BY ALL
    )
    SELECT w.cohort, s.users, w.week, w.active,
           round(100.0 * w.active / s.users, 2) AS retained_pct
    FROM weeks w JOIN size s USING (cohort) ORDER BY cohort, week
    """
    return _report(con, "retention", sql)


def push_outcomes(con: duckdb.DuckDBPyConnection, w: Window) -> Report:
    """What became of each opportunity offered in the window, in distinct users: refused by
    the eligibility layers (summed over the per-shard rows), queued, sent (a new message that
    carried it), and of those users how many opened Details, muted its pair or type, or voted
    (at any time). Most sent first."""
    sql = f"""
    WITH d AS (SELECT * FROM distribution WHERE {w.where()}),
    refused AS (
        SELECT opportunity_id, sum({_USERS}) AS refused FROM d
        WHERE name = 'distribution.rejected' GROUP BY opportunity_id
    ),
    queued AS (
        SELECT opportunity_id, count(DISTINCT user_id) AS queued FROM d
        WHERE name = 'distribution.queued' AND user_id IS NOT NULL GROUP BY opportunity_id
    ),
    sent_to AS (
        SELECT DISTINCT user_id, unnest(string_split({_OPPORTUNITY_IDS}, ',')) AS opportunity_id
        FROM d WHERE name = 'distribution.sent' AND {_KIND} <> 'edit' AND user_id IS NOT NULL
          AND {_OPPORTUNITY_IDS} IS NOT NULL
    ),
    acted AS (
        SELECT s.opportunity_id,
               count(DISTINCT s.user_id) AS sent,
               count(DISTINCT e.user_id) FILTER (WHERE e.name = 'engagement.details') AS details,
               count(DISTINCT e.user_id) FILTER (WHERE e.name IN ('engagement.mute_pair',
                                                                  'engagement.mute_type'))
                   AS muted,
               count(DISTINCT e.user_id) FILTER (WHERE e.name = 'engagement.feedback') AS voted
        FROM sent_to s LEFT JOIN engagement e
          ON e.user_id = s.user_id AND e.opportunity_id = s.opportunity_id
        GROUP BY s.opportunity_id
    ),
    ids AS (
        SELECT opportunity_id FROM refused UNION SELECT opportunity_id FROM queued
        UNION SELECT opportunity_id FROM acted
    )
    SELECT i.opportunity_id, coalesce(r.refused, 0) AS refused, coalesce(q.queued, 0) AS queued,
           coalesce(a.sent, 0) AS sent, coalesce(a.details, 0) AS details,
           coalesce(a.muted, 0) AS muted, coalesce(a.voted, 0) AS voted
    FROM ids i LEFT JOIN refused r USING (opportunity_id) LEFT JOIN queued q USING (opportunity_id)
    LEFT JOIN acted a USING (opportunity_id)
    WHERE i.opportunity_id IS NOT NULL AND i.opportunity_id <> ''
    ORDER BY sent DESC, queued DESC, refused DESC, i.opportunity_id
    """
    return _report(con, "push_outcomes", sql)


def tiers(con: duckdb.DuckDBPyConnection, w: Window) -> Report:
    """Per subscription tier: active users (a session or audit event in the window), sessions
    started, alerts sent (new messages carrying opportunities), distinct (user, opportunity)
    delivered by push or on demand and how many of those the user pressed a button on
    (click-through), and commands or button presses refused (audit rows not allowed: no
    session, not in the plan, ...). Everything a user did counts under their tier as last
    recorded on a distribution row before the window's end ('unknown': never recorded)."""
    before_end = Window(None, w.until).where()
    sql = f"""
    WITH tier_of AS (
        SELECT user_id, arg_max(tier, ts) AS tier FROM distribution
        WHERE tier IS NOT NULL AND user_id IS NOT NULL AND {before_end}
        GROUP BY user_id
    ),
    active AS (
        SELECT DISTINCT user_id FROM (
            SELECT user_id FROM session WHERE user_id IS NOT NULL AND {w.where()}
            UNION ALL SELECT user_id FROM audit WHERE user_id IS NOT NULL AND {w.where()}
        )
    ),
    started AS (
        SELECT user_id, count(*) AS n FROM session
        WHERE name = 'session.started' AND user_id IS NOT NULL AND {w.where()} GROUP BY user_id
    ),
    alerts AS (
        SELECT user_id, count(*) AS n FROM distribution
        WHERE name = 'distribution.sent' AND {_KIND} <> 'edit' AND user_id IS NOT NULL
          AND coalesce(items, CASE WHEN opportunity_id IS NULL THEN 0 ELSE 1 END) > 0
          AND {w.where()}
        GROUP BY user_id
    ),
    delivered AS (
        SELECT DISTINCT user_id,
               unnest(string_split({_OPPORTUNITY_IDS}, ',')) AS opportunity_id
        FROM distribution
        WHERE (name = 'distribution.shown'
               OR (name = 'distribution.sent' AND {_KIND} <> 'edit'))
          AND user_id IS NOT NULL AND {_OPPORTUNITY_IDS} IS NOT NULL AND {w.where()}
    ),
    clicked AS (
        SELECT DISTINCT user_id, opportunity_id FROM engagement
        WHERE user_id IS NOT NULL AND opportunity_id IS NOT NULL
    ),
    reach AS (
        SELECT d.user_id, count(*) AS delivered, count(c.user_id) AS clicked
        FROM delivered d LEFT JOIN clicked c USING (user_id, opportunity_id)
        WHERE d.opportunity_id <> '' GROUP BY d.user_id
    ),
    refused AS (
        SELECT user_id, count(*) AS n FROM audit
        WHERE allowed = false AND user_id IS NOT NULL AND {w.where()} GROUP BY user_id
    ),
    users AS (
        SELECT user_id FROM active UNION SELECT user_id FROM started
        UNION SELECT user_id FROM alerts UNION SELECT user_id FROM reach
        UNION SELECT user_id FROM refused
    )
    SELECT coalesce(t.tier, 'unknown') AS tier,
           count(a.user_id) AS active_users,
           CAST(coalesce(sum(s.n), 0) AS BIGINT) AS sessions_started,
           CAST(coalesce(sum(al.n), 0) AS BIGINT) AS alerts_sent,
           CAST(coalesce(sum(r.delivered), 0) AS BIGINT) AS delivered,
           CAST(coalesce(sum(r.clicked), 0) AS BIGINT) AS clicked,
           CASE WHEN sum(r.delivered) > 0
                THEN round(100.0 * sum(r.clicked) / sum(r.delivered), 2) END AS ctr_pct,
           CAST(coalesce(sum(f.n), 0) AS BIGINT) AS refused
    FROM users u
    LEFT JOIN tier_of t USING (user_id) LEFT JOIN active a USING (user_id)
    LEFT JOIN started s USING (user_id) LEFT JOIN alerts al USING (user_id)
    LEFT JOIN reach r USING (user_id) LEFT JOIN refused f USING (user_id)
    GROUP BY 1 ORDER BY 1
    """
    return _report(con, "tiers", sql)


def experiments(con: duckdb.DuckDBPyConnection, w: Window) -> Report:
    """Per experiment and variant: exposures, CTR with its interval, mutes, 7-day retention,
    the difference from the control with the test used, the sample size it needs, and a
    sample-ratio-mismatch warning (`analytics.experiments_report`)."""
    # Imported here: that module builds on this one's Report and Window.
    from analytics.experiments_report import experiments_report

    return experiments_report(con, w.since, w.until, as_of=w.as_of)


__all__ = ["REPORTS", "Report", "Window", "run_report", "to_csv", "to_json", "to_rich_table"]


def revenue(con: duckdb.DuckDBPyConnection, w: Window) -> Report:
    """Per tier, Telegram Stars paid in the window: successful payments (each charge once;
    renewals among them), distinct payers, gross Stars, Stars refunded (refunds made in the
    window; a repeated refund that changed nothing does not count) and net."""
    sql = f"""
    WITH paid AS (
        SELECT tier, user_id, amount, coalesce(recurring, false) AS recurring
        FROM payment WHERE name = 'payment.succeeded' AND tier IS NOT NULL AND {w.where()}
    ),
    refunded AS (
        SELECT tier, sum(amount) AS stars FROM payment
        WHERE name = 'payment.refunded' AND tier IS NOT NULL
          AND coalesce(outcome, '') <> 'nothing' AND {w.where()}
        GROUP BY tier
    ),
    gross AS (
        SELECT tier, count(*) AS payments, count(*) FILTER (WHERE recurring) AS renewals,
               count(DISTINCT user_id) AS payers, sum(amount) AS stars
        FROM paid GROUP BY tier
    )
    SELECT tier,
           CAST(coalesce(g.payments, 0) AS BIGINT) AS payments,
           CAST(coalesce(g.renewals, 0) AS BIGINT) AS renewals,
           CAST(coalesce(g.payers, 0) AS BIGINT) AS payers,
           CAST(coalesce(g.stars, 0) AS BIGINT) AS gross_stars,
           CAST(coalesce(r.stars, 0) AS BIGINT) AS refunded_stars,
           CAST(coalesce(g.stars, 0) - coalesce(r.stars, 0) AS BIGINT) AS net_stars
    FROM gross g FULL OUTER JOIN refunded r USING (tier)
    ORDER BY tier
    """
    return _report(con, "revenue", sql)


def groups(con: duckdb.DuckDBPyConnection, w: Window) -> Report:
    """Per group and channel: alerts delivered, button presses, /start from its links
    (`analytics.groups_report`)."""
    return _report(con, "groups", groups_sql(w.where()))


REPORTS: dict[str, Callable[..., Report]] = {
    "sessions": sessions,
    "onboarding": onboarding,
    "distribution": distribution,
    "engagement": engagement,
    "validation": validation,
    "retention": retention,
    "push_outcomes": push_outcomes,
    "tiers": tiers,
    "revenue": revenue,
    "groups": groups,
    "experiments": experiments,
}


def run_report(
    con: duckdb.DuckDBPyConnection,
    name: str,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    as_of: datetime | None = None,
    onboarding_window: timedelta = ONBOARDING_WINDOW,
) -> Report:
    """`onboarding_window`: `AnalyticsSettings.onboarding_window_seconds` where settings exist."""
    if name not in REPORTS:
        raise KeyError(f"unknown report {name!r}; one of {', '.join(REPORTS)}")
    w = Window(since, until, as_of)
    if name == "onboarding":
        return onboarding(con, w, onboarding_window)
    return REPORTS[name](con, w)
