"""Shared plumbing of the load test and the benchmarks: processes, ports, locust runs.

Every server runs in its own process so that the bot, the emulator and the load generator each
get a core's worth of scheduling on this 2-core machine (and so that aiogram's asyncio loop and
locust's gevent never share an interpreter). `python -m benchmarks.common serve ...` is the
server entry point the harness starts:

    python -m benchmarks.common serve --mode bot  --port 8090 --api-base http://127.0.0.1:8091
    python -m benchmarks.common serve --mode noop --port 8092 --api-base http://127.0.0.1:8091

`bot` is the whole arbcast bot (`Runtime`, embedded Redis under --data-dir, engine and sink off,
pacing effectively off) serving its webhook and registered with the emulator via setWebhook;
`noop` is the baseline: the same aiogram webhook handler and a Dispatcher with one no-op handler.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
TOKEN = "123456:" + "B" * 35
SECRET = "arbcast-load-secret"
WEBHOOK_PATH = "/webhook"
LEAN_ENV = {
    "ARBCAST_ANALYTICS__RUN_SINK": "false",
    "ARBCAST_ENGINE_RUNTIME__ENABLED": "false",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until `url` answers (any HTTP status) or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} before serving")
        try:
            with urllib.request.urlopen(url, timeout=1.0):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout} s") from None
            time.sleep(0.1)


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(LEAN_ENV)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def stop(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGINT, then SIGTERM, then SIGKILL: this process's own children only."""
    if proc.poll() is not None:
        return
    for sig in (signal.SIGINT, signal.SIGTERM):
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            continue
    proc.kill()
    proc.wait(timeout=5)


@contextlib.contextmanager
def emulator(limits: str = "off") -> Iterator[str]:
    """The Bot API emulator in its own process; yields its URL."""
    port = free_port()
    cmd = [sys.executable, "-m", "emulator", "--port", str(port), "--limits", limits]
    cmd.append("--allow-insecure-webhooks")  # the bot's webhook is http://127.0.0.1:<port>
    proc = subprocess.Popen(cmd, env=child_env(), cwd=ROOT, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/emulator/config", proc=proc)
        yield url
    finally:
        stop(proc)


@contextlib.contextmanager
def webhook_server(mode: str, api_base: str, *, background: bool = False) -> Iterator[str]:
    """The bot (mode "bot") or the no-op baseline (mode "noop") in its own process; yields the
    webhook URL. The bot's Redis and files live in a temporary directory."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="arbcast-load-", dir="/tmp") as tmp:
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.common",
            "serve",
            "--mode",
            mode,
            "--port",
            str(port),
            "--api-base",
            api_base,
            "--data-dir",
            tmp,
        ]
        if background:
            cmd.append("--background")
        proc = subprocess.Popen(cmd, env=child_env(), cwd=ROOT)
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60, proc=proc)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop(proc)


# --- locust ------------------------------------------------------------------------------------


@dataclass
class LocustResult:
    exit_code: int
    rows: dict[str, dict[str, float]]  # name -> figures; "Aggregated" and "webhook" included
    csv_prefix: Path
    html: Path

    @property
    def webhook(self) -> dict[str, float]:
        return self.rows.get("webhook") or self.rows.get("Aggregated", {})


def _num(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return float("nan")


def read_stats_csv(path: Path) -> dict[str, dict[str, float]]:
    rows: dict[str, dict[str, float]] = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            name = row["Name"]
            rows[name] = {
                "requests": _num(row["Request Count"]),
                "failures": _num(row["Failure Count"]),
                "rps": _num(row["Requests/s"]),
                "p50": _num(row["50%"]),
                "p95": _num(row["95%"]),
                "p99": _num(row["99%"]),
                "mean": _num(row["Average Response Time"]),
            }
    return rows


def webhook_totals(rows: dict[str, dict[str, float]]) -> dict[str, float]:
    """The direct-to-webhook requests summed (their percentiles: the worst entry's, weighted
    means otherwise); the locustfile also writes an exact merged row named "webhook"."""
    hooks = {k: v for k, v in rows.items() if k.startswith("webhook ")}
    if not hooks:
        return {}
    n = sum(v["requests"] for v in hooks.values())
    return {
        "requests": n,
        "failures": sum(v["failures"] for v in hooks.values()),
        "rps": sum(v["rps"] for v in hooks.values()),
        "p50": sum(v["p50"] * v["requests"] for v in hooks.values()) / max(n, 1),
        "p95": max(v["p95"] for v in hooks.values()),
        "p99": max(v["p99"] for v in hooks.values()),
        "mean": sum(v["mean"] * v["requests"] for v in hooks.values()) / max(n, 1),
    }


def run_locust(
    host: str,
    *,
    out_dir: Path,
    profile: str = "steady",
    users: int = 20,
    duration: float = 20.0,
    think_ms: float = 500.0,
    user_class: str = "ArbcastUser",
    emulator_url: str = "",
    max_p99_ms: float | None = None,
    max_fail_ratio: float | None = None,
    processes: int = 1,
    extra: Sequence[str] = (),
    quiet: bool = True,
) -> LocustResult:
    """locust headless in a subprocess, bounded by `duration` (+ a hard timeout)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = out_dir / "locust"
    html = out_dir / "locust.html"
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        host,
        "--csv",
        str(prefix),
        "--html",
        str(html),
        "--only-summary",
        "--stop-timeout",
        "5",
        "--load-profile",
        profile,
        "--peak-users",
        str(users),
        "--duration",
        str(duration),
        "--think-ms",
        str(think_ms),
        "--secret",
        SECRET,
        "--loglevel",
        "WARNING",
    ]
    if emulator_url:
        cmd += ["--emulator-url", emulator_url]
    if max_p99_ms is not None:
        cmd += ["--max-p99-ms", str(max_p99_ms)]
    if max_fail_ratio is not None:
        cmd += ["--max-fail-ratio", str(max_fail_ratio)]
    if processes > 1:
        cmd += ["--processes", str(processes)]
    cmd += list(extra)
    cmd.append(user_class)
    out = subprocess.DEVNULL if quiet else None
    proc = subprocess.run(
        cmd, env=child_env(), cwd=ROOT, stdout=out, stderr=out, timeout=duration + 120
    )
    rows = read_stats_csv(Path(f"{prefix}_stats.csv"))
    merged = Path(f"{prefix}_webhook.json")
    if merged.exists():  # exact merged percentiles, written by the locustfile's quitting hook
        m = json.loads(merged.read_text())
        rows["webhook"] = {
            "requests": float(m["webhook_requests"]),
            "failures": float(m["webhook_failures"]),
            "rps": float(m["webhook_rps"]),
            "p50": float(m["webhook_p50_ms"]),
            "p95": float(m["webhook_p95_ms"]),
            "p99": float(m["webhook_p99_ms"]),
            "mean": float("nan"),
        }
    elif totals := webhook_totals(rows):
        rows["webhook"] = totals
    return LocustResult(proc.returncode, rows, prefix, html)


# --- the servers ---------------------------------------------------------------------------------


async def _serve_bot(port: int, api_base: str, data_dir: Path, background: bool) -> None:
    from arbcast.runtime import Runtime
    from core.settings import load_settings

    big = 1e9
    settings = load_settings(
        data_dir=data_dir,
        telegram_bot_token=TOKEN,
        telegram={
            "api_base": api_base,
            "webhook_port": port,
            "webhook_path": WEBHOOK_PATH,
            "webhook_secret": SECRET,
            "handle_in_background": background,
            "pace_global_per_second": big,
            "pace_private_per_second": big,
            "pace_private_burst": big,
            "pace_group_per_minute": big,
        },
    )
    async with Runtime(settings, start_engine=False, start_pushes=False) as rt:
        runner = await rt.start_webhook()
        try:
            await _until_signal()
        finally:
            await runner.cleanup()


async def _serve_noop(port: int, api_base: str, background: bool) -> None:
    from aiogram import Bot, Dispatcher, Router
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import CallbackQuery, Message
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
    from aiohttp import web

    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api_base)))
    router = Router()

    @router.message()
    async def noop_message(message: Message) -> None:
        return None

    @router.callback_query()
    async def noop_callback(query: CallbackQuery) -> None:
        return None

    dp = Dispatcher()
    dp.include_router(router)
    app = web.Application(client_max_size=1 << 20)
    SimpleRequestHandler(dp, bot, secret_token=SECRET, handle_in_background=background).register(
        app, path=WEBHOOK_PATH
    )

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_get("/healthz", health)
    setup_application(app, dp, bot=bot)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await _until_signal()
    finally:
        await runner.cleanup()
        await bot.session.close()


async def _until_signal() -> None:
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    await stopped.wait()


def _serve(argv: Sequence[str]) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.common serve")
    p.add_argument("--mode", choices=["bot", "noop"], required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--api-base", required=True)
    p.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()))
    p.add_argument("--background", action="store_true", help="handle_in_background")
    args = p.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.WARNING)
    if args.mode == "bot":
        asyncio.run(_serve_bot(args.port, args.api_base, args.data_dir, args.background))
    else:
        asyncio.run(_serve_noop(args.port, args.api_base, args.background))


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "serve":
        raise SystemExit("usage: python -m benchmarks.common serve --mode bot|noop ...")
    _serve(args[1:])


if __name__ == "__main__":
    main()


def init_ray() -> None:
    """A local Ray for a benchmark, its workers given the bot token as `arbcast run` gives them
    (the push sender reads it from its environment, never from its recorded arguments)."""
    import ray

    os.environ["TELEGRAM_BOT_TOKEN"] = TOKEN
    ray.init(
        num_cpus=2, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False
    )
