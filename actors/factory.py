"""The one place Ray options are applied: names, namespace, CPUs, restarts, retries.

Actor classes are plain Python; `ray.remote(...)` wraps them here. Every actor is named in the
`ray.namespace` setting; a second process (or a restarted driver) finds the running ones
instead of starting duplicates. `num_cpus=0`: these actors mostly
wait on Redis and on each other, and a 2-core machine must still run its tests.

Ownership: only the process that created an actor kills it (`kill_created`, on a full stop);
a process that found the actor already running leaves it to the others that use it. With
`ray.detached` (set by `arbcast run --workers N`) the actors are the deployment's: they outlive
the worker that created them, even its crash, and `kill_namespace` ends them on a full stop.

Placement: the queue shards and push senders are spread over the live nodes, the i-th of each
kind on the i-th node, and restarted on a survivor when their node dies (`actors.placement`,
setting `ray.placement`). Ray places the other actors (on a random node: they ask for nothing).
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import os
import signal
import threading
from typing import Any

import ray

from actors import ownership, placement
from actors.distribution import DistributionClient, PushSenderClient, RateLimiterClient
from actors.engine import EngineClient
from actors.errors import ActorsError
from actors.market_data import MarketDataCoordinator
from actors.opportunity import OpportunityCoordinator
from actors.push_sender import PushSender
from actors.rate_limiter import GlobalRateLimiter
from actors.user_queue_shard import UserQueueShard
from core.market.models import ExchangeInfo
from core.settings import Settings
from core.store.client import URL_FROM_ENVIRONMENT, for_actors

log = logging.getLogger(__name__)

# Restart forever; a call in flight when an actor dies is retried (the methods are idempotent:
# coordinators dedupe opportunities by key, so a re-applied batch updates rather than duplicates).
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
_RESTARTABLE: dict[str, Any] = {"num_cpus": 0, "max_restarts": -1, "max_task_retries": 3}
_NAME_ATTEMPTS = 5


def _named(
    cls: Any,
    name: str,
    namespace: str,
    *args: Any,
    where: dict[str, Any] | None = None,
    detached: bool = False,
) -> Any:
    """The actor `name`: the running one, else a new one (placed by `where`, options from
    `actors.placement`), remembered as created here.

    Ray keeps constructor arguments in its control plane, so none may carry a secret: actors
    get `Settings.without_secrets()` and read the bot token from their own environment, and a
    Redis URL with a password is replaced by `URL_FROM_ENVIRONMENT` (read from REDIS_URL)."""
    for arg in args:
        if isinstance(arg, Settings) and arg.secrets_held():
            raise ActorsError(
                f"actor {name} would be given {', '.join(arg.secrets_held())}: pass "
                "settings.without_secrets() (actors read secrets from their environment)"
            )
    args = recordable(args)
    opts: dict[str, Any] = {"name": name, "namespace": namespace, **(where or {})}
    if detached:
        opts["lifetime"] = "detached"
    # Create, else find: Ray refuses a taken name at once (ValueError), so "created here" is
    # known for sure, with no window between a lookup and a create for another process to use.
    for _ in range(_NAME_ATTEMPTS):
        try:
            handle = cls.options(**opts).remote(*args)
        except ValueError:
            try:
                return ray.get_actor(name, namespace=namespace)
            except ValueError:
                continue  # it died between the two calls: create it after all
        if not detached:  # a detached actor is the deployment's: `kill_namespace` ends it
            ownership.remember(namespace, name, handle)
        return handle
    raise ActorsError(f"actor {name} kept appearing and vanishing: check the Ray cluster's health")


def recordable(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """`args` as Ray may record them: a Redis URL that carries a password becomes
    `URL_FROM_ENVIRONMENT` (the actor reads REDIS_URL from its own environment)."""
    return tuple(
        for_actors(a) if isinstance(a, str) and a.startswith(_REDIS_SCHEMES) else a for a in args
    )


def kill_created(settings: Settings, names: set[str] | None = None) -> list[str]:
    """Kill, for good, the actors this process created (only those in `names`, when given);
    returns their names. Actors found running, which other processes share, are left alone."""
    return ownership.kill_created(settings.ray.namespace, names)


def kill_namespace(settings: Settings) -> list[str]:
    """A full stop of a deployment: kill, for good, every named actor of its namespace (the
    detached ones included); returns their names. Only the `--workers` supervisor calls it,
    once all its workers have exited."""
    ns = settings.ray.namespace
    killed = []
    for entry in ray.util.list_named_actors(all_namespaces=True):
        if entry["namespace"] != ns:
            continue
        try:
            ray.kill(ray.get_actor(entry["name"], namespace=ns), no_restart=True)
        except ValueError:
            continue  # gone already
        killed.append(entry["name"])
    return sorted(killed)


def ensure_ray(settings: Settings) -> None:
    """Join the configured cluster, or start a local Ray, once per process.

    ray.init replaces the process's SIGTERM handler with one that exits at once, which would
    skip arbcast's shutdown (flushing events, stopping the embedded Redis); a handler installed
    before (asyncio's, by `arbcast run`) is put back."""
    if ray.is_initialized():
        return
    if settings.ray.address is None and settings.telegram_bot_token is not None:
        # The local Ray's workers inherit this process's environment: the push sender takes
        # the token from there, never from its (recorded) constructor arguments.
        os.environ["TELEGRAM_BOT_TOKEN"] = settings.telegram_bot_token.get_secret_value()
    url = settings.redis_url
    if settings.ray.address is None and url and for_actors(url) == URL_FROM_ENVIRONMENT:
        os.environ["REDIS_URL"] = url  # likewise, when it carries a password
    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if main else None
    ray.init(
        address=settings.ray.address,
        namespace=settings.ray.namespace,
        num_cpus=settings.ray.num_cpus if settings.ray.address is None else None,
        include_dashboard=False,
        logging_level=logging.WARNING,
        log_to_driver=True,
    )
    if callable(previous):
        signal.signal(signal.SIGTERM, previous)
    node_ip: str = ray.util.get_node_ip_address()  # type: ignore[no-untyped-call]
    if settings.ray.address is None and not ipaddress.ip_address(node_ip).is_loopback:
        log.warning(
            "the local Ray listens on %s, not only on loopback: ray was imported before "
            "`actors` (see actors.ray_environment); import actors first",
            node_ip,
        )


def exchange_pairs(settings: Settings) -> list[tuple[str, str]]:
    names = sorted(x.name for x in settings.market.exchanges)
    return list(itertools.combinations(names, 2))


def pair_name(pair: tuple[str, str]) -> str:
    return f"{pair[0]}-{pair[1]}"


def create_rate_limiter(settings: Settings, redis_url: str) -> RateLimiterClient:
    """The one GlobalRateLimiter of the namespace (found, not duplicated, by later callers); it
    keeps the slots it granted in `redis_url`, so a restart never grants one twice."""
    ensure_ray(settings)
    cls = ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=0)(GlobalRateLimiter)
    handle = _named(
        cls,
        "global-rate-limiter",
        settings.ray.namespace,
        settings.without_secrets(),
        redis_url,
        detached=settings.ray.detached,
    )
    return RateLimiterClient(
        handle, "global-rate-limiter", timeout=settings.ray.call_timeout_seconds
    )


def create_distribution(settings: Settings, redis_url: str) -> DistributionClient:
    """The UserQueueActor shards (`settings.shards` of them); `DistributionClient.start` loads
    them and starts their ticks. Each renders into the durable outbox of `redis_url`."""
    ensure_ray(settings)
    cls = ray.remote(**_RESTARTABLE)(UserQueueShard)
    nodes = placement.live_nodes() if settings.ray.placement == "spread" else None
    shards = [
        _named(
            cls,
            f"user-queues-{i}",
            settings.ray.namespace,
            i,
            settings.shards,
            settings.without_secrets(),
            redis_url,
            where=placement.options(settings.ray, i, nodes),
            detached=settings.ray.detached,
        )
        for i in range(settings.shards)
    ]
    return DistributionClient(shards, timeout=settings.ray.call_timeout_seconds)


def create_sender(
    settings: Settings, redis_url: str, limiter: RateLimiterClient, index: int = 0
) -> PushSenderClient:
    """The push sender: delivers the outbox, leasing from `limiter`. Not retried on restart:
    a restarted sender takes back its pending entries from the outbox itself."""
    ensure_ray(settings)
    cls = ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=0)(PushSender)
    name = f"push-sender-{index}"
    args = (index, settings.without_secrets(), redis_url, limiter)
    where = placement.options(settings.ray, index)
    handle = _named(
        cls, name, settings.ray.namespace, *args, where=where, detached=settings.ray.detached
    )
    return PushSenderClient(handle, name, timeout=settings.ray.call_timeout_seconds)


def create_engine(settings: Settings, redis_url: str) -> EngineClient:
    """The opportunity engine: one coordinator per exchange pair, and the market-data actor."""
    ensure_ray(settings)
    ns = settings.ray.namespace
    exchanges = [
        ExchangeInfo(name=x.name, taker_fee=x.taker_fee) for x in settings.market.exchanges
    ]
    coordinator_cls = ray.remote(**_RESTARTABLE)(OpportunityCoordinator)
    coordinators = {
        pair_name(pair): _named(
            coordinator_cls,
            f"opportunity-{pair_name(pair)}",
            ns,
            pair,
            exchanges,
            settings.without_secrets(),
            redis_url,
            detached=settings.ray.detached,
        )
        for pair in exchange_pairs(settings)
    }
    market_cls = ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=0)(MarketDataCoordinator)
    market = _named(
        market_cls,
        "market-data",
        ns,
        settings.without_secrets(),
        coordinators,
        detached=settings.ray.detached,
    )
    return EngineClient(market, coordinators, timeout=settings.ray.call_timeout_seconds)
