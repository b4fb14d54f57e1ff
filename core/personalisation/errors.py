"""The root error of per-user relevance."""

from __future__ import annotations


class PersonalisationError(RuntimeError):
    """Personalisation could not do what was asked; the message says what to do."""
