"""Run the emulator until Ctrl-C: `python -m emulator --port 8081 --limits telegram`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from emulator.server import EmulatorServer

log = logging.getLogger(__name__)


async def serve(port: int = 8081, host: str = "127.0.0.1", limits: str = "telegram") -> None:
    """Serve until cancelled."""
    server = EmulatorServer(limits=limits, host=host, port=port)
    url = await server.start()
    log.info("Telegram Bot API emulator at %s (limits: %s)", url, limits)
    print(f"Telegram Bot API emulator at {url} (limits: {limits}); Ctrl-C to stop", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


def run(port: int = 8081, host: str = "127.0.0.1", limits: str = "telegram") -> None:
    """Blocking entry point for `arbcast emulator`; returns on Ctrl-C."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(port, host, limits))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--limits", choices=["telegram", "off", "paid"], default="telegram")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    run(args.port, args.host, args.limits)
