"""Bot API parameters from a query string, a JSON body or a form, coerced as Telegram does."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from emulator.errors import CHAT_ID_EMPTY, CHAT_NOT_FOUND, bad_request

_TRUE = {"true", "1", "yes", "on"}


class Params:
    """Read-only access to one request's parameters; form values arrive as strings."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = dict(data)

    def has(self, name: str) -> bool:
        return self.data.get(name) not in (None, "")

    def text(self, name: str, missing: str | None = None) -> str | None:
        value = self.data.get(name)
        if value is None or value == "":
            if missing is not None:
                raise bad_request(missing)
            return None if value is None else ""
        return value if isinstance(value, str) else str(value)

    def integer(self, name: str, missing: str | None = None) -> int | None:
        value = self.data.get(name)
        if value is None or value == "":
            if missing is not None:
                raise bad_request(missing)
            return None
        if isinstance(value, bool):
            raise bad_request(f"Bad Request: invalid {name} specified")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"Bad Request: invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        value = self.data.get(name)
        if isinstance(value, str):
            return value.strip().lower() in _TRUE
        return bool(value)

    def json(self, name: str, invalid: str) -> Any:
        """A JSON-serialized field: parsed if it came as a string, as-is otherwise."""
        value = self.data.get(name)
        if isinstance(value, str):
            if value == "":
                return None
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(invalid) from None
        return value

    def chat_id(self) -> int:
        """The numeric chat_id; @usernames name no chat the emulator knows."""
        value = self.data.get("chat_id")
        if value is None or value == "":
            raise bad_request(CHAT_ID_EMPTY)
        if isinstance(value, bool):
            raise bad_request(CHAT_NOT_FOUND)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(CHAT_NOT_FOUND) from None
