"""What Ray may record of an actor's constructor arguments: no secret (no Ray started)."""

from __future__ import annotations

from actors.factory import recordable
from core.store.client import URL_FROM_ENVIRONMENT


def test_a_redis_url_with_a_password_is_never_an_actor_argument() -> None:
    """Ray records actor constructor arguments: a URL with a password is replaced by the
    stand-in, one without is passed as it is, and nothing else changes."""
    secret = "redis://:hunter2@redis.internal:6379/0"
    plain = "unix:///tmp/arbcast/redis.sock"
    got = recordable((0, secret, plain, "redis://redis.internal:6379/0", "redis-shard"))
    assert got == (0, URL_FROM_ENVIRONMENT, plain, "redis://redis.internal:6379/0", "redis-shard")
    assert "hunter2" not in repr(got)
