"""The Russian catalogue is complete and well formed for every text the code marks.

The oracle is Babel's own extraction over the source tree, run here (not the project's
`messaging.i18n.extract` helper), against the ``.po`` file read with Babel's reader.
"""

from __future__ import annotations

import io
import re
import string
import tokenize
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.pofile import read_po

from messaging.i18n import i18n, ngettext, use_locale

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "messaging/i18n/locales/ru/LC_MESSAGES/messages.po"
KEYWORDS = {"_": None, "gettext": None, "N_": None, "ngettext": (1, 2)}


def _extracted() -> dict[str, tuple[str | None, str]]:
    """msgid -> (plural, where) for every marked text in bot/, messaging/ and core/plans.py."""
    found: dict[str, tuple[str | None, str]] = {}

    def add(message: str | tuple[str, ...], where: str) -> None:
        msgid, plural = (message[0], message[1]) if isinstance(message, tuple) else (message, None)
        if msgid:
            found.setdefault(msgid, (plural, where))

    for folder in ("bot", "messaging"):
        for name, line, message, _c, _x in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=()
        ):
            add(message, f"{folder}/{name}:{line}")
    for line, message, _c, _x in extract_from_file(
        "python", str(ROOT / "core/plans.py"), keywords=KEYWORDS, comment_tags=()
    ):
        add(message, f"core/plans.py:{line}")
    return found


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    with PO.open("rb") as source:
        return read_po(source, locale="ru")


@pytest.fixture(scope="module")
def extracted() -> dict[str, tuple[str | None, str]]:
    return _extracted()


def _fields(text: str) -> set[tuple[str, str]]:
    parsed = string.Formatter().parse(text)
    return {(name, spec or "") for _lit, name, spec, _conv in parsed if name}


def _forms(value: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """A catalogue entry's string(s): one, or one per plural form ("" for none)."""
    if value is None:
        return ("",)
    return (value,) if isinstance(value, str) else tuple(value)


def test_the_extraction_finds_the_texts_of_every_screen(
    extracted: dict[str, tuple[str | None, str]],
) -> None:
    """A sanity floor: the extraction sees hundreds of texts, the welcome and a push card's
    lines among them (an extraction that silently found nothing would pass the next test)."""
    assert len(extracted) > 300
    assert "Your session has started." in extracted
    assert "Net spread after fees and slippage: <b>{net}%</b>" in extracted


def test_every_marked_text_has_a_reviewed_russian_entry(
    catalog: Catalog, extracted: dict[str, tuple[str | None, str]]
) -> None:
    """Every msgid extracted from the code has a Russian entry that is present, not fuzzy, and
    has every form filled (three plural forms for counted texts)."""
    problems = []
    for msgid, (plural, where) in extracted.items():
        entry = catalog.get(msgid)
        if entry is None:
            problems.append(f"{where}: missing {msgid!r}")
            continue
        forms = _forms(entry.string)
        if entry.fuzzy or not all(forms):
            problems.append(f"{where}: fuzzy or empty {msgid!r}")
        if plural is not None and len(forms) != 3:
            problems.append(f"{where}: {msgid!r} needs Russian's three plural forms")
    assert not problems, "\n".join(problems)


def test_translations_keep_the_placeholders_of_their_msgid(catalog: Catalog) -> None:
    """A translation fills the same {named} fields (with the same format spec) as its msgid:
    a missing one would raise KeyError at .format(), an extra one drop a value."""
    wrong = []
    for entry in catalog:
        if not entry.id:
            continue
        want = set().union(*(_fields(i) for i in _forms(entry.id)))
        wrong += [
            f"{entry.id!r} -> {f!r}" for f in _forms(entry.string) if f and _fields(f) != want
        ]
    assert not wrong, "\n".join(wrong)


def test_no_msgid_is_entered_twice() -> None:
    """Helpers append entries at the end of the file: a second entry for a msgid would silently
    shadow the first, so the file has each msgid once."""
    ids = re.findall(r'^msgid (".*")$', PO.read_text(encoding="utf-8"), flags=re.MULTILINE)
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_no_marked_text_hides_inside_an_f_string() -> None:
    """``f"{_('x')}"`` translates at run time but is invisible to extraction (an f-string is one
    token), so its Russian entry could never be checked: none may exist."""
    hidden = []
    for folder in ("bot", "messaging"):
        for path in (ROOT / folder).rglob("*.py"):
            tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
            for tok in tokens:
                prefix = re.match(r"[A-Za-z]*", tok.string)
                is_f = tok.type == tokenize.STRING and prefix and "f" in prefix.group(0).lower()
                if is_f and re.search(r"""\b(_|N_|gettext)\(\s*["']""", tok.string):
                    hidden.append(f"{path.relative_to(ROOT)}:{tok.start[0]}")
    assert not hidden, hidden


@pytest.mark.parametrize(
    ("n", "form"),
    [(1, "возможность"), (3, "возможности"), (5, "возможностей"), (21, "возможность")],
)
def test_russian_plurals_follow_the_catalogue_rule(n: int, form: str) -> None:
    """The catalogue's Plural-Forms picks Russian's form for 1, 3, 5 and 21 (the in-memory
    compilation keeps the header)."""
    assert "ru" in i18n().available_locales
    with use_locale("ru"):
        text = ngettext(
            "📬 {name}, {n} opportunity, best first", "📬 {name}, {n} opportunities, best first", n
        ).format(name="Аня", n=n)
    assert text == f"📬 Аня, {n} {form}, лучшие первыми"
