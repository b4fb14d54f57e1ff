"""The texts the code marks for translation, and the catalogue entries they lack.

``python -m messaging.i18n.extract`` lists every marked text without a reviewed Russian entry
(missing, empty or fuzzy), with where it is used; ``--append`` adds the missing ones at the end
of the Russian catalogue with an empty ``msgstr`` to fill in. Exit status 1 while any is left.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.pofile import read_po

from messaging.i18n.catalog import po_path

ROOT: Final = Path(__file__).resolve().parents[2]
# Where user-facing texts live: the bot's replies and everything messaging renders; and the
# one core module whose refusals reach users (marked with its own `N_`: core imports no i18n).
SOURCE_DIRS: Final = ("bot", "messaging")
SOURCE_FILES: Final = ("core/plans.py",)
KEYWORDS: Final = {"_": None, "gettext": None, "N_": None, "ngettext": (1, 2)}


@dataclass(frozen=True, slots=True)
class Marked:
    msgid: str
    plural: str | None
    where: str


def marked(root: Path = ROOT) -> Iterator[Marked]:
    """Every marked text of the source tree (a text used twice comes twice)."""
    for folder in SOURCE_DIRS:
        for filename, line, message, _comments, _context in extract_from_dir(
            root / folder,
            method_map=[("**.py", "python")],
            keywords=KEYWORDS,
            comment_tags=(),
            strip_comment_tags=True,
        ):
            where = f"{folder}/{filename}:{line}"
            yield from _marked(message, where)
    for path in SOURCE_FILES:
        for line, message, _comments, _context in extract_from_file(
            "python", str(root / path), keywords=KEYWORDS, comment_tags=()
        ):
            yield from _marked(message, f"{path}:{line}")


def _marked(message: str | tuple[str | None, ...], where: str) -> Iterator[Marked]:
    if isinstance(message, tuple):
        if message[0]:
            yield Marked(message[0], message[1], where)
    elif message:
        yield Marked(message, None, where)


def untranslated(locale: str = "ru", root: Path = ROOT) -> list[Marked]:
    """The marked texts with no reviewed translation in `locale`'s catalogue: missing, with an
    empty msgstr (any plural form empty), or fuzzy."""
    with po_path(locale).open("rb") as source:
        catalog = read_po(source, locale=locale)
    missing: dict[str, Marked] = {}
    for m in marked(root):
        entry = catalog.get(m.msgid)
        strings = entry.string if entry is not None else ""
        forms = strings if isinstance(strings, tuple) else (strings,)
        if entry is None or entry.fuzzy or not all(forms):
            missing.setdefault(m.msgid, m)
    return list(missing.values())


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def append_stubs(items: list[Marked], locale: str = "ru") -> None:
    """Append an empty entry per missing text at the end of the catalogue (entries already
    there, empty or fuzzy, are left for you to fill in)."""
    with po_path(locale).open("rb") as source:
        catalog = read_po(source, locale=locale)
    lines: list[str] = []
    for m in items:
        if m.msgid in catalog:
            continue
        lines += ["", f"#: {m.where}", f"msgid {_quote(m.msgid)}"]
        if m.plural is None:
            lines.append('msgstr ""')
        else:
            lines += [f"msgid_plural {_quote(m.plural)}"]
            lines += [f'msgstr[{i}] ""' for i in range(catalog.num_plurals)]
    if lines:
        with po_path(locale).open("a", encoding="utf-8") as po:
            po.write("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--locale", default="ru")
    parser.add_argument("--append", action="store_true", help="append empty entries to fill")
    args = parser.parse_args(argv)
    missing = untranslated(args.locale)
    for m in missing:
        print(f"{m.where}: {m.msgid!r}")
    if args.append:
        append_stubs(missing, args.locale)
    print(f"{len(missing)} text(s) without a {args.locale} translation", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
