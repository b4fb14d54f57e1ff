"""Connecting to Redis, and turning its errors into ours."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Final, TypeVar, cast
from urllib.parse import urlsplit

import redis.exceptions
from redis.asyncio import BlockingConnectionPool, Redis

from core.errors import StoreUnavailableError

if TYPE_CHECKING:
    from core.settings import Settings

T = TypeVar("T")


def answer(call: Awaitable[T] | T) -> Awaitable[T]:
    """The reply of a command of the asyncio client, typed as what it is.

    redis-py gives the hash and set commands one signature for both of its clients,
    ``Awaitable[T] | T``; on `redis.asyncio.Redis` the call always returns an awaitable. This
    says so to the type checker (`await answer(redis.hgetall(key))`) and costs nothing."""
    return cast(Awaitable[T], call)


# The pool's limits when no settings are given (`Settings.redis_*` default to these).
MAX_CONNECTIONS = 64
POOL_TIMEOUT_SECONDS = 5.0

# The longest single wait for a pub/sub message; any value below the socket timeout behaves
# the same (messages are taken as they come), it only sets how often an idle loop wakes.
PUBSUB_WAIT_SECONDS = 1.0

# Server replies that mean "not now" rather than "wrong command": a restart still loading its
# AOF, a replica, a failing disk, a failover. Anything else in a ResponseError is a bug.
_TRANSIENT_REPLIES = ("LOADING", "READONLY", "MISCONF", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN")


# What an actor is given instead of a Redis URL that carries a password: Ray records actor
# constructor arguments in its control plane, so the actor reads the URL from its own
# environment (REDIS_URL), as it reads the bot token. A local Ray's workers inherit it from
# the process that started Ray; a cluster's nodes export it (docs/cluster.md).
URL_FROM_ENVIRONMENT: Final = "env:REDIS_URL"


def for_actors(url: str) -> str:
    """The Redis URL to hand an actor: `url` itself unless it carries a password."""
    return URL_FROM_ENVIRONMENT if urlsplit(url).password else url


def resolve(url: str) -> str:
    """The Redis URL an actor was given, with `URL_FROM_ENVIRONMENT` read from REDIS_URL."""
    if url != URL_FROM_ENVIRONMENT:
        return url
    found = os.environ.get("REDIS_URL")
    if not found:
        raise StoreUnavailableError(
            "this process was told to read the Redis URL from REDIS_URL, which is not set: "
            "export REDIS_URL on every Ray node (docs/cluster.md)"
        )
    return found


def connect(
    url: str,
    *,
    max_connections: int = MAX_CONNECTIONS,
    pool_timeout: float = POOL_TIMEOUT_SECONDS,
    socket_timeout: float | None = None,
    connect_timeout: float | None = None,
) -> Redis:
    """A client whose calls wait (up to `pool_timeout`) for a free connection when all
    `max_connections` are busy. redis-py's default pool raises "Too many connections" instead,
    which under a burst of updates would fail the excess ones rather than queue them.

    `socket_timeout` bounds every reply: a paused or hung Redis then fails the call (store
    unavailable) instead of holding a webhook request forever. Blocking reads must wait less
    than it (see `blocking_wait`)."""
    pool = BlockingConnectionPool.from_url(
        resolve(url),
        decode_responses=True,
        max_connections=max_connections,
        timeout=pool_timeout,
        health_check_interval=30,
        socket_timeout=socket_timeout,
        socket_connect_timeout=connect_timeout,
    )
    return Redis.from_pool(pool)


def connect_for(url: str, settings: Settings) -> Redis:
    """`connect` with the pool limits and timeouts of `settings`."""
    return connect(
        url,
        max_connections=settings.redis_max_connections,
        pool_timeout=settings.redis_pool_timeout_seconds,
        socket_timeout=settings.redis_socket_timeout_seconds,
        connect_timeout=settings.redis_connect_timeout_seconds,
    )


def blocking_wait(client: object, wanted: float) -> float:
    """`wanted` seconds, shortened so that a blocking read (XREADGROUP BLOCK, a pub/sub wait)
    ends before the client's socket timeout would count the wait itself as an outage."""
    pool = getattr(client, "connection_pool", None)
    timeout = getattr(pool, "connection_kwargs", {}).get("socket_timeout")
    if timeout is None:
        return wanted
    return max(0.0, min(wanted, float(timeout) * 0.8))


def is_store_fault(exc: BaseException) -> bool:
    """Whether `exc` means Redis cannot serve right now (as opposed to a bug in a call).

    Only Redis's own errors count: a bare OSError or TimeoutError from elsewhere in a handler
    is a bug, and answering it 503 would have Telegram resend it for a day. (`store_errors`,
    which wraps Redis calls only, also takes OSError and TimeoutError as store faults.)"""
    if isinstance(exc, StoreUnavailableError):
        return True
    if isinstance(exc, redis.exceptions.ResponseError):
        return isinstance(exc, redis.exceptions.ReadOnlyError) or str(exc).upper().startswith(
            _TRANSIENT_REPLIES
        )
    return isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError)


def as_store_error(exc: BaseException, action: str) -> StoreUnavailableError:
    """`exc` (a store fault) as the StoreUnavailableError the rest of arbcast handles."""
    if isinstance(exc, StoreUnavailableError):
        return exc
    err = StoreUnavailableError(
        f"Redis did not answer while {action}: {type(exc).__name__}: {exc}. Check that it runs "
        "and that REDIS_URL points at it"
    )
    err.__cause__ = exc
    return err


@asynccontextmanager
async def store_errors(action: str) -> AsyncIterator[None]:
    """Raise StoreUnavailableError, naming the action, when Redis cannot be reached."""
    try:
        yield
    except StoreUnavailableError:
        raise
    except Exception as exc:
        if not (is_store_fault(exc) or isinstance(exc, OSError | TimeoutError)):
            raise
        raise as_store_error(exc, action) from exc


async def hgetall_many(redis: Redis, keys: Sequence[str], action: str) -> list[dict[str, str]]:
    """Each hash of `keys` (empty for a missing one), in one pipelined round trip; Redis errors
    become `StoreUnavailableError` naming `action`. For stores reading many users at once."""
    async with store_errors(action):
        async with redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hgetall(key)
            raws: list[dict[str, str]] = await pipe.execute()
    return raws
