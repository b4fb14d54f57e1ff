"""Every user-facing text in English (the msgids, written in the code) or Russian (the
catalogue ``messaging/i18n/locales/ru/LC_MESSAGES/messages.po``).

Mark a text with `_` (or `ngettext` when it counts something) where it is built, and format it
afterwards: ``_("Muted {pair}.").format(pair=...)``. A module-level constant is marked with
`N_` (it stays English) and translated where it is sent: ``_(templates.TERMINATED)``.

The language is the one of the running context: the bot's middleware sets the user's for each
update; whatever renders off the bot (pushes, reminders, expiry notices) says whose it is with
``with use_locale(profile.language):``, so a text never depends on a handler being around it.
English is the default and the fallback for any entry without a Russian translation.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Final

from messaging.i18n.catalog import LOCALES_DIR, CatalogI18n

DEFAULT_LANGUAGE: Final = "en"
LANGUAGES: Final = ("en", "ru")
# Each language in its own words: what the language picker shows, whatever the current one.
LANGUAGE_NAMES: Final = {"en": "🇬🇧 English", "ru": "🇷🇺 Русский"}


@cache
def i18n() -> CatalogI18n:
    """The process's one `I18n` (its context variable is the current language)."""
    return CatalogI18n(path=LOCALES_DIR, default_locale=DEFAULT_LANGUAGE)


def normalize(language: str | None) -> str:
    """A language we ship (`LANGUAGES`); anything else, or none, is English."""
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def pick_language(language_code: str | None) -> str:
    """The language for a Telegram ``language_code``: Russian for ``ru`` and its variants
    (``ru-RU``), English for everything else."""
    code = (language_code or "").lower()
    return "ru" if code == "ru" or code.startswith(("ru-", "ru_")) else DEFAULT_LANGUAGE


def current_language() -> str:
    return normalize(i18n().current_locale)


@contextmanager
def use_locale(language: str | None) -> Iterator[None]:
    """Texts built inside are in `language` (English when unknown or ""); None keeps the
    current one (a handler's)."""
    if language is None:
        yield
        return
    with i18n().use_locale(normalize(language)):
        yield


def gettext(message: str) -> str:
    """`message` in the current language."""
    return i18n().gettext(message)


_ = gettext


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form for `n` in the current language (Russian has three)."""
    return i18n().gettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks `message` for the catalogue without translating it (constants; translate at use)."""
    return message


__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "N_",
    "_",
    "current_language",
    "gettext",
    "i18n",
    "ngettext",
    "normalize",
    "pick_language",
    "use_locale",
]
