"""The experiments report: per variant, what the users assigned to it were shown and did.

Rows are (experiment, variant), assigned users counted from their first ``experiment.assigned``
in the window (the variant is fixed by hashing, so a user has one). After each user's
assignment (and before the window's end):

- users: users assigned;
- exposures: ``experiment.exposed`` rows (digests proposed under the experiment);
- alerts: opportunities delivered in new push messages (``distribution.sent``, kind send);
- clicks, ctr_pct, ctr_low, ctr_high: Details presses, per alert, with a 95% Wilson interval;
- mutes: mute-pair and mute-type presses;
- retained_7d_pct: of the users assigned at least 7 days before the end (or now), those with a
  session started, a command or a press 7 days or more after their assignment;
- diff_pp, diff_low, diff_high, p_value, test: against the control (``control``, else the
  first variant by name), the CTR difference in points with its 95% interval, and the
  two-sided p of a two-proportion z-test over alerts;
- n_needed: alerts per arm that test needs to detect the observed difference (alpha, power);
- srm_p, warning: chi-square of users per variant against the declared split (equal when not
  given); below ``srm_alpha`` the assignment is suspect.

Alerts of one user are not independent, so the z-test's interval is too narrow when a few users
receive most alerts; the test column says what was done.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import duckdb

from analytics.duck import fetch
from analytics.experiment_stats import chi_square_p, sample_size, two_proportions, wilson
from analytics.reports import Report, Window

COLUMNS = [
    "experiment", "variant", "control", "users", "exposures", "alerts", "clicks", "ctr_pct",
    "ctr_low", "ctr_high", "mutes", "retained_7d_pct", "diff_pp", "diff_low", "diff_high",
    "p_value", "test", "n_needed", "srm_p", "warning",
]  # fmt: skip
TEST = "two-proportion z (alerts as trials)"
WEEK_S = 7 * 86_400


def _sql(w: Window) -> str:
    before_end = Window(None, w.until).where()
    return f"""
    WITH a AS (
        SELECT experiment, user_id, arg_min(variant, ts) AS variant, min(ts) AS at
        FROM experiment
        WHERE name = 'experiment.assigned' AND user_id IS NOT NULL AND experiment IS NOT NULL
          AND {w.where()}
        GROUP BY experiment, user_id
    ),
    x AS (
        SELECT a.experiment, a.user_id, count(*) AS n FROM a JOIN experiment e
          ON e.user_id = a.user_id AND e.experiment = a.experiment AND e.ts >= a.at
        WHERE e.name = 'experiment.exposed' AND {before_end} GROUP BY ALL
    ),
    sent AS (
        SELECT a.experiment, a.user_id, sum(coalesce(d.items, 0)) AS n FROM a JOIN distribution d
          ON d.user_id = a.user_id AND d.ts >= a.at
        WHERE d.name = 'distribution.sent' AND d.kind = 'send' AND {before_end} GROUP BY ALL
    ),
    eng AS (
        SELECT a.experiment, a.user_id,
               count(*) FILTER (WHERE g.name = 'engagement.details') AS clicks,
               count(*) FILTER (WHERE g.name IN ('engagement.mute_pair', 'engagement.mute_type'))
                 AS mutes
        FROM a JOIN engagement g ON g.user_id = a.user_id AND g.ts >= a.at
        WHERE {before_end} GROUP BY ALL
    ),
    seen AS (
        SELECT user_id, ts FROM session
          WHERE name IN ('session.started', 'session.resumed') AND {before_end}
        UNION ALL SELECT user_id, ts FROM audit WHERE name = 'audit.command' AND {before_end}
        UNION ALL SELECT user_id, ts FROM engagement WHERE {before_end}
    ),
    back AS (
        SELECT DISTINCT a.experiment, a.user_id FROM a JOIN seen s
          ON s.user_id = a.user_id AND s.ts >= a.at + INTERVAL {WEEK_S} SECOND
    )
    SELECT a.experiment, a.variant, count(*) AS users,
           CAST(coalesce(sum(x.n), 0) AS BIGINT) AS exposures,
           CAST(coalesce(sum(sent.n), 0) AS BIGINT) AS alerts,
           CAST(coalesce(sum(eng.clicks), 0) AS BIGINT) AS clicks,
           CAST(coalesce(sum(eng.mutes), 0) AS BIGINT) AS mutes,
           count(*) FILTER (WHERE a.at + INTERVAL {WEEK_S} SECOND <= {w.as_of_sql()}
                            {
        ""
        if w.until is None
        else f"AND a.at + INTERVAL {WEEK_S} SECOND <= to_timestamp({w.until.timestamp()!r})"
    })
             AS due_7d,
           count(back.user_id) FILTER (WHERE a.at + INTERVAL {WEEK_S} SECOND <= {w.as_of_sql()}
                            {
        ""
        if w.until is None
        else f"AND a.at + INTERVAL {WEEK_S} SECOND <= to_timestamp({w.until.timestamp()!r})"
    })
             AS back_7d
    FROM a
    LEFT JOIN x USING (experiment, user_id)
    LEFT JOIN sent USING (experiment, user_id)
    LEFT JOIN eng USING (experiment, user_id)
    LEFT JOIN back USING (experiment, user_id)
    GROUP BY ALL ORDER BY a.experiment, a.variant
    """


def _r(v: float | None, digits: int = 4) -> float | None:
    return None if v is None else round(v, digits)


def experiments_report(
    con: duckdb.DuckDBPyConnection,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    as_of: datetime | None = None,
    splits: Mapping[str, Mapping[str, float]] | None = None,
    srm_alpha: float = 0.001,
    alpha: float = 0.05,
    power: float = 0.8,
) -> Report:
    """`splits`: experiment -> variant -> weight, as declared (settings); equal if absent."""
    _, rows = fetch(con, _sql(Window(since, until, as_of)))
    by_exp: dict[str, list[tuple[Any, ...]]] = {}
    for r in rows:
        by_exp.setdefault(r[0], []).append(r)
    out: list[tuple[Any, ...]] = []
    for exp, variants in by_exp.items():
        names = [v[1] for v in variants]
        control = "control" if "control" in names else min(names)
        c = next(v for v in variants if v[1] == control)
        declared = (splits or {}).get(exp, {})
        shares = [declared.get(n, 1.0) if declared else 1.0 for n in names]
        srm = chi_square_p([v[2] for v in variants], shares)
        warning = (
            f"sample ratio mismatch (p={srm:.2g}): check assignment and exposure logging"
            if srm is not None and srm < srm_alpha
            else ""
        )
        for _e, variant, users, exposures, alerts, clicks, mutes, due, back in variants:
            ci = wilson(clicks, alerts, 1 - alpha)
            ctr = clicks / alerts if alerts else None
            d = (
                None
                if variant == control
                else two_proportions(c[5], c[4], clicks, alerts, 1 - alpha)
            )
            need = (
                sample_size(c[5] / c[4], ctr, alpha, power)
                if d is not None and ctr is not None and c[4]
                else None
            )
            out.append(
                (
                    exp, variant, variant == control, users, exposures, alerts, clicks,
                    _r(None if ctr is None else 100 * ctr, 3),
                    _r(None if ci is None else 100 * ci[0], 3),
                    _r(None if ci is None else 100 * ci[1], 3),
                    mutes,
                    _r(100 * back / due, 2) if due else None,
                    _r(None if d is None else 100 * d.diff, 3),
                    _r(None if d is None else 100 * d.low, 3),
                    _r(None if d is None else 100 * d.high, 3),
                    _r(None if d is None else d.p_value, 6),
                    None if d is None else TEST,
                    need,
                    _r(srm, 6),
                    warning,
                )
            )  # fmt: skip
    return Report("experiments", COLUMNS, out)
