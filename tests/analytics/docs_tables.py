"""Each table's section of docs/analytics.md as the schemas in `analytics/schemas.py` say it
must read: heading with the schema version, description, events, typed columns."""

from __future__ import annotations

import re

from analytics.duck import _DUCK_TYPES
from analytics.schemas import COMMON, TABLES


def section(table: str) -> str:
    spec = TABLES[table]
    lines = [f"### `{table}` (schema version {spec.version})", ""]
    if spec.description:
        lines += [spec.description, ""]
    if spec.events:
        lines += ["| event | meaning |", "|---|---|"]
        lines += [f"| `{n}` | {d} |" for n, d in spec.events.items()]
        lines.append("")
    model_fields = spec.attrs.model_fields
    typed = [f for f in spec.schema if f.name not in COMMON and f.name in model_fields]
    if typed:
        lines += ["| column | type | meaning |", "|---|---|---|"]
        lines += [
            f"| `{f.name}` | {_DUCK_TYPES[f.type]} | {model_fields[f.name].description} |"
            for f in typed
        ]
    return "\n".join(lines).rstrip() + "\n"


def sql_statements(doc: str, root: str) -> list[str]:
    """Every statement of the ```sql blocks of ``doc``, with the docs' lake root
    (``var/analytics``) replaced by ``root``."""
    out: list[str] = []
    for block in re.findall(r"^```sql\n(.*?)^```", doc, flags=re.S | re.M):
        code = "\n".join(line for line in block.splitlines() if not line.lstrip().startswith("--"))
        code = code.replace("'var/analytics/", f"'{root.rstrip('/')}/")
        out += [s.strip() for s in code.split(";") if s.strip()]
    return out
