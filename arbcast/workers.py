"""`arbcast run --webhook --workers N`: N bot processes behind one webhook port, one deployment.

This process supervises; it serves nothing itself. It starts what the workers share, then the
workers (`arbcast run --webhook`, each binding the port with SO_REUSEPORT):

- Redis: REDIS_URL, or the embedded server started here (it outlives any one worker);
- Ray (when the engine or the push pipeline is on and no `ray.address` is set): a local Ray
  started here, joined by every worker, so they share one set of named actors;
- one webhook secret (a generated one is made here, once, for all).

The workers run with `leadership.enabled` (the engine, the sweeper, the sink and the other
singletons run in the holder of a Redis lease) and `ray.detached` (the shared actors outlive
the worker that happened to create them; see docs/operations.md, "Several bot processes").
A worker that dies is started again; SIGTERM or SIGINT stops them all (each writes what it
buffered), then the actors, Ray and the embedded Redis stop here: a full stop.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from types import FrameType

from actors.factory import ensure_ray, kill_namespace
from core.settings import Settings
from core.store.embedded import EmbeddedRedis, env_or_embedded

log = logging.getLogger(__name__)

EXIT_BAD_SETTINGS = 2  # as arbcast.cli: restarting will not help


class Workers:
    def __init__(self, settings: Settings, count: int, run_args: list[str]) -> None:
        """`run_args`: the `arbcast run` options each worker gets (besides --webhook)."""
        self.settings = settings
        self.count = count
        self.run_args = run_args
        self.procs: dict[int, subprocess.Popen[bytes]] = {}  # pid -> worker
        self.stopping = False
        self.env: dict[str, str] = {}

    def _shared(self) -> tuple[EmbeddedRedis | None, bool]:
        """Start Redis and Ray for the workers; returns the embedded Redis (or None) and
        whether Ray was started here."""
        s = self.settings
        url, embedded = env_or_embedded(s.redis_url, s.redis_dir, s.redis_binary)
        env = dict(os.environ)
        env.update(
            REDIS_URL=url,
            ARBCAST_LEADERSHIP__ENABLED="true",
            ARBCAST_RAY__DETACHED="true",
            ARBCAST_TELEGRAM__WEBHOOK_SECRET=s.telegram.webhook_secret.get_secret_value(),
        )
        ray_here = s.ray.address is None and (s.engine_runtime.enabled or s.distribution.enabled)
        if ray_here:
            import ray

            ensure_ray(s.model_copy(update={"redis_url": url}))
            env["ARBCAST_RAY__ADDRESS"] = ray.get_runtime_context().gcs_address
        self.env = env
        return embedded, ray_here

    def _spawn(self) -> None:
        args = [sys.executable, "-m", "arbcast.cli", "run", "--webhook", *self.run_args]
        proc = subprocess.Popen(args, env=self.env)
        self.procs[proc.pid] = proc
        log.info("worker %d started (%d of %d)", proc.pid, len(self.procs), self.count)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        del frame
        self.stopping = True
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

    def run(self) -> int:
        """Until SIGTERM/SIGINT and every worker has exited; returns the exit status."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._stop)
        embedded, ray_here = self._shared()
        status = 0
        try:
            for _ in range(self.count):
                self._spawn()
            status = self._supervise()
        finally:
            self._stop(signal.SIGTERM, None)
            for proc in self.procs.values():
                proc.wait()
            if ray_here:
                import ray

                killed = kill_namespace(self.settings)
                log.info("full stop: killed the %d shared actors", len(killed))
                ray.shutdown()
            if embedded is not None:
                embedded.stop()
        return status

    def _supervise(self) -> int:
        backoff = self.settings.task_restart_first_seconds
        while self.procs:
            pid, raw = os.wait()  # a signal runs `_stop`, then the wait goes on (PEP 475)
            proc = self.procs.pop(pid, None)
            if proc is None:
                continue  # not a worker (Ray's or Redis's own children are theirs to reap)
            proc.returncode = os.waitstatus_to_exitcode(raw)
            if self.stopping:
                continue
            if proc.returncode == EXIT_BAD_SETTINGS:
                log.error("worker %d: bad settings; stopping the others", pid)
                self._stop(signal.SIGTERM, None)
                return EXIT_BAD_SETTINGS
            log.warning("worker %d exited (%s): starting another", pid, proc.returncode)
            time.sleep(backoff)  # a worker failing at once must not spin
            self._spawn()
        return 0
