"""Typed, versioned event schemas: one Parquet table per event family.

An event named ``<table>.<event>`` lands in the table before the dot (``session.started`` in
``session``); names of no known table land in ``other``. Every table has the common columns
(`COMMON`), one typed column per attribute its pydantic model declares, and ``extra``: a JSON
object of every attribute that has no column, or whose value does not fit its column's type,
so nothing is ever dropped. A new attribute is added as a new nullable column and the table's
``version`` goes up; older files simply lack the column and DuckDB's ``union_by_name`` reads
them as NULL.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, create_model

from core.event_names import names_of_table
from core.events import Event

OTHER = "other"

# Column name -> (arrow type, python type, description).
COMMON: dict[str, tuple[pa.DataType, type, str]] = {
    "event_id": (
        pa.string(),
        str,
        "Unique id: '<stream entry id>:<index in batch>'; a redelivered event keeps it",
    ),
    "name": (pa.string(), str, "Full event name, e.g. session.started"),
    "ts": (pa.timestamp("ms", tz="UTC"), datetime, "When it happened (UTC, milliseconds)"),
    "user_id": (pa.int64(), int, "Telegram user id (null for system events)"),
    "session_id": (pa.string(), str, "Session id, when the event belongs to one"),
    "schema_version": (pa.int32(), int, "Version of the table's schema the row was written with"),
}
EXTRA = "extra"
EXTRA_DOC = "JSON object of attributes without a column (or of a mismatching type); null if none"

_ARROW: dict[type, pa.DataType] = {
    str: pa.string(),
    int: pa.int64(),
    float: pa.float64(),
    bool: pa.bool_(),
}


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and -(2**63) <= v < 2**63


def _is_float(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and abs(v) < 1e308


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool)


_CHECK: dict[type, Callable[[Any], bool]] = {
    str: _is_str,
    int: _is_int,
    float: _is_float,
    bool: _is_bool,
}


# --- attribute models, one per table ----------------------------------------------------------


class _Attrs(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class SessionAttrs(_Attrs):
    source: str | None = Field(None, description="started/resumed: what started it (start, ...)")
    previous: str | None = Field(None, description="started: state of the previous session")
    reason: str | None = Field(
        None, description="expired/terminated: inactivity, logout, blocked, ..."
    )
    length_s: float | None = Field(
        None, description="expired/terminated: last activity minus start, seconds"
    )
    commands: int | None = Field(None, description="expired/terminated: commands in the session")
    opportunities: int | None = Field(
        None, description="expired/terminated: opportunities received in the session"
    )


class AuditAttrs(_Attrs):
    command: str | None = Field(None, description="command: the command or <text>, <error>")
    action: str | None = Field(None, description="admin: admin_stats, settier, ...")
    data: str | None = Field(None, description="callback: callback data (first 64 characters)")
    allowed: bool | None = Field(None, description="Whether it was allowed")
    reason: str | None = Field(
        None, description="active, open, no_session, expired, error, unknown, ..."
    )
    chat_type: str | None = Field(None, description="command: private, group, callback, ...")
    error: str | None = Field(None, description="Exception, for command <error> and bad_update")
    update_id: int | None = Field(None, description="Telegram update id, when known")
    target: int | None = Field(None, description="admin settier: the user changed")
    tier: str | None = Field(None, description="admin settier: the new tier")
    bytes: int | None = Field(None, description="bad_update: body size")


class OnboardingAttrs(_Attrs):
    step: str | None = Field(
        None, description="welcome, tier, types, schedule, risk, exchanges, done"
    )
    action: str | None = Field(None, description="shown, answered, skipped, completed")
    value: str | None = Field(None, description="answered: the value chosen")
    source: str | None = Field(None, description="shown: start or settings")


class PreferencesAttrs(_Attrs):
    field: str | None = Field(None, description="Preference changed")
    value: str | None = Field(None, description="New value, as text")
    source: str | None = Field(None, description="Where it was changed (onboarding, settings)")


class OpportunityAttrs(_Attrs):
    opportunity_id: str | None = Field(None, description="Deterministic opportunity id")
    level: int | None = Field(
        None, description="validation: 1 market, 2 technical, 3 user, 4 scoring"
    )
    passed: bool | None = Field(None, description="validation: whether the level passed")
    reason: str | None = Field(
        None, description="validation: ok or the first failed check; lifecycle: close reason"
    )
    key: str | None = Field(None, description="type|symbol|buy_exchange|sell_exchange")
    pair: str | None = Field(None, description="Exchange pair of the coordinator, a-b")
    change: str | None = Field(None, description="lifecycle: opened, updated, closed")
    type: str | None = Field(None, description="arbitrage, funding, technical")
    symbol: str | None = Field(None, description="e.g. BTC/USDT")
    buy: str | None = Field(None, description="Exchange to buy on")
    sell: str | None = Field(None, description="Exchange to sell on")
    net_spread_pct: float | None = Field(None, description="Spread net of fees and slippage, %")
    confidence: float | None = Field(
        None, description="Level 4 calibrated probability, clamped to [0.01, 0.99]"
    )
    priority: str | None = Field(None, description="high, medium, low")


class DistributionAttrs(_Attrs):
    opportunity_id: str | None = Field(None, description="Opportunity delivered or refused")
    type: str | None = Field(None, description="Opportunity type")
    priority: str | None = Field(None, description="Opportunity priority")
    tier: str | None = Field(None, description="Recipient's tier")
    channel: str | None = Field(None, description="push, on_demand, group, ...")
    layer: int | None = Field(None, description="rejected: eligibility layer 1-6 that refused")
    reason: str | None = Field(None, description="rejected/failed/dropped: reason code")
    users: int | None = Field(
        None, description="rejected: users of the shard the layer refused (one row per reason)"
    )
    kind: str | None = Field(
        None, description="accepted/sent/retried/failed: send (a new message) or edit"
    )
    items: int | None = Field(
        None, description="accepted/sent/...: opportunities in the message (0: a reminder, ...)"
    )
    opportunity_ids: str | None = Field(
        None, description="sent/...: every opportunity of the message, comma-separated"
    )
    latency_ms: float | None = Field(
        None, description="sent: the queue's release to Telegram's answer, ms"
    )
    detection_latency_ms: float | None = Field(
        None, description="sent: detection to Telegram's answer (a tier's delay included), ms"
    )
    attempt: int | None = Field(None, description="retried/failed: attempt number")
    chat_kind: str | None = Field(
        None, description="sent/...: group, supergroup or channel (null: a private chat)"
    )


class EngagementAttrs(_Attrs):
    opportunity_id: str | None = Field(None, description="Opportunity the button belongs to")
    button: str | None = Field(None, description="Button pressed (details, mute, ...)")
    type: str | None = Field(None, description="Opportunity type")
    tier: str | None = Field(None, description="User's tier")
    priority: str | None = Field(None, description="Opportunity priority")
    rating: int | None = Field(None, description="feedback: rating given")
    feedback: str | None = Field(None, description="feedback: choice or text")


class ExperimentAttrs(_Attrs):
    experiment: str | None = Field(None, description="Experiment name")
    variant: str | None = Field(None, description="Variant the user was assigned to")
    goal: str | None = Field(None, description="converted: what the user did")


class MarketAttrs(_Attrs):
    exchange: str | None = Field(None, description="Exchange")
    symbol: str | None = Field(None, description="e.g. BTC/USDT")
    bid: float | None = Field(None, description="Best bid")
    ask: float | None = Field(None, description="Best ask")
    bid_size: float | None = Field(None, description="Size at the best bid")
    ask_size: float | None = Field(None, description="Size at the best ask")
    funding_rate: float | None = Field(None, description="Perpetual funding rate")
    latency_ms: float | None = Field(None, description="Feed latency")
    stale: bool | None = Field(None, description="Whether the feed was stale")


class PaymentAttrs(_Attrs):
    tier: str | None = Field(None, description="The plan paid for (or refunded, or ended)")
    amount: int | None = Field(None, description="Telegram Stars (whole)")
    currency: str | None = Field(None, description="succeeded: XTR (Telegram Stars)")
    charge_id: str | None = Field(None, description="telegram_payment_charge_id")
    recurring: bool | None = Field(None, description="succeeded: a renewal of a subscription")
    paid_until: float | None = Field(None, description="When the paid period ends (epoch s)")
    ok: bool | None = Field(None, description="pre_checkout: whether the order was accepted")
    reason: str | None = Field(None, description="Why a pre-checkout or payment was refused")
    outcome: str | None = Field(
        None, description="expired, refunded: fell_back (to Free), kept_tier or nothing"
    )
    admin: int | None = Field(None, description="refunded: the SuperAdmin who refunded")


class GroupAttrs(_Attrs):
    chat_id: int | None = Field(None, description="The group or channel (negative chat id)")
    chat_kind: str | None = Field(None, description="group, supergroup or channel")
    action: str | None = Field(None, description="What happened (linked, started, ...)")
    allowed: bool | None = Field(None, description="Whether the user was allowed to do it")
    button: str | None = Field(None, description="button: which one (details, ...)")
    opportunity_id: str | None = Field(None, description="button: the card's opportunity")
    has_session: bool | None = Field(None, description="button: the presser had a session")
    answer: str | None = Field(
        None,
        description="button: private (sent to their chat), pointer (to /start), refused, gone",
    )
    source: str | None = Field(None, description="deeplink_start: group or channel")
    admin_id: int | None = Field(None, description="The admin or SuperAdmin who acted")


class OtherAttrs(_Attrs):
    pass


@dataclass(frozen=True)
class TableSpec:
    """One Parquet table: its typed columns, version, and the events that land in it."""

    name: str
    version: int
    attrs: type[BaseModel]
    events: Mapping[str, str] = field(default_factory=dict)  # event name -> meaning
    description: str = ""

    @cached_property
    def columns(self) -> dict[str, type]:
        """Typed attribute columns, in order, with their python type."""
        out: dict[str, type] = {}
        for name, info in self.attrs.model_fields.items():
            args = [a for a in getattr(info.annotation, "__args__", ()) if a is not type(None)]
            out[name] = args[0] if args else info.annotation  # type: ignore[assignment]
        return out

    @cached_property
    def schema(self) -> pa.Schema:
        fields = [
            pa.field(n, t, nullable=n not in ("event_id", "name", "ts", "schema_version"))
            for n, (t, _, _) in COMMON.items()
        ]
        fields += [pa.field(n, _ARROW[t]) for n, t in self.columns.items()]
        fields.append(pa.field(EXTRA, pa.string()))
        meta = {
            b"arbcast.table": self.name.encode(),
            b"arbcast.version": str(self.version).encode(),
        }
        return pa.schema(fields, metadata=meta)

    @cached_property
    def row_model(self) -> type[BaseModel]:
        """A pydantic model of one row (strict types), for readers and tests."""
        defs: dict[str, Any] = {
            "event_id": (str, ...),
            "name": (str, ...),
            "ts": (datetime, ...),
            "user_id": (int | None, None),
            "session_id": (str | None, None),
            "schema_version": (int, ...),
            EXTRA: (str | None, None),
        }
        for n, t in self.columns.items():
            defs[n] = (t | None, None)
        model: type[BaseModel] = create_model(
            f"{self.name.title()}Row", __config__=ConfigDict(strict=True), **defs
        )
        return model


TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        TableSpec(
            "session",
            1,
            SessionAttrs,
            names_of_table("session"),
            "Session lifecycle. Activity is summarised once per session (length, commands, "
            "opportunities on the ending event), not one row per expiry extension.",
        ),
        TableSpec(
            "audit",
            1,
            AuditAttrs,
            names_of_table("audit"),
            "Who did what, whether it was allowed, and errors.",
        ),
        TableSpec(
            "onboarding",
            1,
            OnboardingAttrs,
            names_of_table("onboarding"),
            "The onboarding funnel.",
        ),
        TableSpec(
            "preferences",
            1,
            PreferencesAttrs,
            names_of_table("preferences"),
        ),
        TableSpec(
            "opportunity",
            1,
            OpportunityAttrs,
            names_of_table("opportunity"),
            "Detection and the validation pipeline's audit (opportunity_validation_log).",
        ),
        TableSpec(
            "distribution",
            3,  # 2: users, kind, items, opportunity_ids, detection_latency_ms; 3: chat_kind
            DistributionAttrs,
            names_of_table("distribution"),
            "Delivery of opportunities to users.",
        ),
        TableSpec(
            "engagement",
            1,
            EngagementAttrs,
            names_of_table("engagement"),
            "What users do with what they received; any engagement.* event counts as a click.",
        ),
        TableSpec(
            "experiment",
            1,
            ExperimentAttrs,
            names_of_table("experiment"),
        ),
        TableSpec(
            "market",
            1,
            MarketAttrs,
            names_of_table("market"),
            "Sampled order-book tops as events. The books, prices and funding rates the engine "
            "receives are recorded apart, in the market-data lake (see Market data below).",
        ),
        TableSpec(
            "payment",
            1,
            PaymentAttrs,
            names_of_table("payment"),
            "Plans paid in Telegram Stars: invoices, pre-checkout answers, payments (the "
            "revenue), renewals, cancellations, lapses and refunds.",
        ),
        TableSpec(
            "groups",  # not "group": a reserved word in SQL
            1,
            GroupAttrs,
            names_of_table("groups"),
            "Groups and channels: their admins' actions, presses of their cards' buttons and "
            "/start from their links. Deliveries to them are distribution.sent rows with a "
            "negative user_id (the chat id) and chat_kind.",
        ),
        TableSpec(OTHER, 1, OtherAttrs, {}, "Events whose name has no known table."),
    )
}


def table_of(name: str) -> str:
    prefix = name.split(".", 1)[0]
    return prefix if prefix in TABLES and prefix != OTHER else OTHER


def hour_bucket(ts: float) -> int:
    """Hours since the epoch (UTC) of a timestamp in seconds."""
    return math.floor(ts / 3600)


def partition_path(table: str, bucket: int) -> str:
    d = datetime.fromtimestamp(bucket * 3600, tz=UTC)
    return f"{table}/dt={d:%Y-%m-%d}/hour={d:%H}"


def _json_default(v: Any) -> str:
    return str(v)


def to_arrow(
    spec: TableSpec, event_ids: Sequence[str], records: Sequence[Mapping[str, Any]]
) -> pa.Table:
    """Rows of ``spec`` from decoded event records (dicts with the fields of `Event`)."""
    typed = spec.columns
    typed_names = set(typed)
    checks = [(n, _CHECK[t]) for n, t in typed.items()]
    values: dict[str, list[Any]] = {n: [] for n in typed}
    extras: list[str | None] = []
    for r in records:
        attrs: Mapping[str, Any] = r["attrs"]
        extra: dict[str, Any] | None = None
        for n, ok in checks:
            v = attrs.get(n)
            if v is not None and not ok(v):
                extra = extra or {}
                extra[n] = v
                v = None
            values[n].append(v)
        unknown = attrs.keys() - typed_names
        if unknown:
            extra = extra or {}
            for k in sorted(unknown):
                extra[k] = attrs[k]
        extras.append(
            None
            if extra is None
            else json.dumps(extra, separators=(",", ":"), default=_json_default, allow_nan=True)
        )
    ts_ms = np.rint(np.fromiter((r["ts"] for r in records), np.float64, len(records)) * 1000)
    arrays: list[pa.Array] = [
        pa.array(event_ids, pa.string()),
        pa.array([r["name"] for r in records], pa.string()),
        pa.array(ts_ms.astype(np.int64), pa.timestamp("ms", tz="UTC")),
        pa.array([r["user_id"] for r in records], pa.int64()),
        pa.array([r["session_id"] for r in records], pa.string()),
        pa.array(np.full(len(records), spec.version, np.int32), pa.int32()),
    ]
    arrays += [pa.array(values[n], _ARROW[t]) for n, t in typed.items()]
    arrays.append(pa.array(extras, pa.string()))
    return pa.Table.from_arrays(arrays, schema=spec.schema)


def row_to_event(row: Mapping[str, Any]) -> Event:
    """An `Event` back from a row read from any table (null attributes read back as absent)."""
    skip = set(COMMON) | {EXTRA, "dt", "hour"}
    attrs = {k: v for k, v in row.items() if k not in skip and v is not None}
    if row.get(EXTRA):
        attrs.update(json.loads(row[EXTRA]))
    ts = row["ts"]
    return Event(
        name=row["name"],
        ts=ts.timestamp() if isinstance(ts, datetime) else float(ts),
        user_id=row["user_id"],
        session_id=row["session_id"],
        attrs=attrs,
    )
