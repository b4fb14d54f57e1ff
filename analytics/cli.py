"""`arbcast analytics`: query the Parquet lake with DuckDB, print reports, compact, run the sink."""

from __future__ import annotations

import asyncio
import code
import contextlib
import shutil
import signal
import sys
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from pydantic_settings import BaseSettings, SettingsConfigDict
from rich.console import Console

from analytics.settings import AnalyticsSettings
from analytics.storage import Storage

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


class Format(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


class _Env(BaseSettings):
    """Reads ARBCAST_ANALYTICS__* until the analytics settings are nested in core Settings."""

    model_config = SettingsConfigDict(
        env_prefix="ARBCAST_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )
    analytics: AnalyticsSettings = AnalyticsSettings()


def _settings(root: str | None) -> AnalyticsSettings:
    try:
        from core.settings import load_settings

        s = getattr(load_settings(), "analytics", None)
    except Exception:
        s = None
    settings = s if isinstance(s, AnalyticsSettings) else _Env().analytics
    return settings.model_copy(update={"root": root}) if root else settings


def _storage(settings: AnalyticsSettings) -> Storage:
    return Storage.from_settings(settings)


def _when(v: str | None) -> datetime | None:
    if v is None:
        return None
    d = datetime.fromisoformat(v)
    return d.replace(tzinfo=UTC) if d.tzinfo is None else d


RootOpt = Annotated[
    str | None, typer.Option(help="Lake root (default: ARBCAST_ANALYTICS__ROOT or var/analytics)")
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="table, csv or json")]


def _print(title: str, columns: list[str], rows: list[tuple[object, ...]], fmt: Format) -> None:
    from analytics.reports import to_csv, to_json, to_rich_table

    if fmt is Format.CSV:
        sys.stdout.write(to_csv(columns, rows))
    elif fmt is Format.JSON:
        sys.stdout.write(to_json(columns, rows) + "\n")
    else:
        Console().print(to_rich_table(title, columns, rows))


@app.command()
def query(sql: str, root: RootOpt = None, fmt: FormatOpt = Format.TABLE) -> None:
    """Run one SQL statement over the views (one per table: session, audit, ...)."""
    from analytics.duck import connect, fetch

    settings = _settings(root)
    con = connect(_storage(settings), settings)
    try:
        columns, rows = fetch(con, sql)
    except Exception as exc:  # duckdb errors carry a clear message
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from exc
    _print("query", columns, rows, fmt)


@app.command()
def report(
    name: Annotated[
        str,
        typer.Argument(
            help="sessions, onboarding, distribution, engagement, validation, experiments"
        ),
    ],
    since: Annotated[str | None, typer.Option(help="From (ISO date/time, UTC), inclusive")] = None,
    until: Annotated[str | None, typer.Option(help="To (ISO date/time, UTC), exclusive")] = None,
    root: RootOpt = None,
    fmt: FormatOpt = Format.TABLE,
) -> None:
    """Print a standard report."""
    from analytics.duck import connect
    from analytics.reports import REPORTS, run_report

    if name not in REPORTS:
        typer.secho(
            f"error: unknown report {name!r}; one of {', '.join(REPORTS)}",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(code=2)
    settings = _settings(root)
    con = connect(_storage(settings), settings)
    r = run_report(
        con,
        name,
        _when(since),
        _when(until),
        onboarding_window=timedelta(seconds=settings.onboarding_window_seconds),
    )
    _print(name, r.columns, r.rows, fmt)


@app.command()
def shell(
    root: RootOpt = None,
    print_sql: Annotated[
        bool, typer.Option("--print-sql", help="Only print SQL for the duckdb CLI")
    ] = False,
) -> None:
    """Open a Python shell with `con` (DuckDB, one view per table), or print the SQL that
    creates the same views in the duckdb CLI."""
    from analytics.duck import connect, fetch, shell_script

    settings = _settings(root)
    storage = _storage(settings)
    script = shell_script(storage)
    if print_sql or not sys.stdin.isatty():
        sys.stdout.write(script + "\n")
        return
    hint = (
        'duckdb -cmd "$(arbcast analytics shell --print-sql)"'
        if shutil.which("duckdb")
        else "pip install duckdb-cli, or use this Python shell"
    )
    con = connect(storage, settings)

    def sql(q: str) -> None:
        columns, rows = fetch(con, q)
        _print("", columns, rows, Format.TABLE)

    banner = (
        f"DuckDB over {storage.uri}: views {', '.join(sorted(_views(con)))}.\n"
        "con.sql('SELECT ...').show()  or  sql('SELECT ...')\n"
        f"duckdb CLI: {hint}"
    )
    code.interact(banner=banner, local={"con": con, "sql": sql})


def _views(con: object) -> list[str]:
    rows = con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()  # type: ignore[attr-defined]
    return [r[0] for r in rows]


@app.command()
def compact(
    before: Annotated[
        str | None, typer.Option(help="Compact hours ending by then (default: closed hours)")
    ] = None,
    root: RootOpt = None,
) -> None:
    """Merge the small files of closed hours into one file per partition."""
    from analytics.compaction import compact as run

    settings = _settings(root)
    r = run(_storage(settings), _when(before), settings)
    typer.echo(
        f"compacted {r.partitions} partitions: {r.files_in} files -> {r.files_out}, "
        f"{r.rows_in} rows -> {r.rows_out} ({r.duplicates_dropped} duplicates dropped, "
        f"{r.recovered} leftovers of an interrupted run removed)"
    )


@app.command()
def rollup(root: RootOpt = None) -> None:
    """Bring the dashboard's hourly rollups up to date once (the sink's job does it every
    ``rollup_interval_seconds``)."""
    from analytics.rollups import rollup_storage, update_rollups

    settings = _settings(root)
    lake = _storage(settings)
    r = update_rollups(lake, settings)
    typer.echo(
        f"rolled up {len(r.hours_written)} of {r.hours_seen} hours ({r.raw_rows} raw rows read) "
        f"-> {rollup_storage(lake).uri}"
    )


def _redis_url(explicit: str | None) -> str:
    if explicit:
        return explicit
    from core.settings import load_settings

    s = load_settings()
    if s.redis_url:
        return s.redis_url
    sock = Path(s.redis_dir) / "redis.sock"
    if sock.exists():
        return f"unix://{sock.resolve()}"
    raise typer.BadParameter("set REDIS_URL, or start the bot (its embedded Redis) first")


@app.command()
def sink(
    redis_url: Annotated[str | None, typer.Option(help="Redis (default: REDIS_URL)")] = None,
    consumer: Annotated[
        str | None, typer.Option(help="Consumer name; reuse it after a restart")
    ] = None,
    root: RootOpt = None,
) -> None:
    """Write the event stream to Parquet until Ctrl-C (then flush and exit); with
    ``run_rollups``, keep the dashboard's rollups beside it."""
    from analytics.rollups import run_rollups
    from analytics.sink import ParquetSink
    from core.store.client import connect as redis_connect

    settings = _settings(root)
    url = _redis_url(redis_url)

    async def main() -> None:
        redis = redis_connect(url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        s = ParquetSink(redis, _storage(settings), settings, consumer=consumer)
        typer.echo(f"sink {s.consumer} -> {s.storage.uri} (Ctrl-C to stop)")
        rollups = (
            asyncio.create_task(run_rollups(s.storage, settings, stop))
            if settings.run_rollups
            else None
        )
        try:
            stats = await s.run(stop)
        finally:
            stop.set()
            if rollups is not None:
                await rollups
            await redis.aclose()
        typer.echo(
            f"wrote {stats.events_written} events in {stats.files_written} files "
            f"({stats.entries_claimed} entries claimed, {stats.entries_dead} dead letters)"
        )

    asyncio.run(main())
