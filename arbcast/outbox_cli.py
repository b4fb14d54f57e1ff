"""`arbcast outbox`: what the push pipeline gave up on, and sending it again.

    arbcast outbox dead-letters                 # list every dead letter, newest last
    arbcast outbox dead-letters --replay        # put them all back (after fixing the cause)
    arbcast outbox dead-letters --replay-id ID  # only these (repeatable)

Three dead-letter streams: the outbox's (messages Telegram refused for good, or that failed
`delivery.max_attempts` times), and those of the opportunity changes and the delivery acks
(entries that were malformed or failed `distribution.max_entry_failures` times). A replay puts
an entry back where it came from, in one MULTI per entry.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Annotated

import typer
from redis.asyncio import Redis

from arbcast.consumers.group_reader import replay_dead_letters
from core.errors import ArbcastError
from core.settings import Settings, load_settings
from core.store import keys
from core.store.client import connect_for
from core.store.embedded import EmbeddedRedis
from messaging.outbox.store import Outbox

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)

READER_STREAMS = {"changes": keys.OPPORTUNITY_CHANGES, "acks": keys.OUTBOX_ACKS}


@dataclass(frozen=True, slots=True)
class DeadLetter:
    source: str  # outbox | changes | acks
    dead_id: str
    error: str
    summary: str


async def _list(redis: Redis, outbox: Outbox) -> list[DeadLetter]:
    out: list[DeadLetter] = []
    for dead_id, f in await outbox.dead_entries(count=10_000):
        summary = f.get("m", "")[:80]
        try:
            m = json.loads(f.get("m", ""))
            summary = f"chat {m.get('chat_id')} {m.get('kind')} {m.get('outgoing_id')}"
        except (ValueError, AttributeError):
            pass
        out.append(DeadLetter("outbox", dead_id, f.get("reason", ""), summary))
    for source, stream in READER_STREAMS.items():
        for dead_id, f in await redis.xrange(keys.stream_dead(stream), count=10_000):
            out.append(DeadLetter(source, dead_id, f.get("error", ""), f.get("fields", "")[:80]))
    return out


async def _dead_letters(settings: Settings, url: str, replay: bool, ids: list[str]) -> None:
    redis = connect_for(url, settings)
    try:
        outbox = Outbox(redis, settings.distribution.delivery)
        letters = await _list(redis, outbox)
        if not replay and not ids:
            for d in letters:
                typer.echo(f"{d.source:8} {d.dead_id:18} {d.error[:60]:60} {d.summary}")
            typer.echo(f"{len(letters)} dead letter(s)")
            return
        by_source: dict[str, list[str]] = {}
        for d in letters:
            if replay or d.dead_id in ids:
                by_source.setdefault(d.source, []).append(d.dead_id)
        done = 0
        if "outbox" in by_source:
            done += await outbox.replay_dead(by_source["outbox"])
        for source, stream in READER_STREAMS.items():
            if source in by_source:
                done += await replay_dead_letters(redis, stream, by_source[source])
        typer.echo(f"replayed {done} dead letter(s)")
    finally:
        await redis.aclose()


@app.command("dead-letters")
def dead_letters(
    replay: Annotated[bool, typer.Option(help="Put every dead letter back.")] = False,
    replay_id: Annotated[
        list[str] | None, typer.Option(help="Put back only this dead letter (repeatable).")
    ] = None,
) -> None:
    """List the dead letters of the push pipeline, or replay them."""
    try:
        settings = load_settings()
    except ArbcastError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from None
    server: EmbeddedRedis | None = None
    url = settings.redis_url
    if not url:
        # The embedded server of `arbcast run` when it is up, else one started for this command.
        server = EmbeddedRedis(settings.redis_dir, settings.redis_binary)
        url = server.url if server.socket_path.exists() else server.start()
    try:
        asyncio.run(_dead_letters(settings, url, replay, replay_id or []))
    finally:
        if server is not None:
            server.stop()
