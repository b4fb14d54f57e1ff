"""docs/analytics.md says what the schemas say: every table's section (version, events, typed
columns with their types and meanings) is the one `analytics/schemas.py` implies."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.schemas import TABLES
from tests.analytics.docs_tables import section, sql_statements

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "analytics.md").read_text()


@pytest.mark.parametrize("table", list(TABLES))
def test_the_docs_describe_each_table_as_its_schema_does(table: str) -> None:
    assert section(table) in DOCS, f"docs/analytics.md: the `{table}` section is out of date"


def test_the_docs_example_queries_are_found() -> None:
    # They run against the lake of a real run in tests/arbcast/test_demo.py.
    statements = sql_statements(DOCS, "/lake")
    assert len(statements) >= 10
    assert all("'var/analytics/" not in s for s in statements)
    assert not [s for s in statements if "arb-BTC" in s], "example ids must be real ones"
