"""The ``groups`` report: per group and channel, what it was sent and what its readers did.

One row per chat (negative chat id) that had anything in the window:

- ``alerts_sent``: new messages carrying opportunities delivered to it (``distribution.sent``,
  kind send, items > 0, ``user_id`` the chat's id: group pushes and channel posts alike);
  ``opportunities``: the items they carried;
- ``presses``: buttons pressed on its cards (``groups.button``), of them ``private`` (the
  details sent to the presser's private chat) and ``pointer`` (pointed to /start);
- ``pressers``: distinct users who pressed;
- ``starts``: ``/start`` from its link (``groups.deeplink_start``), of them ``new_sessions``
  (``action`` started).

``chat_kind`` is the last kind any of those rows recorded (group, supergroup or channel).
"""

from __future__ import annotations

COLUMNS = (
    "chat_id",
    "chat_kind",
    "alerts_sent",
    "opportunities",
    "presses",
    "private",
    "pointer",
    "pressers",
    "starts",
    "new_sessions",
)


def groups_sql(where: str) -> str:
    """The report's SQL; `where`: a condition on ``ts`` and ``dt`` (`Window.where()`)."""
    w = where
    return f"""
    WITH sent AS (
        SELECT user_id AS chat_id, ts, chat_kind, coalesce(items, 0) AS items
        FROM distribution
        WHERE name = 'distribution.sent' AND user_id < 0 AND coalesce(kind, 'send') = 'send'
          AND coalesce(items, 0) > 0 AND {w}
    ),
    pressed AS (
        SELECT chat_id, ts, chat_kind, answer, user_id FROM groups
        WHERE name = 'groups.button' AND chat_id IS NOT NULL AND {w}
    ),
    started AS (
        SELECT chat_id, ts, chat_kind, action FROM groups
        WHERE name = 'groups.deeplink_start' AND chat_id IS NOT NULL AND {w}
    ),
    kinds AS (
        SELECT chat_id, arg_max(chat_kind, ts) AS chat_kind FROM (
            SELECT chat_id, ts, chat_kind FROM sent
            UNION ALL SELECT chat_id, ts, chat_kind FROM pressed
            UNION ALL SELECT chat_id, ts, chat_kind FROM started
        ) WHERE chat_kind IS NOT NULL GROUP BY chat_id
    ),
    s AS (SELECT chat_id, count(*) AS alerts, sum(items) AS opps FROM sent GROUP BY chat_id),
    p AS (
        SELECT chat_id, count(*) AS presses,
               count(*) FILTER (WHERE answer = 'private') AS private,
               count(*) FILTER (WHERE answer = 'pointer') AS pointer,
               count(DISTINCT user_id) AS pressers
        FROM pressed GROUP BY chat_id
    ),
    d AS (
        SELECT chat_id, count(*) AS starts,
               count(*) FILTER (WHERE action = 'started') AS new_sessions
        FROM started GROUP BY chat_id
    ),
    chats AS (
        SELECT chat_id FROM s UNION SELECT chat_id FROM p UNION SELECT chat_id FROM d
    )
    SELECT c.chat_id, k.chat_kind,
           CAST(coalesce(s.alerts, 0) AS BIGINT) AS alerts_sent,
           CAST(coalesce(s.opps, 0) AS BIGINT) AS opportunities,
           CAST(coalesce(p.presses, 0) AS BIGINT) AS presses,
           CAST(coalesce(p.private, 0) AS BIGINT) AS private,
           CAST(coalesce(p.pointer, 0) AS BIGINT) AS pointer,
           CAST(coalesce(p.pressers, 0) AS BIGINT) AS pressers,
           CAST(coalesce(d.starts, 0) AS BIGINT) AS starts,
           CAST(coalesce(d.new_sessions, 0) AS BIGINT) AS new_sessions
    FROM chats c
    LEFT JOIN kinds k USING (chat_id) LEFT JOIN s USING (chat_id)
    LEFT JOIN p USING (chat_id) LEFT JOIN d USING (chat_id)
    ORDER BY alerts_sent DESC, c.chat_id
    """
