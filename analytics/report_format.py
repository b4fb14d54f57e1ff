"""How reports are written out: CSV, JSON, and rich tables for the terminal."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from typing import Any


def _cell(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return int(v)
    if isinstance(v, datetime | date):
        return v.isoformat()
    return v


def to_csv(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow(["" if v is None else _cell(v) for v in r])
    return buf.getvalue()


def to_json(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    data = [{c: _cell(v) for c, v in zip(columns, r, strict=True)} for r in rows]
    return json.dumps(data, default=str, indent=1)


def to_rich_table(title: str, columns: list[str], rows: list[tuple[Any, ...]]) -> Any:
    from rich.table import Table

    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(
            *(
                ""
                if v is None
                else f"{_cell(v):,.2f}"
                if isinstance(_cell(v), float)
                else str(_cell(v))
                for v in r
            )
        )
    return t
