"""The gettext catalogues, read from their ``.po`` sources at first use.

aiogram's `I18n` loads compiled ``.mo`` files; ours compiles each ``.po`` in memory with Babel
instead, so a fresh clone (or a Ray worker) needs no build step and a catalogue can never be
older than its source. Entries marked fuzzy are left out, like ``msgfmt`` does: an unreviewed
translation falls back to English rather than showing a guess.
"""

from __future__ import annotations

import gettext
from io import BytesIO
from pathlib import Path
from typing import Final

from aiogram.utils.i18n import I18n
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR: Final = Path(__file__).parent / "locales"
DOMAIN: Final = "messages"


def po_path(locale: str, path: Path = LOCALES_DIR) -> Path:
    return path / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def compile_po(po: Path) -> gettext.GNUTranslations:
    """The translations of one ``.po`` file, compiled in memory (fuzzy entries left out)."""
    with po.open("rb") as source:
        catalog = read_po(source, locale=po.parent.parent.name, domain=DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class CatalogI18n(I18n):
    """aiogram's `I18n`, fed from ``.po`` sources (see the module's docstring)."""

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        return {
            po.parent.parent.name: compile_po(po)
            for po in sorted(self.path.glob(f"*/LC_MESSAGES/{self.domain}.po"))
        }
