"""The `arbcast` command: run the bot, the Telegram emulator, or the demo.

Exit status 2: bad settings (an unknown ARBCAST_* name, malformed JSON, a value out of range);
1: Redis did not answer. Either way one line on stderr says what to change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from enum import StrEnum
from typing import Annotated, NoReturn

import redis.exceptions
import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError

from analytics.cli import app as analytics_app
from arbcast.logging import setup_logging
from arbcast.market_cli import app as market_app
from arbcast.outbox_cli import app as outbox_app
from core.errors import ArbcastError, ConfigError, StoreUnavailableError
from core.settings import load_settings

# Exit statuses, for supervisors: 2 is not worth restarting until the settings change (systemd:
# RestartPreventExitStatus=2); 1 (Redis down) may well succeed on the next try.
EXIT_BAD_SETTINGS = 2
EXIT_UNAVAILABLE = 1

log = logging.getLogger(__name__)

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
app.add_typer(market_app, name="market", help="Record market data to Parquet.")
app.add_typer(analytics_app, name="analytics", help="Analytics on Parquet with DuckDB.")
app.add_typer(outbox_app, name="outbox", help="Dead letters of the push pipeline.")


class Limits(StrEnum):
    TELEGRAM = "telegram"
    OFF = "off"
    PAID = "paid"


def _stop_on_signals() -> None:
    """SIGINT and SIGTERM cancel the main task, so buffered activity and events are written."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)


def _fail(exc: ArbcastError) -> NoReturn:
    code = EXIT_UNAVAILABLE if isinstance(exc, StoreUnavailableError) else EXIT_BAD_SETTINGS
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=code)


def _redis_down(exc: BaseException) -> StoreUnavailableError:
    detail = " ".join(str(exc).split()) or type(exc).__name__
    return StoreUnavailableError(
        f"Redis did not answer ({detail}): start it, or point REDIS_URL at a running server "
        "(unset REDIS_URL to use the embedded one)"
    )


@app.command()
def run(
    webhook: Annotated[bool, typer.Option(help="Serve a webhook instead of long polling.")] = False,
    host: Annotated[str | None, typer.Option(help="Webhook listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Webhook listen port.")] = None,
    api_base: Annotated[
        str | None,
        typer.Option(help="Bot API server, e.g. http://127.0.0.1:8081 for the emulator."),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option(help="URL Telegram should call (default: http://HOST:PORT/webhook)."),
    ] = None,
    log_level: str = "INFO",
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Bot processes behind the one webhook port (needs --webhook); they share all "
            "state through Redis, and one of them runs the engine (docs/operations.md).",
        ),
    ] = 1,
) -> None:
    """Run the bot. The token comes from TELEGRAM_BOT_TOKEN."""
    from arbcast.runtime import Runtime

    setup_logging(log_level)
    if workers > 1 and not webhook:
        _fail(
            ConfigError(
                "--workers needs --webhook: Telegram hands updates to one getUpdates poller "
                "at a time, so several processes can only share a webhook"
            )
        )
    try:
        settings = load_settings()
        tg = settings.telegram.model_copy(
            update={
                k: v
                for k, v in {
                    "webhook_host": host,
                    "webhook_port": port,
                    "api_base": api_base,
                }.items()
                if v is not None
            }
        )
        settings = settings.model_copy(update={"telegram": tg})
        settings.bot_token()
        if workers > 1:
            from arbcast.workers import Workers

            passed = {"--host": host, "--port": port, "--api-base": api_base}
            passed |= {"--public-url": public_url, "--log-level": log_level}
            run_args = [x for k, v in passed.items() if v is not None for x in (k, str(v))]
            raise typer.Exit(code=Workers(settings, workers, run_args).run())
        if webhook and tg.webhook_secret_generated:
            log.info(
                "no ARBCAST_TELEGRAM__WEBHOOK_SECRET set: using a random one for this run; set "
                "one if several processes serve this bot's webhook"
            )

        async def main() -> None:
            _stop_on_signals()
            with contextlib.suppress(asyncio.CancelledError):
                async with Runtime(settings) as rt:
                    if webhook:
                        await rt.run_webhook(public_url)
                    else:
                        await rt.run_polling()

        asyncio.run(main())
    except ArbcastError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        pass


@app.command()
def emulator(
    port: int = 8081,
    host: str = "127.0.0.1",
    limits: Annotated[
        Limits, typer.Option(help="Telegram's rate limits, none, or paid broadcast.")
    ] = Limits.TELEGRAM,
    log_level: str = "INFO",
    allow_insecure_webhooks: Annotated[
        bool, typer.Option(help="Development: accept http:// webhooks on any port.")
    ] = False,
) -> None:
    """Serve the Telegram Bot API emulator (see docs/emulator.md)."""
    from emulator.cli import run as run_emulator

    setup_logging(log_level)
    with contextlib.suppress(KeyboardInterrupt):
        run_emulator(
            port=port,
            host=host,
            limits=limits.value,
            allow_insecure_webhooks=allow_insecure_webhooks,
        )


@app.command()
def demo(
    users: Annotated[
        int, typer.Option(help="Extra simulated users beyond the scripted ones.")
    ] = 20,
    log_level: str = "WARNING",
) -> None:
    """Embedded Redis, the emulator and the bot, with simulated users, narrated."""
    from arbcast.demo import run_demo

    setup_logging(log_level)
    try:
        asyncio.run(run_demo(extra_users=users))
    except ArbcastError as exc:
        _fail(exc)


def main() -> None:
    """The entry point: every error a user can cause or fix is one line, never a traceback."""
    try:
        app()
    except ArbcastError as exc:
        _exit(exc)
    except (SettingsError, ValidationError) as exc:  # settings read outside load_settings
        _exit(ArbcastError(" ".join(str(exc).split())))
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        _exit(_redis_down(exc))


def _exit(exc: ArbcastError) -> NoReturn:
    try:
        _fail(exc)
    except typer.Exit as done:
        sys.exit(done.exit_code)


if __name__ == "__main__":
    main()
