"""The event catalogue (core.event_names) holds every name the code emits, the analytics tables
and docs/analytics.md take theirs from it, and nothing names an event with a bare string.

The oracle reads the source itself (Python's ast), not the catalogue's own bookkeeping: an
`Event` built outside the emitter, an emit given a literal or an f-string, a name-like string
constant outside the catalogue, or a catalogued name no module refers to all fail here.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from analytics.schemas import OTHER, TABLES
from core.event_names import CATALOGUE, PLANNED, EventName, names_of_table

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "messaging", "bot", "actors", "analytics", "arbcast")
CATALOGUE_FILE = ROOT / "core" / "event_names.py"
TABLE_NAMES = "|".join(sorted(t for t in TABLES if t != OTHER))
NAME_LIKE = re.compile(rf"^({TABLE_NAMES})\.[a-z_]+$")


def _modules() -> Iterator[tuple[Path, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path != CATALOGUE_FILE:
                yield path, ast.parse(path.read_text(), filename=str(path))


# The modules that may build an `Event` themselves: the emitter, and the decoders that read
# stored events back (stream entries, Parquet rows).
BUILDERS = {ROOT / "core" / "events.py", ROOT / "analytics" / "schemas.py"}


def _called(node: ast.Call) -> str | None:
    func = node.func
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id == "asyncio"
    ):
        return None  # asyncio.Event is not ours
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


def _calls(tree: ast.Module) -> Iterator[tuple[str, ast.Call]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (called := _called(node)) is not None:
            yield called, node


def test_events_are_built_by_the_emitter_only() -> None:
    built = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path, tree in _modules()
        if path not in BUILDERS
        for called, node in _calls(tree)
        if called == "Event"
    ]
    assert not built, f"Event(...) built by hand (emit through core.events.Emitter): {built}"


def test_no_event_is_named_with_a_bare_string() -> None:
    # An emitter is called with the name first: `services.emit(EventName.X, ...)`,
    # `self._emit(...)`; the worker's and the shard's own wrappers follow the same shape.
    bare = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path, tree in _modules()
        for called, node in _calls(tree)
        if (called.endswith("emit") or called.endswith("emitter") or called == "Event")
        and any(
            isinstance(arg, ast.Constant | ast.JoinedStr)
            for arg in [*node.args[:1], *(k.value for k in node.keywords if k.arg == "name")]
        )
    ]
    assert not bare, f"an event named with a literal (use core.event_names.EventName): {bare}"


def test_every_name_like_string_in_the_code_is_catalogued() -> None:
    unknown = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}"
        for path, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and NAME_LIKE.match(node.value)
        and node.value not in CATALOGUE
    ]
    assert not unknown, f"event names missing from core.event_names.CATALOGUE: {unknown}"


def test_the_catalogue_and_event_name_hold_the_same_names() -> None:
    constants = {v for k, v in vars(EventName).items() if k.isupper()}
    assert constants == set(CATALOGUE)
    assert all(CATALOGUE[n].strip() for n in CATALOGUE), "every name has a description"


def test_every_catalogued_name_is_emitted_somewhere_unless_planned() -> None:
    referred = {
        getattr(EventName, node.attr)
        for _, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "EventName"
        and hasattr(EventName, node.attr)
    }
    assert set(CATALOGUE) - PLANNED - referred == set(), "catalogued but emitted by nothing"
    assert set(CATALOGUE) >= PLANNED


def test_each_name_lands_in_a_declared_table_that_lists_it() -> None:
    for name in CATALOGUE:
        assert name.split(".", 1)[0] in TABLES, name
    for table, spec in TABLES.items():
        assert dict(spec.events) == names_of_table(table), table


def test_the_analysts_docs_list_every_name_with_its_description_and_no_other() -> None:
    docs = (ROOT / "docs" / "analytics.md").read_text()
    for name, description in CATALOGUE.items():
        assert f"| `{name}` | {description} |" in docs, f"docs/analytics.md lacks {name}"
    rows = set(re.findall(rf"^\| `((?:{TABLE_NAMES})\.[a-z_]+)` \|", docs, flags=re.M))
    assert rows <= set(CATALOGUE), f"docs list names nothing emits: {rows - set(CATALOGUE)}"
