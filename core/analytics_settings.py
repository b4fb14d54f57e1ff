"""Settings of the analytics sink, compaction and reports (nested as ``Settings.analytics``).

Environment variables: ``ARBCAST_ANALYTICS__<FIELD>``, e.g. ``ARBCAST_ANALYTICS__ROOT=s3://b/x``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr


class AnalyticsSettings(BaseModel):
    root: str = Field(
        default="var/analytics",
        description="Where Parquet lands: a directory or s3://bucket/prefix (default: DATA_DIR/…)",
    )
    s3_endpoint: str | None = Field(
        default=None, description="S3 endpoint host[:port] for R2/MinIO; empty for AWS"
    )
    s3_scheme: str = Field(default="https", description="http for a local MinIO")
    s3_region: str = Field(default="auto", description="S3 region (R2: auto)")
    s3_access_key: SecretStr | None = Field(default=None, description="S3 access key id")
    s3_secret_key: SecretStr | None = Field(default=None, description="S3 secret access key")
    s3_reader: Literal["httpfs", "arrow"] = Field(
        default="httpfs",
        description="How reports read s3://: DuckDB's httpfs extension (INSTALL needs network "
        "once), or pyarrow's S3 filesystem (no extension; slower on large lakes)",
    )

    batch_max_rows: Annotated[
        int, Field(gt=0, description="The sink writes once this many events are buffered")
    ] = 10_000
    batch_max_bytes: Annotated[
        int, Field(gt=0, description="...or once the buffered stream payload is this large")
    ] = 10_000_000
    batch_max_seconds: Annotated[
        float, Field(gt=0, description="...or once the oldest buffered event waited this long")
    ] = 15.0
    read_count: Annotated[
        int, Field(gt=0, description="Stream entries (batches) per XREADGROUP call")
    ] = 100
    block_seconds: Annotated[
        float, Field(gt=0, le=10, description="Longest wait of one XREADGROUP")
    ] = 1.0
    claim_idle_seconds: Annotated[
        float,
        Field(
            ge=0,
            description="Entries a consumer read but did not ack for this long are "
            "claimed by another sink (XAUTOCLAIM); longer than a flush takes",
        ),
    ] = 60.0
    consumer_group: str = Field(default="parquet-sink", description="Stream consumer group")
    trim_written: bool = Field(
        default=True, description="Trim stream entries every group has written and acked"
    )
    fsync: bool = Field(default=True, description="fsync local files before they are renamed")
    compression_level: Annotated[int, Field(ge=1, le=22, description="zstd level")] = 3
    row_group_rows: Annotated[
        int, Field(gt=0, description="Rows per Parquet row group in compacted files")
    ] = 1_000_000
    compact_grace_seconds: Annotated[
        float, Field(ge=0, description="An hour is closed for compaction this long after it ends")
    ] = 900.0
    onboarding_window_seconds: Annotated[
        float,
        Field(
            gt=0,
            description="Onboarding funnel: a starter counts as in progress this long, then as "
            "abandoned; completing or skipping later does not count",
        ),
    ] = 86_400.0
    run_sink: bool = Field(
        default=True, description="Run a Parquet sink inside each `arbcast run` process"
    )
    dashboard_token: SecretStr = Field(
        default=SecretStr(""),
        description="Admin token of the web dashboard (Bearer, or ?token= once); empty: none",
    )
    dashboard_path: str = Field(default="/admin", description="Where the dashboard is served")
    dashboard_cache_seconds: Annotated[
        float, Field(ge=0, description="Reports are recomputed at most this often")
    ] = 2.0
    dashboard_refresh_seconds: Annotated[
        float, Field(gt=0, description="How often the dashboard page polls")
    ] = 5.0
    dashboard_threads: Annotated[
        int | None, Field(description="DuckDB threads for dashboard and /admin_stats queries")
    ] = 2
    dashboard_process: bool = Field(
        default=True,
        description="Compute the dashboard's reports in a child process, off the bot's event "
        "loop and GIL",
    )
    background_nice: Annotated[
        int,
        Field(
            ge=0,
            le=19,
            description="Niceness added to the dashboard's child process and the rollup job's "
            "thread, so that handling updates comes first",
        ),
    ] = 10
    rollup_interval_seconds: Annotated[
        float,
        Field(
            gt=0, description="The rollup job refreshes the dashboard's hourly rollups this often"
        ),
    ] = 60.0
    run_rollups: bool = Field(
        default=True,
        description="Run the dashboard's rollup job beside the sink (`arbcast run`, "
        "`arbcast analytics sink`)",
    )
    admin_stats_timeout_seconds: Annotated[
        float,
        Field(gt=0, description="/admin_stats stops its DuckDB queries after this long"),
    ] = 10.0
