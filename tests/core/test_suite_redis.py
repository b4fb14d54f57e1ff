"""The suite's Redis: the binary ARBCAST_REDIS_BINARY names (so `make test` can run on Redis 7),
and an external server only when it is safe to flush."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis

from core.errors import RedisLaunchError
from core.store.embedded import EmbeddedRedis, find_redis_server
from tests.conftest import UnsafeRedisError, external_test_redis


def test_the_suite_runs_the_binary_arbcast_redis_binary_names(redis_server: EmbeddedRedis) -> None:
    chosen = os.environ.get("ARBCAST_REDIS_BINARY")
    if chosen:
        assert redis_server.binary == Path(chosen)
    client = redis.Redis(unix_socket_path=str(redis_server.socket_path))
    try:
        info = client.info("server")
    finally:
        client.close()
    assert Path(str(info["executable"])).resolve() == redis_server.binary.resolve()


def test_the_variable_chooses_the_binary_and_an_explicit_one_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ARBCAST_REDIS_BINARY", raising=False)
    default = find_redis_server()
    fake = tmp_path / "redis-server"
    fake.write_text("")
    monkeypatch.setenv("ARBCAST_REDIS_BINARY", str(fake))
    assert find_redis_server() == fake
    assert find_redis_server(default) == default
    monkeypatch.setenv("ARBCAST_REDIS_BINARY", str(tmp_path / "missing"))
    with pytest.raises(RedisLaunchError, match=r"ARBCAST_REDIS_BINARY=.*missing does not exist"):
        find_redis_server()


def test_no_external_server_without_a_variable() -> None:
    assert external_test_redis({}) is None


def test_a_server_given_for_tests_is_used_without_looking_at_it() -> None:
    # Nothing listens on port 1: the URL is taken as given, with no connection.
    url = "redis://127.0.0.1:1/0"
    assert external_test_redis({"ARBCAST_TEST_REDIS_URL": url, "REDIS_URL": "x"}) == url


def test_redis_url_is_used_only_while_it_holds_no_keys(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as server:
        assert external_test_redis({"REDIS_URL": server.url}) == server.url
        client = redis.Redis(unix_socket_path=str(server.socket_path))
        try:
            client.select(3)
            client.set("someone's", "data")
            with pytest.raises(UnsafeRedisError, match="holds 1 keys"):
                external_test_redis({"REDIS_URL": server.url})
            assert client.get("someone's") == b"data"  # untouched
        finally:
            client.close()
