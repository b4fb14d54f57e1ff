"""Settings of operations: the ops listener (/healthz, /metrics, the dashboard in polling mode)
and the alerts sent to SuperAdmins (nested as ``Settings.ops``).

Environment variables: ``ARBCAST_OPS__<FIELD>``, e.g. ``ARBCAST_OPS__LISTEN_PORT=9464``. The
alert thresholds are the same figures `ops/prometheus/alerts.yml` uses (a test holds them in
step), so Prometheus and the in-bot alerts trip together.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class OpsSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    listen: bool = Field(
        default=True,
        description="In polling mode, serve /healthz, /metrics and the dashboard on "
        "listen_host:listen_port (webhook mode serves them on the webhook's listener)",
    )
    listen_host: str = Field(default="127.0.0.1", description="The polling-mode ops listener")
    listen_port: Annotated[
        int, Field(ge=0, le=65535, description="Port of the polling-mode ops listener")
    ] = 9464
    metrics_path: str = Field(default="/metrics", description="Where Prometheus scrapes")
    scrape_timeout_seconds: Annotated[
        float,
        Field(
            gt=0,
            description="A /metrics figure read from Redis or Ray slower than this is left out",
        ),
    ] = 2.0

    alerts: bool = Field(default=True, description="Send alerts to SuperAdmins in the bot")
    alert_interval_seconds: Annotated[
        float, Field(gt=0, le=3_600, description="How often the alert thresholds are checked")
    ] = 30.0
    alert_repeat_seconds: Annotated[
        float,
        Field(gt=0, description="An alert still tripped is sent again at most this often"),
    ] = 3_600.0
    alert_mute_seconds: Annotated[
        float, Field(gt=0, description="How long the Mute button silences that alert")
    ] = 4 * 3_600.0
    alert_sink_lag_entries: Annotated[
        int, Field(gt=0, description="Alert when the analytics sink has more unwritten entries")
    ] = 10_000
    alert_429_per_minute: Annotated[
        float, Field(gt=0, description="Alert when Telegram refuses (429) more sends per minute")
    ] = 5.0
    alert_dead_letters: Annotated[
        int, Field(gt=0, description="Alert when this many dead letters wait, or more")
    ] = 1
    alert_no_opportunities_seconds: Annotated[
        float, Field(gt=0, description="Alert when no opportunity has been live for this long")
    ] = 600.0
