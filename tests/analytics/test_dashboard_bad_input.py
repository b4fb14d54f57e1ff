"""Bytes no browser of ours sends (not UTF-8, not ASCII) in the dashboard's cookie or token are
a wrong credential, answered 401 like any request without the token: never a 500."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from analytics.dashboard import COOKIE_NAME, add_dashboard
from analytics.storage import Storage

TOKEN = "s3cret-admin-token"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[TestServer]:
    app = web.Application()
    add_dashboard(app, Storage.local(tmp_path, fsync=False), admin_token=TOKEN)
    srv = TestServer(app)
    await srv.start_server()
    yield srv
    await srv.close()


async def _status(server: TestServer, target: bytes, header: bytes = b"") -> int:
    """The status of one request written byte for byte (an HTTP client would refuse to send
    these headers)."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(
        b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n" + header + b"Connection: close\r\n\r\n"
    )
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return int(status_line.split()[1])


@pytest.mark.parametrize("value", ["é".encode(), "é".encode("latin-1"), b"\xff\xfe", b"\x80"])
@pytest.mark.parametrize("path", [b"/admin", b"/admin/api/reports"])
async def test_a_non_ascii_cookie_is_answered_as_unauthenticated(
    server: TestServer, value: bytes, path: bytes
) -> None:
    cookie = b"Cookie: " + COOKIE_NAME.encode() + b"=" + value + b"\r\n"
    assert await _status(server, path, cookie) == 401


@pytest.mark.parametrize("value", ["é".encode(), b"\xff\xfe"])
async def test_a_non_ascii_bearer_token_or_query_token_is_refused_without_a_500(
    server: TestServer, value: bytes
) -> None:
    assert await _status(server, b"/admin", b"Authorization: Bearer " + value + b"\r\n") == 401
    assert await _status(server, b"/admin?token=%FF%FE") == 401
    # Raw non-ASCII bytes in the request line: aiohttp's parser refuses the URL itself.
    assert await _status(server, b"/admin?token=" + value) == 400
