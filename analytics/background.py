"""Where the dashboard's heavy work runs: away from the process's event loop and its GIL, at a
lower CPU priority, so that handling updates comes first on a busy machine.

- `ChildProcess`: one worker process (``python -m analytics.background``, started on first use,
  niced), for the reports a dashboard refresh computes. It is a plain subprocess talking
  length-prefixed pickles over its stdin and stdout, not a multiprocessing pool: a pool's
  spawned child re-imports the parent's ``__main__``, which a script without a main guard
  (or a frozen entry point) does not survive;
- `NicedThread`: one thread of its own, niced (Linux sets a thread's priority), for the rollup
  job beside the sink.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
_LENGTH = struct.Struct(">Q")


class WorkerDiedError(RuntimeError):
    """The worker process ended while computing; the next call starts a new one."""


def lower_priority(nice: int) -> None:
    """Add ``nice`` to the calling thread's niceness (Linux: per thread; elsewhere: process)."""
    if nice <= 0:
        return
    try:
        tid = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, current + nice))
    except (OSError, AttributeError) as exc:  # not permitted, or not this platform
        log.warning("could not lower the priority of background work: %s", exc)


def _send(out: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_LENGTH.pack(len(data)) + data)
    out.flush()


def _receive(inp: IO[bytes]) -> Any:
    head = inp.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError
    (n,) = _LENGTH.unpack(head)
    data = inp.read(n)
    if len(data) < n:
        raise EOFError
    return pickle.loads(data)  # our own child, over its own pipe


class ChildProcess:
    """One worker process; `call` runs a module-level function in it, one call at a time."""

    def __init__(self, nice: int) -> None:
        self.nice = nice
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        return subprocess.Popen(
            [sys.executable, "-m", "analytics.background", str(self.nice)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` in the child and wait for it (call it from a worker thread)."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = self._start()
            proc = self._proc
            assert proc.stdin is not None and proc.stdout is not None
            try:
                _send(proc.stdin, (fn, args))
                ok, value = _receive(proc.stdout)
            except (EOFError, BrokenPipeError, OSError) as exc:
                self._proc = None
                code = proc.wait()
                raise WorkerDiedError(
                    f"the dashboard's worker process ended (exit status {code}); "
                    "a new one starts on the next refresh"
                ) from exc
        if not ok:
            raise value
        result: T = value
        return result

    def close(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            assert proc.stdin is not None
            proc.stdin.close()  # the child's loop ends on EOF
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def serve(nice: int) -> None:
    """The child's loop: read (function, args), answer (True, result) or (False, error)."""
    lower_priority(nice)
    inp = sys.stdin.buffer
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever the work prints goes to stderr, not into the answers
    while True:
        try:
            fn, args = _receive(inp)
        except EOFError:
            return
        try:
            answer: tuple[bool, Any] = (True, fn(*args))
        except Exception as exc:
            answer = (False, exc)
        try:
            _send(out, answer)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            _send(out, (False, RuntimeError(f"{type(exc).__name__}: {exc}")))


class NicedThread:
    """A single thread of its own at a lower priority; `run` awaits a call made on it."""

    def __init__(self, name: str, nice: int) -> None:
        self._pool = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=name, initializer=lower_priority, initargs=(nice,)
        )

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._pool.shutdown(wait=False, cancel_futures=True)


if __name__ == "__main__":
    serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
