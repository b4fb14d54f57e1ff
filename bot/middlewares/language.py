"""The user's language for each update: aiogram's `I18nMiddleware`, reading the profile.

The language chosen in /settings or /language (stored in the profile) wins; until one is stored
(before /start), the update's ``language_code`` picks it (``ru*`` Russian, else English). A
profile that cannot be read (Redis down) falls back to the ``language_code`` too, so the outage
reply is still in the user's language.
"""

from __future__ import annotations

from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18nMiddleware

from core.errors import StoreUnavailableError
from core.services import Services
from messaging.i18n import normalize, pick_language


class LanguageMiddleware(I18nMiddleware):
    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("event_from_user")
        if user is None or user.is_bot:
            return self.i18n.default_locale
        services: Services = data["services"]
        try:
            stored = await services.profiles.language(user.id)
        except StoreUnavailableError:
            stored = ""
        return normalize(stored) if stored else pick_language(user.language_code)
