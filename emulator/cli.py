"""Run the emulator until Ctrl-C: `python -m emulator --port 8081 --limits telegram`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from emulator.config import CALLBACK_QUERY_TIMEOUT
from emulator.server import EmulatorServer

log = logging.getLogger(__name__)


async def serve(
    port: int = 8081,
    host: str = "127.0.0.1",
    limits: str = "telegram",
    *,
    allow_insecure_webhooks: bool = False,
    callback_query_timeout: float = CALLBACK_QUERY_TIMEOUT,
) -> None:
    """Serve until cancelled."""
    server = EmulatorServer(
        limits=limits,
        host=host,
        port=port,
        allow_insecure_webhooks=allow_insecure_webhooks,
        callback_query_timeout=callback_query_timeout,
    )
    url = await server.start()
    log.info("Telegram Bot API emulator at %s (limits: %s)", url, limits)
    print(f"Telegram Bot API emulator at {url} (limits: {limits}); Ctrl-C to stop", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


def run(
    port: int = 8081,
    host: str = "127.0.0.1",
    limits: str = "telegram",
    *,
    allow_insecure_webhooks: bool = False,
    callback_query_timeout: float = CALLBACK_QUERY_TIMEOUT,
) -> None:
    """Blocking entry point for `arbcast emulator`; returns on Ctrl-C."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve(
                port,
                host,
                limits,
                allow_insecure_webhooks=allow_insecure_webhooks,
                callback_query_timeout=callback_query_timeout,
            )
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--limits", choices=["telegram", "off", "paid"], default="telegram")
    parser.add_argument(
        "--allow-insecure-webhooks",
        action="store_true",
        help="development: accept http:// webhook URLs on any port (Telegram wants HTTPS on "
        "443, 80, 88 or 8443)",
    )
    parser.add_argument(
        "--callback-timeout",
        type=float,
        default=CALLBACK_QUERY_TIMEOUT,
        metavar="SECONDS",
        help="how long after a button press answerCallbackQuery is accepted (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    run(
        args.port,
        args.host,
        args.limits,
        allow_insecure_webhooks=args.allow_insecure_webhooks,
        callback_query_timeout=args.callback_timeout,
    )
