"""Lists every setting as the environment variable that sets it, with its default.

`python -m core.settings_doc` prints the body of `.env.example`; a test keeps the two in step.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic_core import to_jsonable_python
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from core.settings import Settings

UNPREFIXED = {"redis_url": "REDIS_URL", "telegram_bot_token": "TELEGRAM_BOT_TOKEN"}


def _value(v: Any) -> str:
    if isinstance(v, SecretStr):
        return v.get_secret_value()
    if isinstance(v, Enum):
        return str(v.value)
    if v is None:
        return ""
    if isinstance(v, str | int | float | bool | Path):
        return str(v)
    plain = to_jsonable_python(v)
    if isinstance(v, frozenset | set):
        plain = sorted(plain)
    return json.dumps(plain, separators=(",", ":"))


class _Defaults(Settings):
    """Settings from their defaults alone: what the environment or a .env holds (say
    ARBCAST_REDIS_BINARY in `make test`) must not leak into the documented defaults."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def variables(
    model: BaseModel | None = None, prefix: str = "ARBCAST_"
) -> Iterator[tuple[str, str, str]]:
    """(variable, default, description) for every leaf setting."""
    model = model or _Defaults()
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        doc = field.description or ""
        extra = field.json_schema_extra
        if isinstance(extra, dict) and "doc_default" in extra:
            # A default made at each start (a random secret): documented as what to write.
            yield f"{prefix}{name.upper()}", str(extra["doc_default"]), doc
        elif prefix == "ARBCAST_" and name in UNPREFIXED:
            yield UNPREFIXED[name], _value(value), doc
        elif isinstance(value, BaseModel):
            yield from variables(value, f"{prefix}{name.upper()}__")
        elif isinstance(value, dict):
            for key, sub in value.items():
                sub_prefix = f"{prefix}{name.upper()}__{_value(key).upper()}__"
                if isinstance(sub, BaseModel):
                    yield from variables(sub, sub_prefix)
        else:
            yield f"{prefix}{name.upper()}", _value(value), doc


def render() -> str:
    lines = []
    for var, default, doc in variables():
        if doc:
            lines.append(f"# {doc}")
        lines.append(f"# {var}={default}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
