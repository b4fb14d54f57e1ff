"""What an attacker can put in a webhook request gets one clear answer, never a 500."""

from __future__ import annotations

import asyncio

import pytest

from bot.webhook import BAD_UPDATE_EVENT
from tests.bot.conftest import BotEnv


async def _raw_post(env: BotEnv, headers: list[bytes], body: bytes) -> tuple[int, bytes]:
    """POST with header bytes exactly as given (aiohttp's client would re-encode them)."""
    tg = env.services.settings.telegram
    reader, writer = await asyncio.open_connection(tg.webhook_host, tg.webhook_port)
    try:
        head = [
            f"POST {tg.webhook_path} HTTP/1.1".encode(),
            f"Host: {tg.webhook_host}:{tg.webhook_port}".encode(),
            b"Content-Type: application/json",
            f"Content-Length: {len(body)}".encode(),
            b"Connection: close",
            *headers,
        ]
        writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        await writer.drain()
        response = await reader.read()
    finally:
        writer.close()
    status_line, _, rest = response.partition(b"\r\n")
    return int(status_line.split()[1]), rest


def _secret(env: BotEnv) -> bytes:
    return env.services.settings.telegram.webhook_secret.get_secret_value().encode()


@pytest.mark.parametrize(
    "value", ["pässwörd".encode(), "秘密".encode(), b"\xff\xfe", "arbcast-dev-secretß".encode()]
)
async def test_a_non_ascii_secret_header_is_refused_with_401(botenv: BotEnv, value: bytes) -> None:
    status, _ = await _raw_post(botenv, [b"X-Telegram-Bot-Api-Secret-Token: " + value], b"{}")
    assert status == 401


async def test_the_right_secret_still_passes(botenv: BotEnv) -> None:
    status, _ = await _raw_post(
        botenv, [b"X-Telegram-Bot-Api-Secret-Token: " + _secret(botenv)], b'{"update_id": 1}'
    )
    assert status == 200


@pytest.mark.parametrize("shape", ["list", "object"])
async def test_deeply_nested_json_is_acknowledged_and_recorded_not_a_500(
    botenv: BotEnv, shape: str
) -> None:
    """A body nested past Python's recursion limit (RecursionError in json.loads) is answered
    200 (Telegram would only resend the same bytes) and recorded as a bad update."""
    depth = 50_000  # far past the recursion limit, well inside the 1 MiB body limit
    body = ("[" * depth + "]" * depth) if shape == "list" else ('{"a":' * depth + "1" + "}" * depth)
    status, _ = await _raw_post(
        botenv, [b"X-Telegram-Bot-Api-Secret-Token: " + _secret(botenv)], body.encode()
    )
    assert status == 200
    bad = botenv.services.events.named(BAD_UPDATE_EVENT)
    assert len(bad) == 1 and "RecursionError" in str(bad[0].attrs["error"])
