"""The embedded redis-server: starts on a unix socket with AOF, keeps data across a restart."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from core.errors import RedisLaunchError
from core.store.embedded import EmbeddedRedis, env_or_embedded


def test_starts_with_aof_and_keeps_data_across_a_restart(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "r")
    server.start()
    try:
        client = redis.Redis(unix_socket_path=str(server.socket_path))
        assert client.config_get("appendonly")["appendonly"] == "yes"
        client.set("k", "v")
        client.close()
        server.restart()
        client = redis.Redis(unix_socket_path=str(server.socket_path))
        assert client.get("k") == b"v"
        client.close()
    finally:
        server.stop()
    assert server.pid is None
    assert any((tmp_path / "r").glob("appendonly*"))


def test_a_second_server_on_the_same_directory_is_refused(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as first:
        assert first.pid is not None
        with pytest.raises(RedisLaunchError, match="already serves"):
            EmbeddedRedis(tmp_path).start()


def test_a_stale_socket_file_is_cleared(tmp_path: Path) -> None:
    (tmp_path / "redis.sock").write_text("")
    with EmbeddedRedis(tmp_path) as server:
        assert redis.Redis(unix_socket_path=str(server.socket_path)).ping()


def test_redis_url_wins_over_embedding(tmp_path: Path) -> None:
    url, server = env_or_embedded("redis://elsewhere:6379/0", tmp_path, None)
    assert url == "redis://elsewhere:6379/0"
    assert server is None


def test_a_missing_explicit_binary_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RedisLaunchError, match="does not exist"):
        EmbeddedRedis(tmp_path, binary=tmp_path / "nope")
