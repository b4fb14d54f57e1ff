"""`arbcast outbox dead-letters`, run as an operator runs it: it lists the dead letters of the
outbox and of the changes and acks streams, and a replay puts each back where it came from."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

from core.distribution.settings import DeliverySettings
from core.store import keys
from messaging.outbox.message import OutboxMessage
from messaging.outbox.store import Outbox


def _outbox_cli(redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARBCAST_", "REDIS_"))}
    env["REDIS_URL"] = redis_url
    return subprocess.run(
        [sys.executable, "-m", "arbcast.cli", "outbox", "dead-letters", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_dead_letters_are_listed_and_replayed_to_where_they_came_from(
    redis: Any, redis_url: str
) -> None:
    outbox = Outbox(redis, DeliverySettings())
    await outbox.ensure_group()
    message = OutboxMessage(outgoing_id="42:1", user_id=42, chat_id=42, text="hi", created_at=1.0)
    await outbox.enqueue([message])
    (entry,) = await outbox.claim("sender-0", count=10)
    assert await outbox.dead_letter(entry, "http_400")
    await redis.xadd(
        keys.stream_dead(keys.OPPORTUNITY_CHANGES),
        {
            "fields": '{"opportunity": "{}"}',
            "error": "malformed: boom",
            "group": "g",
            "entry": "1-0",
        },
    )

    listed = await asyncio.to_thread(_outbox_cli, redis_url)
    assert listed.returncode == 0, listed.stderr
    assert "outbox" in listed.stdout and "http_400" in listed.stdout
    assert "changes" in listed.stdout and "malformed: boom" in listed.stdout
    assert "2 dead letter(s)" in listed.stdout

    replayed = await asyncio.to_thread(_outbox_cli, redis_url, "--replay")
    assert replayed.returncode == 0, replayed.stderr
    assert "replayed 2 dead letter(s)" in replayed.stdout
    assert await redis.xlen(keys.OUTBOX_DEAD) == 0
    (again,) = await outbox.claim("sender-0", count=10)
    assert again.message.outgoing_id == "42:1"
    changes = await redis.xrange(keys.OPPORTUNITY_CHANGES)
    assert [f for _, f in changes] == [{"opportunity": "{}"}]
