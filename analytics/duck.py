"""DuckDB over the Parquet files: one view per table, named as the table.

Each view reads ``<root>/<table>/**/*.parquet`` with ``hive_partitioning`` (adding ``dt`` DATE
and ``hour`` INTEGER from the path) and ``union_by_name`` (files written with older schema
versions lack newer columns; those read as NULL). Every column of the current schema is in the
view even if no file has it yet, and a table without files is an empty view of the right
shape, so queries and reports work on an empty or partial lake. The session time zone is UTC.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from analytics.compaction import live_files
from analytics.schemas import TABLES
from analytics.settings import AnalyticsSettings
from analytics.storage import Storage

_DUCK_TYPES = {
    pa.string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
    pa.timestamp("ms", tz="UTC"): "TIMESTAMPTZ",
}
_PARTITIONS = ds.partitioning(pa.schema([("dt", pa.date32()), ("hour", pa.int32())]), flavor="hive")
_HIVE = "hive_partitioning = true, union_by_name = true, hive_types = {'dt': DATE, 'hour': INTEGER}"


def _quote(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def glob_of(storage: Storage, table: str) -> str:
    return f"{storage.uri.rstrip('/')}/{table}/**/*.parquet"


def view_sql(storage: Storage, table: str) -> str:
    """The CREATE VIEW statement for ``table`` as the lake stands now."""
    spec = TABLES[table]
    files, excluded = live_files(storage, table)
    if not files:
        cols = ", ".join(f"CAST(NULL AS {_DUCK_TYPES[f.type]}) AS {f.name}" for f in spec.schema)
        return (
            f"CREATE OR REPLACE VIEW {table} AS SELECT {cols}, "
            "CAST(NULL AS DATE) AS dt, CAST(NULL AS INTEGER) AS hour WHERE false"
        )
    if excluded:  # a crashed compaction left replaced files: list the live ones explicitly
        source = "[" + ", ".join(_quote(storage.uri.rstrip("/") + "/" + f) for f in files) + "]"
    else:
        source = _quote(glob_of(storage, table))
    return f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet({source}, {_HIVE})"


def _configure_s3(con: duckdb.DuckDBPyConnection, settings: AnalyticsSettings) -> None:
    """Let DuckDB read s3:// (R2, MinIO) with the sink's endpoint and credentials."""
    con.execute("INSTALL httpfs")
    con.execute("LOAD httpfs")
    parts = ["TYPE s3", f"REGION {_quote(settings.s3_region)}"]
    if settings.s3_endpoint:
        parts += [f"ENDPOINT {_quote(settings.s3_endpoint)}", "URL_STYLE 'path'"]
        parts.append(f"USE_SSL {'true' if settings.s3_scheme == 'https' else 'false'}")
    if settings.s3_access_key and settings.s3_secret_key:
        parts.append(f"KEY_ID {_quote(settings.s3_access_key.get_secret_value())}")
        parts.append(f"SECRET {_quote(settings.s3_secret_key.get_secret_value())}")
    con.execute(f"CREATE OR REPLACE SECRET arbcast_s3 ({', '.join(parts)})")


def connect(
    storage: Storage,
    settings: AnalyticsSettings | None = None,
    *,
    database: str = ":memory:",
    threads: int | None = None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with a view per table over ``storage``."""
    con = duckdb.connect(database)
    con.execute("SET TimeZone = 'UTC'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    settings = settings or AnalyticsSettings()
    through_arrow = not storage.is_local and settings.s3_reader == "arrow"
    if not storage.is_local and not through_arrow:
        _configure_s3(con, settings)
    for table in TABLES:
        if through_arrow:
            _arrow_view(con, storage, table)
            continue
        sql = view_sql(storage, table)
        con.execute(sql)
        _add_missing_columns(con, table)
    return con


def _arrow_view(con: duckdb.DuckDBPyConnection, storage: Storage, table: str) -> None:
    """The view of ``table`` over a pyarrow dataset: DuckDB scans it through Arrow (with
    projection and filter pushdown) and pyarrow's filesystem does the I/O, so an s3:// lake
    needs no DuckDB extension. The dataset has the current schema: columns older files lack
    read as NULL, as with ``union_by_name``."""
    files, _ = live_files(storage, table)
    if not files:
        con.execute(view_sql(storage, table))
        return
    dataset = ds.dataset(
        [storage.path(f) for f in files],
        schema=pa.unify_schemas([TABLES[table].schema, _PARTITIONS.schema]),
        format="parquet",
        filesystem=storage.fs,
        partitioning=_PARTITIONS,
        partition_base_dir=storage.path(table),
    )
    con.register(f"arrow_{table}", dataset)
    con.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM arrow_{table}")


def _add_missing_columns(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Files may all predate a column: add it to the view as NULL of its type."""
    present = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    missing = [f for f in TABLES[table].schema if f.name not in present]
    if not missing:
        return
    sql = con.execute(
        "SELECT sql FROM duckdb_views() WHERE view_name = ? AND NOT internal", [table]
    ).fetchone()
    assert sql is not None
    body = str(sql[0]).split(" AS ", 1)[1].rstrip(";")
    extra = ", ".join(f"CAST(NULL AS {_DUCK_TYPES[f.type]}) AS {f.name}" for f in missing)
    con.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT *, {extra} FROM ({body})")


def shell_script(storage: Storage) -> str:
    """SQL to paste into the duckdb CLI to get the same views."""
    lines = ["SET TimeZone = 'UTC';"]
    lines += [view_sql(storage, t) + ";" for t in TABLES]
    return "\n".join(lines)


def fetch(
    con: duckdb.DuckDBPyConnection, sql: str, params: Any = None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run ``sql``; return column names and rows (read through Arrow: no pytz needed)."""
    rel = con.execute(sql, params) if params is not None else con.execute(sql)
    table = rel.to_arrow_table()
    rows = (
        list(zip(*(c.to_pylist() for c in table.columns), strict=True)) if table.num_columns else []
    )
    return table.column_names, rows
